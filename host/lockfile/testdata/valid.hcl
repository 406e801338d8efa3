# This file is maintained by "hub init". Commit it.
connector "shop" {
  source      = "hub/shopify"
  version     = "1.4.2"
  constraints = "~> 1.4"
  hashes = {
    darwin_arm64 = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
    linux_amd64  = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
  }
}

connector "shop_v2" {
  source  = "hub/shopify"
  version = "2.0.0-beta.1"
  hashes = {
    linux_amd64 = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
  }
}
