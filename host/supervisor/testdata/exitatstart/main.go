// Command exitatstart is a connector that fails before the plugin
// handshake, the way a binary with a missing setting or a crash in init does.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "greeter: cannot start: required setting GREETER_TOKEN is missing")
	os.Exit(3)
}
