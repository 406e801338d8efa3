connector "shop" {
  source  = "hub/shopify"
  version = "1.4.2"
}

connector "shop" {
  source  = "hub/shopify"
  version = "2.0.0"
}
