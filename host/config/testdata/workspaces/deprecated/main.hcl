hub {
  required_connectors {
    shop    = { source = "hub/shopify", version = "~> 1.4" }
    carrier = { source = "hub/shiprocket", version = "~> 1.0" }
  }
}

connection "shop" {
  connector = "shop"
  auth "api_key" { key = secret("shop") }
  properties = { shop = "acme", api_version = "2024-01" }
}

connection "carrier" {
  connector = "carrier"
  auth "bearer" { token = secret("carrier") }
}

workflow "w" {
  trigger "shop" "order_paid" {}
  action "close" {
    connection = "shop"
    action     = "close_order"
    input      = { id = event.id }
  }
}
