connection "shop2" {
  connector = "shop"
}

workflow "w" {
  trigger "warehouse" "stock_changed" {}
  action "create" {
    connection = "warehouse"
    action     = "create_order"
    input = {
      lines   = [{ sku = "a" }, for_each = 1]
      address = {}
    }
  }
  action "update" {
    connection = "shop"
    action     = "update_order"
  }
  action "each" {
    connection = "warehouse"
    action     = "create_order"
    input = {
      ref   = "r"
      lines = [for l in event.lines : { qty = l.qty, weight = 1 }]
    }
  }
}

workflow "empty" {
}
