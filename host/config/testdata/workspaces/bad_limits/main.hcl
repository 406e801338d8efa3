connection "negative" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits {
    concurrency = -1
    rate        = -5
    burst       = 0
  }
}

connection "not_numbers" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits {
    concurrency = "many"
    rate        = [20]
    burst       = true
  }
}

connection "fractions" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits {
    concurrency = 2.5
    rate        = 0
    burst       = 1.5
  }
}

connection "too_big" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits {
    concurrency = 100000
    rate        = 2e9
    burst       = 1e12
  }
}

connection "unknown_attribute" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits {
    concurrency = 8
    per_minute  = 60
  }
}

connection "duplicate" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits { concurrency = 8 }
  limits { concurrency = 4 }
}

connection "burst_alone" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits { burst = 40 }
}

connection "secret_rate" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits {
    rate  = var.wms_rate
    burst = secret("burst")
  }
}

connection "labelled" {
  connector  = "warehouse"
  auth "bearer" { token = secret("wms") }
  properties = { base_url = "https://wms.example.com" }
  limits "eu" { concurrency = 8 }
}
