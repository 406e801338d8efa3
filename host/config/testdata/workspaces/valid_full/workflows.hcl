workflow "paid_orders_to_warehouse" {
  trigger "shop" "order_created" {
    mode   = "webhook"
    config = { status = "any" }
    when   = event.financial_status == "paid"
  }

  action "find" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = tostring(event.id) }
  }

  action "create" {
    connection = "warehouse"
    action     = "create_order"
    when       = length(action.find.output.orders) == 0
    input = {
      ref     = "${event.id}"
      lines   = [for l in event.line_items : { sku = l.sku, qty = l.quantity }]
      address = { city = event.shipping_address.city }
    }
    retry {
      attempts = 10
      backoff  = "exponential"
      initial  = "1s"
      max      = "1h"
    }
    on_error = "dead_letter"
  }

  action "tag" {
    connection = "shop"
    action     = "update_order"
    input = {
      id     = event.id
      status = "sent_to_warehouse"
      note   = "warehouse ref ${action.create.output.id} at ${formatdate("YYYY-MM-DD", event.created_at)}"
      tags   = concat(var.tags, ["wms"])
    }
  }
}
