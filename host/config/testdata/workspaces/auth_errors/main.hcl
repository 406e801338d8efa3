hub {
  required_connectors {
    shop      = { source = "hub/shopify", version = "~> 1.4" }
    warehouse = { source = "hub/http", version = "~> 1.0" }
    missing   = { source = "hub/nowhere", version = "1.0.0" }
  }
}

connection "shop" {
  connector = "shop"
  auth "basic" {
    username = "u"
    password = "p"
  }
  properties = { shop = "acme" }
}

connection "shop_oauth" {
  connector = "shop"
  auth "oauth2" {
    client_id = "id"
    grant     = "client_credentials"
  }
  properties = { shop = "acme" }
}

connection "shop_method" {
  connector = "shop"
  auth "oauth2" {
    client_id                  = "id"
    client_secret              = "s"
    token_endpoint_auth_method = "private_key_jwt"
  }
  properties = { shop = "acme" }
}

connection "shop_public_method" {
  connector = "shop"
  auth "oauth2" {
    client_id                  = "id"
    token_endpoint_auth_method = "client_secret_post"
  }
  properties = { shop = "acme" }
}

connection "warehouse" {
  connector = "warehouse"
  auth "session" {
    credentials = { email = "not-an-email", password = var.pw, otp = "1" }
  }
  properties = { base_url = "https://wms.example.com" }
}

connection "warehouse2" {
  connector  = "warehouse"
  auth "kerberos" {}
  properties = { base_url = "https://wms.example.com" }
}

connection "nowhere" {
  connector = "missing"
}

variable "pw" {
  default   = "hunter2"
  sensitive = true
}
