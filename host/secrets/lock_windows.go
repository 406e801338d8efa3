//go:build windows

package secrets

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// lockFileExclusive blocks until f is exclusively locked. LockFileEx locks
// belong to the handle, so two opens in one process exclude each other as
// two processes do.
func lockFileExclusive(f *os.File) error {
	ol := new(windows.Overlapped)
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, ol); err != nil {
		return fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return nil
}

func unlockFile(f *os.File) error {
	ol := new(windows.Overlapped)
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, ol)
}
