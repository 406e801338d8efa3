hub {
  required_connectors {
    shop      = { source = "hub/shopify", version = "~> 1.4" }
    warehouse = { source = "hub/http", version = "~> 1.0" }
  }
}

variable "headers" {
  type      = map(string)
  default   = { TOKEN = "hunter2-map" }
  sensitive = true
}

variable "email" {
  default   = "hunter2-not-an-email"
  sensitive = true
}

variable "pin" {
  default   = "hunter2-pin"
  sensitive = true
}

connection "shop" {
  connector = "shop"
  env       = var.headers
  auth "api_key" {
    key = secret("shop-key")
  }
  properties = { shop = "acme" }
}

connection "shop_secret_env" {
  connector = "shop"
  env       = tomap({ A = secret("x") })
  auth "api_key" {
    key = secret("shop-key")
  }
  properties = { shop = tostring(tonumber(var.pin)) }
}

connection "shop_parse" {
  connector = "shop"
  auth "api_key" {
    key = secret("shop-key")
  }
  properties = { shop = format("%d", parseint(var.pin, 10)) }
}

connection "warehouse" {
  connector = "warehouse"
  auth "session" {
    credentials = { for k, v in { email = var.email, password = secret("p") } : k => v }
  }
  properties = { base_url = "https://wms.example.com" }
}

connection "shop_time" {
  connector = "shop"
  auth "api_key" {
    key = secret("shop-key")
  }
  properties = { shop = timeadd(var.pin, "1h") }
}
