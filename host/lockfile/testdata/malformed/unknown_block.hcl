provider "shop" {
  source = "hub/shopify"
}
