from_file = "lots"
unknown   = 1
