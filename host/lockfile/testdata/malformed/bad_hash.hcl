connector "shop" {
  source  = "hub/shopify"
  version = "1.4.2"
  hashes = {
    linux_amd64 = "md5:0123"
    "Linux"     = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
  }
}
