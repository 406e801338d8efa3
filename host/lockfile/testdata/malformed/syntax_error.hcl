connector "shop" {
  source = "hub/shopify
}
