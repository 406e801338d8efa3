connector "shop" {
  source  = var.source
  version = "1.4.2"
}
