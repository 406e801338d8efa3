# The five commerce workflows of a small shop: the storefront (Shopify),
# a warehouse management system reached over plain HTTP with the no-code
# http connector, and a carrier (Shiprocket).
#
# It runs against the sandbox by default, with no account anywhere:
#
#   make run
#
# does it all (see README.md). By hand:
#
#   hub sandbox                                   # in a terminal of its own; prints the seeded credentials
#   printf %s shpat_hub_sandbox_token   | hub secrets set shopify_token         -dir examples/commerce
#   printf %s hub-sandbox-client-secret | hub secrets set shopify_client_secret -dir examples/commerce
#   printf %s wh_sandbox_token          | hub secrets set warehouse_token       -dir examples/commerce
#   printf %s sandbox-password          | hub secrets set shiprocket_password   -dir examples/commerce
#   hub init -dir examples/commerce
#   hub apply -dir examples/commerce -env sandbox -auto-approve
#   hub serve -dir examples/commerce
#
# Against the real applications: the same secrets with live values, and
# -env live -var shop=... -var warehouse_url=... -var shiprocket_email=...

hub {
  required_connectors {
    shopify    = { source = "hub/shopify", version = "~> 1.0" }
    http       = { source = "hub/http", version = "~> 1.0" }
    shiprocket = { source = "hub/shiprocket", version = "~> 1.0" }
  }
}

variable "sandbox_url" {
  type        = string
  default     = "http://127.0.0.1:8481"
  description = "Where hub sandbox serves the simulators (its -addr); used by the sandbox environment."
}

variable "carrier_awbs" {
  type        = list(string)
  default     = ["788800000001"]
  description = "The AWBs whose tracking the carrier workflow watches (the default is the sandbox's seeded shipment)."
}

variable "shop" {
  type        = string
  default     = "acme.myshopify.com"
  description = "The live shop's myshopify domain."
}

variable "warehouse_url" {
  type        = string
  default     = "https://wms.example.com"
  description = "The live warehouse API's base URL."
}

variable "shiprocket_email" {
  type        = string
  default     = "api@example.com"
  description = "The live Shiprocket API user's email (its password is the secret shiprocket_password)."
}

# The sandbox: every application is one of hub sandbox's simulators, with
# its seeded test account.
environment "sandbox" {
  values = {
    shop             = "hub-sandbox.myshopify.com"
    shopify_url      = "${var.sandbox_url}/shopify"
    warehouse_url    = "${var.sandbox_url}/warehouse"
    shiprocket_url   = "${var.sandbox_url}/shiprocket"
    shiprocket_email = "api@sandbox.shiprocket.test"
  }
}

environment "live" {
  values = {
    shop             = var.shop
    shopify_url      = "https://${var.shop}"
    warehouse_url    = var.warehouse_url
    shiprocket_url   = "https://apiv2.shiprocket.in"
    shiprocket_email = var.shiprocket_email
  }
}

# The shop: a custom app's Admin API access token. Its client secret,
# which Shopify signs webhooks with, goes to the order trigger.
connection "shop" {
  connector = "shopify"
  auth "api_key" {
    key = secret("shopify_token")
  }
  properties = {
    shop     = values.shop
    base_url = values.shopify_url
  }
}

# The warehouse: a REST API with a bearer token, described entirely in
# the workflows' HCL (docs/no-code.md).
connection "warehouse" {
  connector = "http"
  auth "bearer" {
    token = secret("warehouse_token")
  }
  properties = {
    base_url   = values.warehouse_url
    headers    = { "User-Agent" = "hub-commerce-example" }
    check_path = "/api/orders?ref=hub-connection-check"
  }
}

# The carrier: a Shiprocket API user, logged in with email and password.
connection "carrier" {
  connector = "shiprocket"
  auth "session" {
    credentials = {
      email    = values.shiprocket_email
      password = secret("shiprocket_password")
    }
  }
  properties = { base_url = values.shiprocket_url }
}
