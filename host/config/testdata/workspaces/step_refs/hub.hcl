hub {
  required_connectors {
    shop      = { source = "hub/shopify", version = "~> 1.4" }
    warehouse = { source = "hub/http", version = "~> 1.0" }
  }
}

connection "shop" {
  connector = "shop"
  auth "api_key" { key = secret("shop") }
  properties = { shop = "acme" }
}

connection "warehouse" {
  connector = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
}
