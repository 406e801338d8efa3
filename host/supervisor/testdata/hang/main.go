// Command hang is a connector that never answers the plugin handshake. It
// exits on its own if its parent goes away, so a crashed test leaves
// nothing behind.
package main

import (
	"os"
	"time"
)

func main() {
	parent := os.Getppid()
	for os.Getppid() == parent {
		time.Sleep(100 * time.Millisecond)
	}
}
