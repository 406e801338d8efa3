hub {
  required_connectors {
    shop = { source = "hub/shopify", version = "~> 1.4", registry = "x" }
    bad  = { source = "Shopify", version = "~~ 1" }
  }
}

resource "x" "y" {}

connection "shop" {
  connector = "shop"
  colour    = "red"
  auth "oauth2" {
    client_id = "abc"
    audience  = "x"
  }
  auth "bearer" { token = "t" }
  properties = { shop = "acme" }
}

environment "sandbox" {
  bogus {}
}

workflow "w" {
  trigger "shop" "order_created" {
    mode     = "webhook"
    schedule = "daily"
  }
  action "a" {
    connection = "shop"
    action     = "update_order"
    input      = { id = 1, status = "x" }
    timeout    = "5s"
  }
}
