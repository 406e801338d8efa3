# The session connection docs/no-code.md shows, validated like the
# warehouse workspace beside it.

hub {
  required_connectors {
    http = { source = "hub/http", version = "~> 1.0" }
  }
}

variable "warehouse_url" {
  type    = string
  default = "https://wms.example.com"
}

connection "wms" {
  connector = "http"
  auth "session" {
    credentials = { username = "ops", password = secret("wms_password") }
  }
  properties = {
    base_url = var.warehouse_url
    login = {
      url             = "/api/auth/login" # or an absolute URL
      token_path      = "data.token"      # where the token is in the answer
      expires_in_path = "data.expires_in" # optional: the token's lifetime
      # method = "POST", format = "json" (or "form"), body = { extra fields },
      # username_field = "username", password_field = "password",
      # header = "Authorization", prefix = "Bearer "
    }
  }
}

workflow "orders" {
  trigger "wms" "poll" {
    config = { path = "/api/shipments", items_path = "data.items", id_field = "shipment_id", cursor_field = "seq", cursor_param = "since" }
  }
  action "get" {
    connection = "wms"
    action     = "get"
    input      = { path = "/api/orders/{id}", params = { id = event.order_id }, result = "data.order" }
  }
}
