package oauth

import (
	"context"
	"sync"

	"golang.org/x/oauth2"
)

// TokenStore persists one token per connection. Implementations must be safe
// for concurrent use and should encrypt at rest; the Manager serialises
// writes for a connection but may read concurrently.
type TokenStore interface {
	// Load returns the connection's token, or nil and no error when there
	// is none.
	Load(ctx context.Context, connection string) (*oauth2.Token, error)
	// Save replaces the connection's token. It must be durable when it
	// returns: the Manager relies on it before handing a rotated token out.
	Save(ctx context.Context, connection string, t *oauth2.Token) error
}

// MemoryStore is a TokenStore that keeps tokens in memory, for tests and
// for hosts that accept logging in again after a restart.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]oauth2.Token
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tokens: make(map[string]oauth2.Token)}
}

// Load returns a copy of the connection's token, or nil when there is none.
func (s *MemoryStore) Load(_ context.Context, connection string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[connection]
	if !ok {
		return nil, nil
	}
	return &t, nil
}

// Save stores a copy of t for the connection.
func (s *MemoryStore) Save(_ context.Context, connection string, t *oauth2.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[connection] = *t
	return nil
}
