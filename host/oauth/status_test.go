package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// unreadableStore is a MemoryStore whose record cannot be read until a
// token is saved over it, as a corrupt record in the vault.
type unreadableStore struct {
	*MemoryStore
	mu     sync.Mutex
	broken bool
}

func (s *unreadableStore) LoadBound(ctx context.Context, c string) (*oauth2.Token, Binding, error) {
	s.mu.Lock()
	broken := s.broken
	s.mu.Unlock()
	if broken {
		return nil, Binding{}, errors.New("the record is not JSON")
	}
	return s.MemoryStore.LoadBound(ctx, c)
}

func (s *unreadableStore) SaveBound(ctx context.Context, c string, t *oauth2.Token, b Binding) error {
	s.mu.Lock()
	s.broken = false
	s.mu.Unlock()
	return s.MemoryStore.SaveBound(ctx, c, t, b)
}

// A token that cannot be read is an error of Status, not a state; but a
// login started meanwhile is reported, so hub connect can follow it, and
// its token replaces the unreadable record.
func TestStatus_UnreadableTokenIsAnErrorUntilALoginIsPending(t *testing.T) {
	e := newEnv(t)
	store := &unreadableStore{MemoryStore: NewMemoryStore(), broken: true}
	m, err := New(Options{Store: store, BaseURL: e.hub.URL, Now: e.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	e.register(t, e.codeClient(t, "github", ""))

	if _, err := m.Status(context.Background(), "github"); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Fatalf("Status = %v, want the store's error", err)
	}

	u := e.authorize(t, "github")
	if s := e.status(t, "github"); s.Status != StatusLoginPending {
		t.Errorf("status while a login is pending = %s, want login_pending", s.Status)
	}
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, u.String(), nil))
	if w.Code != http.StatusOK {
		t.Fatalf("callback: %d %s", w.Code, w.Body)
	}
	if s := e.status(t, "github"); s.Status != StatusConnected {
		t.Errorf("status after the login = %s, want connected", s.Status)
	}
}
