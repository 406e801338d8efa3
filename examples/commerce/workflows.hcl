# The five commerce workflows. A shop order's name ("#1004") is the
# warehouse order's ref and the carrier's order_id, so each system finds
# the others' orders by it.
#
# The polls run every 10 seconds so the sandbox shows results quickly; a
# live warehouse and carrier are better polled every minute or five.

# 1. A paid order placed in the shop becomes an order in the warehouse.
workflow "shop_order_to_warehouse" {
  description = "A new paid shop order creates the warehouse order."

  trigger "shop" "order_created" {
    mode   = "webhook"
    config = { client_secret = secret("shopify_client_secret") } # Shopify signs with the app's client secret
    when   = event.financial_status == "paid"
  }

  # Shopify may deliver an order twice under two delivery ids: look first.
  action "find" {
    connection = "warehouse"
    action     = "search"
    input = {
      path   = "/api/orders"
      query  = { ref = event.name }
      result = "data.orders"
    }
  }

  action "create" {
    connection = "warehouse"
    action     = "create"
    when       = length(action.find.output.result) == 0
    input = {
      path = "/api/orders"
      body = {
        ref   = event.name
        lines = [for l in event.line_items : { sku = l.sku, qty = l.quantity }]
        shipping_address = {
          name     = event.shipping_address.name
          line1    = event.shipping_address.address1
          line2    = try(event.shipping_address.address2, "")
          city     = event.shipping_address.city
          postcode = event.shipping_address.zip
          country  = event.shipping_address.country_code
        }
      }
      expect = [201]
      result = "data.order"
    }
    retry {
      attempts = 8
      backoff  = "exponential"
      initial  = "1s"
      max      = "10m"
    }
    on_error = "dead_letter"
  }
}

# 2. A shipment packed in the warehouse marks the shop order "Ready to ship".
workflow "packed_to_shop" {
  description = "A packed warehouse shipment tags the shop order Ready to ship."

  trigger "warehouse" "poll" {
    mode     = "poll"
    interval = "10s"
    config = {
      path          = "/api/shipments"
      query         = { limit = 50 }
      items_path    = "data.items"
      id_field      = "shipment_id"
      cursor_field  = "seq"
      cursor_param  = "since"
      has_more_path = "data.has_more"
      time_field    = "changed_at"
    }
    when = event.status == "packed"
  }

  action "find" {
    connection = "shop"
    action     = "search_orders"
    input      = { name = event.order_ref, limit = 1 }
  }

  action "ready" {
    connection = "shop"
    action     = "update_order"
    when       = action.find.output.count > 0
    input      = { id = action.find.output.orders[0].id, tags = "Ready to ship" }
  }
}

# 3. The carrier delivers an order: the warehouse order becomes "delivered".
workflow "carrier_delivered_to_warehouse" {
  description = "A parcel the carrier delivered marks the warehouse order delivered."

  trigger "carrier" "tracking_status" {
    mode     = "poll"
    interval = "10s"
    config   = { awbs = var.carrier_awbs }
    when     = event.status == "delivered"
  }

  action "find" {
    connection = "warehouse"
    action     = "search"
    input = {
      path   = "/api/orders"
      query  = { ref = event.channel_order_id }
      result = "data.orders"
    }
  }

  action "delivered" {
    connection = "warehouse"
    action     = "update"
    when       = length(action.find.output.result) > 0
    input = {
      path   = "/api/orders/{id}"
      params = { id = action.find.output.result[0].id }
      body   = { status = "delivered" }
      result = "data.order"
    }
  }
}

# 4. A shipment delivered in the warehouse marks the shop order "Delivered".
workflow "warehouse_delivered_to_shop" {
  description = "A delivered warehouse shipment tags the shop order Delivered."

  trigger "warehouse" "poll" {
    mode     = "poll"
    interval = "10s"
    config = {
      path          = "/api/shipments"
      query         = { limit = 50 }
      items_path    = "data.items"
      id_field      = "shipment_id"
      cursor_field  = "seq"
      cursor_param  = "since"
      has_more_path = "data.has_more"
      time_field    = "changed_at"
    }
    when = event.status == "delivered"
  }

  action "find" {
    connection = "shop"
    action     = "search_orders"
    input      = { name = event.order_ref, limit = 1 }
  }

  action "delivered" {
    connection = "shop"
    action     = "update_order"
    when       = action.find.output.count > 0
    input      = { id = action.find.output.orders[0].id, tags = "Delivered" }
  }
}

# 5. A SKU's stock changes in the warehouse: the shop's available count follows.
workflow "stock_to_shop" {
  description = "Warehouse stock changes set the shop's available inventory."

  trigger "warehouse" "poll" {
    mode     = "poll"
    interval = "10s"
    config = {
      path          = "/api/stock"
      query         = { limit = 50 }
      items_path    = "data.items"
      id_field      = "sku"
      cursor_field  = "seq"
      cursor_param  = "since"
      has_more_path = "data.has_more"
      time_field    = "changed_at"
    }
  }

  # The shop knows inventory by item, not by SKU: find the item first.
  action "find" {
    connection = "shop"
    action     = "find_inventory_item"
    input      = { sku = event.sku }
  }

  action "set_inventory" {
    connection = "shop"
    action     = "set_inventory_level"
    when       = action.find.output.found
    input = {
      inventory_item_id = action.find.output.inventory_item_id
      available         = event.qty
    }
    retry {
      attempts = 5
      backoff  = "exponential"
      initial  = "1s"
      max      = "1m"
    }
  }
}
