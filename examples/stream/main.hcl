# hub behind a firewall: the warehouse's events arrive over a WebSocket
# stream that hub opens outward, so hub needs no inbound port (hub serve
# listens on loopback only, for its own admin API). Try it with the
# sandbox (make run starts one on 127.0.0.1:8481):
#
#   bin/hub init -dir examples/stream
#   echo wh_sandbox_token | bin/hub secrets set -dir examples/stream warehouse_token
#   bin/hub apply -dir examples/stream -auto-approve
#   bin/hub serve -dir examples/stream -addr 127.0.0.1:8490
#
# then change stock in the sandbox warehouse:
#
#   curl -X POST http://127.0.0.1:8481/_sandbox/warehouse/stock -d '{"sku": "IPOD2008GREEN", "qty": 17}'

hub {
  required_connectors {
    http    = { source = "hub/http", version = "~> 1.0" }
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

variable "sandbox_url" {
  type        = string
  default     = "http://127.0.0.1:8481"
  description = "Where hub sandbox serves the simulators."
}

connection "warehouse" {
  connector = "http"
  auth "bearer" {
    token = secret("warehouse_token")
  }
  properties = { base_url = "${var.sandbox_url}/warehouse" }
}

connection "log" {
  connector = "example"
}

workflow "warehouse_events" {
  description = "Every warehouse event, received over the stream, exactly once."

  trigger "warehouse" "stream" {
    mode = "stream"
    config = {
      path          = "/api/stream"
      resume_param  = "since"
      type_path     = "type"
      event_type    = "event"
      events_path   = "event"
      id_path       = "id"
      kind_path     = "kind"
      time_path     = "at"
      position_path = "seq"
      error_path    = "code"
      expired_code  = "position_expired"
    }
  }

  action "record" {
    connection = "log"
    action     = "echo"
    input      = { message = "${event.kind}: ${jsonencode(event.data)}" }
  }
}
