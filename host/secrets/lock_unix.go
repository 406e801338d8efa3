//go:build unix

package secrets

import (
	"fmt"
	"os"
	"syscall"
)

// lockFileExclusive blocks until f is exclusively locked. flock locks
// belong to the open file, so two opens in one process exclude each other
// as two processes do.
func lockFileExclusive(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("lock %s: %w", f.Name(), err)
		}
		return nil
	}
}

func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
