// Package atomicfile replaces files so that a crash leaves either the old
// content or the new, never a torn file: the new content is written to a
// temporary file in the same directory, synced, renamed over the target,
// and the directory is synced so the rename itself survives a crash. It is
// used for everything hub writes that a person or a later run relies on:
// installed connectors, lock files, formatted workspaces.
package atomicfile

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces path with what write produces, with the given mode. A
// symlink at path is followed: its target is replaced and the link stays.
func Write(path string, mode fs.FileMode, write func(io.Writer) error) error {
	target := path
	if t, err := filepath.EvalSymlinks(path); err == nil {
		target = t
	}
	if err := writeTemp(target, mode, write); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(target))
}

// WriteBytes replaces path with data.
func WriteBytes(path string, data []byte, mode fs.FileMode) error {
	return Write(path, mode, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	})
}

func writeTemp(target string, mode fs.FileMode, write func(io.Writer) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(mode); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}

// SyncDir makes renames in dir durable. Windows has no directory sync; its
// renames are durable once MoveFileEx returns.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
