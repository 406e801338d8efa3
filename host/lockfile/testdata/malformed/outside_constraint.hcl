connector "shop" {
  source      = "hub/shopify"
  version     = "2.0.0"
  constraints = "~> 1.4"
}
