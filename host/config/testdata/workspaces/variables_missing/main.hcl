variable "region" {
  type        = string
  description = "Where the warehouse is."
}

variable "limits" {
  type = object({ max = number })
}

variable "from_file" {
  type = number
}
