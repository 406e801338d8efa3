connector "shop" {
  version = 1.4
}
