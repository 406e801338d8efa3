hub {
  required_connectors {
    shop      = { source = "hub/shopify", version = "~> 1.4" }
    warehouse = { source = "hub/http", version = "~> 1.0" }
  }
}


variable "wms_rate" {
  type      = number
  default   = 5
  sensitive = true
}
