package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// View runs fn in one read-only transaction: fn sees one consistent
// snapshot of the store, taken when View starts.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(txn *badger.Txn) error {
		return fn(&Tx{txn: txn})
	})
}

// PutTTL sets the value at (tenant, kind, id) when the transaction
// commits; the value disappears ttl after the commit. Badger keeps
// expiry times in whole seconds, so the value may vanish up to one second
// earlier than ttl.
func (tx *Tx) PutTTL(tenant, kind, id string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("put %s/%s/%s: ttl %v is not positive", tenant, kind, id, ttl)
	}
	k, err := Key(tenant, kind, id)
	if err != nil {
		return err
	}
	if err := tx.txn.SetEntry(badger.NewEntry(k, value).WithTTL(ttl)); err != nil {
		return fmt.Errorf("put %s: %w", k, err)
	}
	return nil
}

// Scan calls fn with the ids and values of (tenant, kind) in ascending
// byte order of id, starting with the first id greater than after ("" for
// the first id of all), until limit values were passed (limit <= 0: no
// limit) or fn returns an error, which Scan returns. The value passed to
// fn is a copy that fn may keep.
func (tx *Tx) Scan(tenant, kind, after string, limit int, fn func(id string, value []byte) error) error {
	prefix, err := kindPrefix(tenant, kind)
	if err != nil {
		return err
	}
	it := tx.txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 64, Prefix: prefix})
	defer it.Close()
	start := append(append([]byte(nil), prefix...), after...)
	n := 0
	for it.Seek(start); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		if id == "" || (after != "" && id <= after) {
			continue
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read %s: %w", item.Key(), err)
		}
		if err := fn(id, v); err != nil {
			return err
		}
		n++
		if limit > 0 && n >= limit {
			return nil
		}
	}
	return nil
}

// LastID returns the greatest id (in byte order) stored under (tenant,
// kind); ok is false when there is none. In an Update it sees the
// transaction's own writes too.
func (tx *Tx) LastID(tenant, kind string) (id string, ok bool, err error) {
	prefix, err := kindPrefix(tenant, kind)
	if err != nil {
		return "", false, err
	}
	it := tx.txn.NewIterator(badger.IteratorOptions{Reverse: true, Prefix: prefix})
	defer it.Close()
	// In reverse, Seek lands on the greatest key <= its argument: the
	// prefix with its closing "/" raised by one sorts after every key
	// under the prefix and before the next kind's keys.
	seek := append([]byte(nil), prefix...)
	seek[len(seek)-1]++
	for it.Seek(seek); it.Valid(); it.Next() {
		if id := string(it.Item().Key()[len(prefix):]); id != "" {
			return id, true, nil
		}
	}
	return "", false, nil
}

// IsTooBig reports whether err says a transaction held more writes than
// one commit may carry; the caller can retry with fewer writes per
// transaction.
func IsTooBig(err error) bool {
	return errors.Is(err, badger.ErrTxnTooBig)
}

func kindPrefix(tenant, kind string) ([]byte, error) {
	k, err := Key(tenant, kind, "x")
	if err != nil {
		return nil, err
	}
	return k[:len(k)-1], nil
}

// ScanReverse is Scan in descending byte order of id, starting with the
// first id less than before ("" for the greatest id of all): newest first
// when ids grow with time.
func (tx *Tx) ScanReverse(tenant, kind, before string, limit int, fn func(id string, value []byte) error) error {
	prefix, err := kindPrefix(tenant, kind)
	if err != nil {
		return err
	}
	it := tx.txn.NewIterator(badger.IteratorOptions{Reverse: true, PrefetchValues: true, PrefetchSize: 64, Prefix: prefix})
	defer it.Close()
	// In reverse, Seek lands on the greatest key <= its argument.
	var seek []byte
	if before != "" {
		seek = append(append([]byte(nil), prefix...), before...)
	} else {
		seek = append([]byte(nil), prefix...)
		seek[len(seek)-1]++
	}
	n := 0
	for it.Seek(seek); it.Valid(); it.Next() {
		item := it.Item()
		id := string(item.Key()[len(prefix):])
		if id == "" || (before != "" && id >= before) {
			continue
		}
		v, err := item.ValueCopy(nil)
		if err != nil {
			return fmt.Errorf("read %s: %w", item.Key(), err)
		}
		if err := fn(id, v); err != nil {
			return err
		}
		n++
		if limit > 0 && n >= limit {
			return nil
		}
	}
	return nil
}
