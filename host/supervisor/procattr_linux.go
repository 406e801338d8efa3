package supervisor

import (
	"os/exec"
	"syscall"
)

// setProcAttr asks the kernel to SIGKILL the plugin if the host dies
// without stopping it (a SIGKILL, an OOM kill). Plugins built with the SDK
// also notice the lost parent on their own within a second; this covers
// plugins that hang or were not built with it. Linux ties the signal to
// the thread that forked, not the process: a Go thread only exits when a
// goroutine locked to it ends, and if that ever fires the signal early the
// plugin is simply relaunched like any crash. go-plugin leaves SysProcAttr
// to the caller.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
