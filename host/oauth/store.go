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

// Binding names the client a token was issued to. A refresh token is bound
// to that client (RFC 6749 §6, §10.4), and a token endpoint is trusted with
// the tokens it issued only: when a connection's client_id or token_url
// changes, the Manager sends neither its access token nor its refresh token
// anywhere and asks for a new login.
type Binding struct {
	ClientID string
	TokenURL string
}

// BoundStore is a TokenStore that also keeps each token's Binding, written
// with the token in one durable write. A Manager whose store is a
// BoundStore knows which client issued a token across restarts; with a
// plain TokenStore it knows only for tokens this process obtained, and
// takes older ones as issued to the client the connection had when this
// process first registered it.
type BoundStore interface {
	TokenStore
	// LoadBound returns the connection's token and the client it was
	// issued to: a zero Binding for a token saved without one (by Save,
	// or before hub kept bindings). It returns a nil token and no error
	// when there is none.
	LoadBound(ctx context.Context, connection string) (*oauth2.Token, Binding, error)
	// SaveBound replaces the connection's token and its binding together.
	// Like Save, it must be durable when it returns.
	SaveBound(ctx context.Context, connection string, t *oauth2.Token, b Binding) error
}

// MemoryStore is a BoundStore that keeps tokens in memory, for tests and
// for hosts that accept logging in again after a restart.
type MemoryStore struct {
	mu     sync.Mutex
	tokens map[string]memoryRecord
}

type memoryRecord struct {
	token   oauth2.Token
	binding Binding
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{tokens: make(map[string]memoryRecord)}
}

// Load returns a copy of the connection's token, or nil when there is none.
func (s *MemoryStore) Load(ctx context.Context, connection string) (*oauth2.Token, error) {
	t, _, err := s.LoadBound(ctx, connection)
	return t, err
}

// Save stores a copy of t for the connection, without a binding.
func (s *MemoryStore) Save(ctx context.Context, connection string, t *oauth2.Token) error {
	return s.SaveBound(ctx, connection, t, Binding{})
}

// LoadBound returns a copy of the connection's token and its binding, or
// nil when there is none.
func (s *MemoryStore) LoadBound(_ context.Context, connection string) (*oauth2.Token, Binding, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.tokens[connection]
	if !ok {
		return nil, Binding{}, nil
	}
	t := r.token
	return &t, r.binding, nil
}

// SaveBound stores a copy of t and its binding for the connection.
func (s *MemoryStore) SaveBound(_ context.Context, connection string, t *oauth2.Token, b Binding) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[connection] = memoryRecord{token: *t, binding: b}
	return nil
}
