# 1. A customer places an order on Shopify: create it in the warehouse.
workflow "shop_order_to_warehouse" {
  trigger "shop" "order_created" {
    mode = "webhook"
    when = event.financial_status == "paid"
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
      ref      = tostring(event.id)
      email    = lower(event.email)
      placed   = formatdate("YYYY-MM-DD'T'hh:mm:ssZ", event.created_at)
      lines    = [for l in event.line_items : { sku = l.sku, qty = l.quantity }]
      shipping = try(event.shipping_address, null)
    }
    retry {
      attempts = 10
      backoff  = "exponential"
      initial  = "1s"
      max      = "1h"
    }
    on_error = "dead_letter"
  }
}

# 2. A shipment is packed in the warehouse: mark the order "Ready to ship".
workflow "packed_to_shop" {
  trigger "warehouse" "shipment_updated" {
    mode     = "poll"
    interval = "5m"
    when     = event.status == "packed"
  }

  action "ready" {
    connection = "shop"
    action     = "update_order_status"
    input      = { order_id = event.order_ref, status = "Ready to ship" }
  }
}

# 3. The carrier delivers an order: mark it "Delivered" in the warehouse.
workflow "carrier_delivered_to_warehouse" {
  trigger "carrier" "shipment_event" {
    mode = "webhook"
    when = event.current_status == "DELIVERED"
  }

  action "delivered" {
    connection = "warehouse"
    action     = "update_order_status"
    input = {
      ref          = event.order_id
      status       = "Delivered"
      delivered_at = event.delivered_date
    }
  }
}

# 4. The warehouse reports a delivered shipment: mark it "Delivered" on Shopify.
workflow "warehouse_delivered_to_shop" {
  trigger "warehouse" "shipment_updated" {
    mode     = "poll"
    interval = "5m"
    when     = event.status == "delivered"
  }

  action "delivered" {
    connection = "shop"
    action     = "update_order_status"
    input      = { order_id = event.order_ref, status = "Delivered" }
    on_error   = "continue"
  }
}

# 5. Stock of a SKU changes in the warehouse: set Shopify's available count.
workflow "stock_to_shop" {
  trigger "warehouse" "inventory_changed" {
    mode     = "poll"
    interval = "2m"
  }

  action "set_inventory" {
    connection = "shop"
    action     = "set_inventory_level"
    input = {
      sku       = event.sku
      available = max(event.available - event.reserved, 0)
    }
    retry {
      attempts = 5
      backoff  = "constant"
      initial  = "30s"
    }
  }
}
