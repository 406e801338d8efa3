package state

import (
	"encoding/json"
	"fmt"
)

// Where the applied state is kept under a tenant.
const (
	Kind = "applied"
	ID   = "workspace"
)

// Store is what this package needs from hub's store: single values by
// tenant, kind and id, each Put atomic on its own.
type Store interface {
	Get(tenant, kind, id string) ([]byte, bool, error)
	Put(tenant, kind, id string, value []byte) error
}

// Load returns tenant's applied state, or Empty when nothing was applied.
func Load(st Store, tenant string) (*State, error) {
	data, ok, err := st.Get(tenant, Kind, ID)
	if err != nil {
		return nil, fmt.Errorf("load applied state of tenant %q: %w", tenant, err)
	}
	if !ok {
		return Empty(), nil
	}
	s := &State{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, fmt.Errorf("load applied state of tenant %q: %w", tenant, err)
	}
	if s.Version != FormatVersion {
		return nil, fmt.Errorf("load applied state of tenant %q: format version %d, this hub reads %d; use a matching hub", tenant, s.Version, FormatVersion)
	}
	if s.Connections == nil {
		s.Connections = []*Connection{}
	}
	if s.Workflows == nil {
		s.Workflows = []*Workflow{}
	}
	return s, nil
}

// Save records s as tenant's applied state in one write, so a reader sees
// the old state or the new one, never a mix.
func (s *State) Save(st Store, tenant string) error {
	data, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("save applied state of tenant %q: %w", tenant, err)
	}
	if err := st.Put(tenant, Kind, ID, data); err != nil {
		return fmt.Errorf("save applied state of tenant %q: %w", tenant, err)
	}
	return nil
}
