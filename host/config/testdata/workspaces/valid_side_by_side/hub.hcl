# One source at two major versions, under two local names, while
# workflows move from 1.x to 2.x one at a time.
hub {
  required_connectors {
    carrier_v1 = { source = "hub/shiprocket", version = "~> 1.0" }
    carrier_v2 = { source = "hub/shiprocket", version = "~> 2.0" }
  }
}

variable "token" {
  type      = string
  default   = "t0ken"
  sensitive = true
}

connection "carrier_old" {
  connector = "carrier_v1"
  auth "bearer" { token = var.token }
}

connection "carrier_new" {
  connector = "carrier_v2"
  auth "bearer" { token = secret("shiprocket") }
}

workflow "track_old" {
  trigger "carrier_old" "delivered" {}
  action "track" {
    connection = "carrier_old"
    action     = "track"
    input      = { awb = event.awb }
  }
}

workflow "track_new" {
  trigger "carrier_new" "shipment_event" { mode = "stream" }
  action "track" {
    connection = "carrier_new"
    action     = "track_shipment"
    input      = { awb = event.awb, carrier = coalesce(event.carrier, "delhivery") }
  }
}
