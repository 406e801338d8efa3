connector "shop" {
  source  = "hub/shopify"
  version = "v1.4"
}
