# The smallest workspace: the example connector's tick trigger feeds its
# echo action. Try it with:
#
#   make run                 # builds and installs the connectors, then:
#   bin/hub init -dir examples/hello
#   bin/hub validate -dir examples/hello

hub {
  required_connectors {
    example = { source = "hub/example", version = "~> 1.0" }
  }
}

variable "greeting" {
  type        = string
  default     = "hello"
  description = "What the demo connection greets with."
}

connection "demo" {
  connector  = "example"
  properties = { greeting = var.greeting }
}

workflow "ticks_to_echo" {
  trigger "demo" "tick" {
    mode     = "poll"
    interval = "1m"
    config   = { count = 5 }
    when     = event.seq % 2 == 1
  }

  action "echo" {
    connection = "demo"
    action     = "echo"
    input = {
      message   = "tick ${event.seq}: ${event.message}"
      uppercase = true
    }
    retry {
      attempts = 5
      backoff  = "exponential"
      initial  = "1s"
      max      = "1m"
    }
    on_error = "dead_letter"
  }

  action "total" {
    connection = "demo"
    action     = "sum"
    input      = { numbers = [event.seq, strlen(action.echo.output.message)] }
  }
}
