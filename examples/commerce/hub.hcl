# The five commerce flows: a storefront (Shopify), a warehouse reached over
# plain HTTP (Eshopbox), and a carrier (Shiprocket / Delhivery).
hub {
  required_connectors {
    shopify    = { source = "hub/shopify", version = "~> 1.0" }
    http       = { source = "hub/http", version = "~> 1.0" }
    shiprocket = { source = "hub/shiprocket", version = "~> 1.0" }
  }
}

variable "shop" {
  type        = string
  description = "The Shopify shop's subdomain."
  default     = "acme"
}

environment "sandbox" {
  values = {
    warehouse_url = "https://sandbox.wms.example.com/api"
  }
}

environment "live" {
  values = {
    warehouse_url = "https://wms.example.com/api"
  }
}

connection "shop" {
  connector = "shopify"
  auth "oauth2" {
    client_id     = env("SHOPIFY_CLIENT_ID")
    client_secret = secret("shopify_client_secret")
    scopes        = ["read_orders", "write_orders", "write_inventory"]
  }
  properties = { shop = var.shop }
}

connection "warehouse" {
  connector = "http"
  auth "bearer" {
    token = secret("warehouse_token")
  }
  properties = { base_url = values.warehouse_url }
}

connection "carrier" {
  connector = "shiprocket"
  auth "session" {
    credentials = { email = env("SHIPROCKET_EMAIL"), password = secret("shiprocket_password") }
  }
}
