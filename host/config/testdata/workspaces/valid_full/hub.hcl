hub {
  required_connectors {
    shop      = { source = "hub/shopify", version = "~> 1.4" }
    warehouse = { source = "hub/http", version = "~> 1.0" }
  }
}

variable "shop" {
  type    = string
  default = "acme"
}

variable "wms_rate" {
  type    = number
  default = 20
}

variable "tags" {
  type    = list(string)
  default = ["hub"]
}

environment "sandbox" {
  values = { base_url = "https://sandbox.example.com" }
}

environment "live" {
  base_url = "https://wms.example.com"
}
