package secrets

import (
	"context"
	"errors"
	"os"
	"time"
)

// Watch reports changes to the store's file, whoever made them (hub
// secrets set in another process, a rotation, the host saving an OAuth
// token), so that a running host can re-read the secrets it resolved
// ahead of time. It looks at the file's identity, size and modification
// time every interval, the same test Get uses, and never reads or opens
// a value.
//
// The channel holds at most one pending signal: changes made while the
// receiver is busy collapse into one, which is all a receiver that
// re-reads everything needs. The signal says only that something changed;
// the receiver reads what it needs with Get. The channel is closed when
// ctx ends. A change made after Watch returns is always reported.
func (s *Store) Watch(ctx context.Context, interval time.Duration) <-chan struct{} {
	if interval <= 0 {
		interval = time.Second
	}
	out := make(chan struct{}, 1)
	last, lastErr := s.stat()
	go func() {
		defer close(out)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			cur, err := s.stat()
			if err != nil {
				// A file that cannot be looked at (permissions changed
				// under the host) is a change too: the receiver's Get
				// reports the error. Report it once, not every tick.
				if lastErr == nil {
					lastErr = err
					notify(out)
				}
				continue
			}
			if lastErr != nil || !cur.same(last) {
				last, lastErr = cur, nil
				notify(out)
			}
		}
	}()
	return out
}

// stat is the stamp of the store's file as it is now.
func (s *Store) stat() (stamp, error) {
	fi, err := os.Stat(s.path)
	switch {
	case err == nil:
		return stamp{fi: fi}, nil
	case errors.Is(err, os.ErrNotExist):
		return stamp{}, nil
	}
	return stamp{}, err
}

// notify leaves a signal in out unless one is already waiting.
func notify(out chan<- struct{}) {
	select {
	case out <- struct{}{}:
	default:
	}
}
