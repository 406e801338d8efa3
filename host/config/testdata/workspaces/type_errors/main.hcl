hub {
  required_connectors {
    shop      = { source = "hub/shopify", version = "~> 1.4" }
    warehouse = { source = "hub/http", version = "~> 1.0" }
  }
}

variable "count" {
  type    = number
  default = "many"
}

connection "shop" {
  connector = "shop"
  auth "oauth2" {
    client_id = "abc"
    scopes    = "read_orders"
  }
  properties = { shop = 42 }
}

connection "warehouse" {
  connector  = "warehouse"
  auth "basic" {
    username = "u"
    password = "p"
  }
  properties = { base_url = "not a url" }
  env        = { "bad-name" = "x" }
}

workflow "w" {
  trigger "shop" "order_created" {
    mode   = "webhook"
    config = { status = "closed" }
    when   = "yes"
  }
  action "create" {
    connection = "warehouse"
    action     = "create_order"
    input = {
      ref     = 12
      lines   = [{ sku = "a", qty = 1.5 }, { sku = true, qty = event.q }, "x"]
      address = { city = event.city, zip = 12345, street = "Main" }
    }
  }
  action "update" {
    connection = "shop"
    action     = "update_order"
    input = {
      id     = "abc"
      status = event.status
      tags   = [for t in event.tags : upper(t)]
      note   = { text = "x" }
    }
  }
}
