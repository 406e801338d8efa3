workflow "w" {
  trigger "shop" "order_created" {
    mode     = "webhook"
    interval = "5m"
  }
  action "a" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "x" }
    on_error   = "ignore"
    retry {
      attempts = 0
      backoff  = "linear"
      initial  = "1 second"
      max      = "-1h"
    }
  }
  action "b" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "x" }
    retry {
      attempts = 2.5
      initial  = "1m"
      max      = "10s"
    }
    retry {}
  }
}

workflow "poll" {
  trigger "shop" "order_created" {
    mode     = "poll"
    interval = "soon"
  }
  action "a" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "x" }
  }
}

workflow "modes" {
  trigger "warehouse" "shipment_packed" { mode = "webhook" }
  action "a" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "x" }
  }
}

workflow "modes2" {
  trigger "shop" "order_created" { mode = "push" }
  action "a" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "x" }
  }
}
