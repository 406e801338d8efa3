connection "shop" {
  connector = "shop"
  auth "oauth2" {
    client_id                  = env("SHOP_CLIENT_ID")
    client_secret              = secret("shopify")
    scopes                     = ["read_orders", "write_orders"]
    token_endpoint_auth_method = "client_secret_post"
  }
  properties = { shop = var.shop }
}

connection "warehouse" {
  connector = "warehouse"
  auth "session" {
    credentials = { email = "ops@example.com", password = secret("wms") }
  }
  properties = { base_url = values.base_url }
  env        = { LOG_LEVEL = "debug" }

  limits {
    concurrency = 8
    rate        = var.wms_rate
    burst       = 40
  }
}
