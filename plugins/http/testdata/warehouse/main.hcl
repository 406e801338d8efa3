# The warehouse integration docs/no-code.md builds, step by step, with the
# http connector alone. plugins/http's TestNoCodeExample_Validates loads
# and validates this file against the connector's schema, so the guide
# cannot drift from what `hub validate` accepts.

hub {
  required_connectors {
    http = { source = "hub/http", version = "~> 1.0" }
  }
}

variable "warehouse_url" {
  type        = string
  default     = "https://wms.example.com"
  description = "Where the warehouse API lives; the sandbox's address for trying it out."
}

variable "shop_url" {
  type        = string
  default     = "https://shop.example.com"
  description = "Where the shop's API lives."
}

# 1. The connection: base URL and a bearer token kept in hub's secret store
#    (hub secrets set warehouse_token).
connection "warehouse" {
  connector = "http"
  auth "bearer" {
    token = secret("warehouse_token")
  }
  properties = {
    base_url   = var.warehouse_url
    headers    = { "User-Agent" = "hub-warehouse-sync" }
    timeout    = "20s"
    check_path = "/api/orders?ref=hub-connection-check"
  }
}

# The shop whose orders go to the warehouse, reached the same way: an
# access token sent in the header the shop's API expects.
connection "shop" {
  connector = "http"
  auth "api_key" {
    key = secret("shop_token")
  }
  properties = {
    base_url       = var.shop_url
    api_key_header = "X-Shop-Access-Token"
  }
}

# 2. An action creating a warehouse order from a shop order. The shop signs
#    its order webhooks with base64 HMAC-SHA256 of the body.
workflow "shop_order_to_warehouse" {
  trigger "shop" "webhook" {
    config = {
      signature_header = "X-Shop-Hmac-Sha256"
      encoding         = "base64"
      secret           = secret("shop_webhook_secret")
      id_header        = "X-Shop-Webhook-Id"
    }
    when = event.financial_status == "paid"
  }

  # Look first: an order already in the warehouse is not created again.
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
      initial  = "2s"
      max      = "10m"
    }
    on_error = "dead_letter"
  }
}

# 3. A poll trigger on the warehouse's shipment feed: each status change
#    once, resuming after the highest seq seen.
workflow "packed_to_shop" {
  trigger "warehouse" "poll" {
    mode     = "poll"
    interval = "1m"
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

  action "ready" {
    connection = "shop"
    action     = "update"
    input = {
      path   = "/orders/{ref}/fulfillment_status"
      params = { ref = event.order_ref }
      body   = { status = "ready_to_ship" }
    }
  }
}

# 4. A webhook trigger with the warehouse's signature rule: X-Warehouse-
#    Signature is "sha256=" + hex HMAC-SHA256 of the body under the secret
#    hub generated and registered through POST /api/webhooks.
workflow "stock_to_shop" {
  trigger "warehouse" "webhook" {
    config = {
      signature_header = "X-Warehouse-Signature"
      prefix           = "sha256="
      id_header        = "X-Warehouse-Delivery"
      type_path        = "event"
      subscribe = {
        path             = "/api/webhooks"
        body             = { events = ["stock.changed"] }
        id_path          = "data.webhook.id"
        unsubscribe_path = "/api/webhooks/{id}"
      }
    }
    when = event.event == "stock.changed"
  }

  action "set_inventory" {
    connection = "shop"
    action     = "update"
    input = {
      method = "PUT"
      path   = "/inventory/{sku}"
      params = { sku = event.data.sku }
      body   = { available = event.data.qty }
    }
  }
}

workflow "stock_live" {
  trigger "warehouse" "stream" {
    mode = "stream"
    config = {
      path               = "/api/stream"
      resume_param       = "since"
      type_path          = "type"
      event_type         = "event"
      events_path        = "event"
      id_path            = "id"
      kind_path          = "kind"
      time_path          = "at"
      position_path      = "seq"
      error_path         = "code"
      expired_code       = "position_expired"
      error_message_path = "message"
    }
    when = event.kind == "stock.changed"
  }

  action "set_inventory" {
    connection = "shop"
    action     = "update"
    input = {
      method = "PUT"
      path   = "/inventory/{sku}"
      params = { sku = event.data.sku }
      body   = { available = event.data.qty }
    }
  }
}
