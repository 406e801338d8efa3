hub {
    required_connectors {
  shop = { source = "hub/shopify", version = "~> 1.4" }
        chat={source="hub/slack"}
    }
}

connection "shop" {
connector="shop"
  config = {
      shop_domain = "example.myshopify.com"
   api_version = "2024-01"
  }
}
