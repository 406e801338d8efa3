workflow "w" {
  trigger "shop" "order_created" { mode = "webhook" }
  action "first" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = action.second.output.ref }
  }
  action "second" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = action.second.output.ref }
    when       = action.missing.output.ok && action.first.status == "ok"
  }
  action "third" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "${action.first.output.ref}-${action["second"].output.ref}" }
    when       = action.first
  }
}

workflow "other" {
  trigger "shop" "order_created" {
    mode   = "webhook"
    config = { status = event.status }
    when   = action.first.output.ok
  }
  action "first" {
    connection = "warehouse"
    action     = "search_order"
    input      = { ref = "x" }
  }
}
