package server

import (
	"net/http"

	"github.com/hubhq/hub/host/runs"
)

// ConnectionList is the answer of GET /v1/connections.
type ConnectionList struct {
	Connections []runs.Connection `json:"connections"`
}

func (s *Server) listConnections(c Connections) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, ok := tenantOf(w, r)
		if !ok {
			return
		}
		list, err := c.ListConnections(r.Context(), tenant)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.reply(w, r, http.StatusOK, ConnectionList{Connections: nonNil(list)})
	}
}

func (s *Server) testConnection(c Connections) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, ok := tenantOf(w, r)
		if !ok {
			return
		}
		res, err := c.TestConnection(r.Context(), tenant, r.PathValue("name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.reply(w, r, http.StatusOK, res)
	}
}

func (s *Server) connect(a Authorizer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, ok := tenantOf(w, r)
		if !ok {
			return
		}
		res, err := a.Connect(r.Context(), tenant, r.PathValue("name"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.reply(w, r, http.StatusOK, res)
	}
}
