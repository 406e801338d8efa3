connection "carrier" {
  connector = "shiprocket"
  properties = { region = var.region }
}

workflow "w" {
  trigger "shopify" "order_created" { mode = "webhook" }
  action "a" {
    connection = "wms"
    action     = "create_order"
    input      = { ref = trigger.id }
  }
  action "b" {
    connection = "shop"
    action     = "refund_order"
    input      = { id = event.id }
  }
  action "c" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = values.region, reference = "x", extra = hub.env }
  }
}

workflow "t" {
  trigger "shop" "order_deleted" {}
  action "a" {
    connection = "shop"
    action     = "update_order"
    input      = { id = 1, status = "x" }
  }
}
