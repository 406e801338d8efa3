connector "shop" {
  source  = "hub/shopify"
  version = "1.4.2"
  verison = "1.4.3"
}
