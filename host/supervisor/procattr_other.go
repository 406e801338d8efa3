//go:build !linux

package supervisor

import "os/exec"

// setProcAttr has nothing to add off Linux: plugins built with the SDK exit
// by themselves when their parent goes away.
func setProcAttr(*exec.Cmd) {}
