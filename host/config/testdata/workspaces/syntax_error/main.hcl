connection "shop" {
  connector = "shop"
  properties = { shop = "acme"
}

workflow "x" {
