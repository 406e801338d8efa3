hub {
  required_connectors {
    shop = { source = "hub/shopify", version = "~> 1.4" }
  }
}

variable "a" { default = 1 }
variable "a" { default = 2 }

environment "sandbox" { x = 1 }
environment "sandbox" { x = 2 }
environment "live" { y = 1 }

connection "shop" {
  connector = "shop"
}

workflow "w" {
  trigger "shop" "order_created" { mode = "webhook" }
  trigger "shop" "order_created" { mode = "poll" }
  action "a" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "x", ref = "y" }
  }
  action "a" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "x" }
  }
}

workflow "w" {}

workflow "bad name" {}
