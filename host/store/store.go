package store

import (
	"errors"
	"fmt"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"
)

// DefaultTenant is the tenant of a single-tenant install.
const DefaultTenant = "default"

// Store is an open embedded store. It is safe for concurrent use.
type Store struct {
	db *badger.DB
}

// Open opens (creating if needed) the store in dir. Badger's own logs go
// to logger at warning level and above; a nil logger discards them.
func Open(dir string, logger hclog.Logger) (*Store, error) {
	return openDB(dir, logger, false)
}

// OpenReadOnly opens an existing store for reading only. It takes a shared
// lock on the directory, so several readers (e.g. concurrent hub plan runs)
// can open it at once, and it writes nothing to it.
func OpenReadOnly(dir string, logger hclog.Logger) (*Store, error) {
	return openDB(dir, logger, true)
}

func openDB(dir string, logger hclog.Logger, readOnly bool) (*Store, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	// The options measured best for durable acknowledgements on 2 cores
	// (MEASUREMENTS.md, "Durable acks with Badger"): every commit is
	// synced before it returns, small values stay in the LSM tree, and
	// memtables and caches are sized so memory stays near 100 MB.
	opts := badger.DefaultOptions(dir).
		WithSyncWrites(true).
		WithValueThreshold(64).
		WithMemTableSize(16 << 20).
		WithNumMemtables(3).
		WithNumLevelZeroTables(10).
		WithNumLevelZeroTablesStall(40).
		WithBlockCacheSize(8 << 20).
		WithIndexCacheSize(8 << 20).
		WithDetectConflicts(false).
		WithValueLogFileSize(64 << 20).
		WithLogger(badgerLogger{logger}).
		WithReadOnly(readOnly)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return &Store{db: db}, nil
}

// Close flushes and closes the store, releasing its directory lock.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Get returns the value at (tenant, kind, id); ok is false when there is
// none.
func (s *Store) Get(tenant, kind, id string) (value []byte, ok bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		value, ok, err = (&Tx{txn: txn}).Get(tenant, kind, id)
		return err
	})
	return value, ok, err
}

// Put sets the value at (tenant, kind, id).
func (s *Store) Put(tenant, kind, id string, value []byte) error {
	return s.Update(func(tx *Tx) error { return tx.Put(tenant, kind, id, value) })
}

// Delete removes the value at (tenant, kind, id); deleting a missing key
// is not an error.
func (s *Store) Delete(tenant, kind, id string) error {
	return s.Update(func(tx *Tx) error { return tx.Delete(tenant, kind, id) })
}

// Update runs fn in one read-write transaction and commits its writes
// together, durably, when fn returns nil. When fn returns an error nothing
// it wrote is kept, and Update returns that error.
func (s *Store) Update(fn func(tx *Tx) error) error {
	var fnErr error
	err := s.db.Update(func(txn *badger.Txn) error {
		fnErr = fn(&Tx{txn: txn})
		return fnErr
	})
	if err != nil && fnErr == nil {
		return fmt.Errorf("commit store update: %w", err)
	}
	return err
}

// Tx is a transaction given to an Update function. It is valid only
// until that function returns.
type Tx struct {
	txn *badger.Txn
}

// Get returns the value at (tenant, kind, id), seeing the transaction's
// own writes.
func (tx *Tx) Get(tenant, kind, id string) ([]byte, bool, error) {
	k, err := Key(tenant, kind, id)
	if err != nil {
		return nil, false, err
	}
	item, err := tx.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get %s: %w", k, err)
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", k, err)
	}
	return v, true, nil
}

// Put sets the value at (tenant, kind, id) when the transaction commits.
func (tx *Tx) Put(tenant, kind, id string, value []byte) error {
	k, err := Key(tenant, kind, id)
	if err != nil {
		return err
	}
	if err := tx.txn.Set(k, value); err != nil {
		return fmt.Errorf("put %s: %w", k, err)
	}
	return nil
}

// Delete removes the value at (tenant, kind, id) when the transaction
// commits.
func (tx *Tx) Delete(tenant, kind, id string) error {
	k, err := Key(tenant, kind, id)
	if err != nil {
		return err
	}
	if err := tx.txn.Delete(k); err != nil {
		return fmt.Errorf("delete %s: %w", k, err)
	}
	return nil
}

// Key returns the stored key of (tenant, kind, id): t/<tenant>/<kind>/<id>.
func Key(tenant, kind, id string) ([]byte, error) {
	if tenant == "" || strings.Contains(tenant, "/") {
		return nil, fmt.Errorf("invalid tenant %q: want a non-empty name without \"/\"", tenant)
	}
	if kind == "" || strings.Contains(kind, "/") {
		return nil, fmt.Errorf("invalid kind %q: want a non-empty name without \"/\"", kind)
	}
	if id == "" {
		return nil, fmt.Errorf("invalid id for %s/%s: empty", tenant, kind)
	}
	return []byte("t/" + tenant + "/" + kind + "/" + id), nil
}

// badgerLogger passes Badger's warnings and errors to hclog; its info and
// debug lines (compaction progress, file rotation) are dropped, because an
// operator can act only on the former.
type badgerLogger struct{ l hclog.Logger }

func (b badgerLogger) Errorf(f string, args ...any) {
	b.l.Error(strings.TrimSpace(fmt.Sprintf(f, args...)))
}

func (b badgerLogger) Warningf(f string, args ...any) {
	b.l.Warn(strings.TrimSpace(fmt.Sprintf(f, args...)))
}

func (badgerLogger) Infof(string, ...any)  {}
func (badgerLogger) Debugf(string, ...any) {}
