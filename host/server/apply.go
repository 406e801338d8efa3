package server

import (
	"fmt"
	"io"
	"net/http"
)

// maxApplyBytes bounds an apply request: a workspace's files and state.
const maxApplyBytes = 32 << 20

func (s *Server) appliedState(d Deployer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, ok := tenantOf(w, r)
		if !ok {
			return
		}
		st, err := d.AppliedState(r.Context(), tenant)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.reply(w, r, http.StatusOK, st)
	}
}

func (s *Server) apply(d Deployer) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, ok := tenantOf(w, r)
		if !ok {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxApplyBytes))
		if err != nil {
			writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("an apply request is at most %d bytes", maxApplyBytes))
			return
		}
		var req ApplyRequest
		if err := decodeStrict(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, CodeBadRequest, "apply request: "+err.Error())
			return
		}
		if len(req.Source) == 0 || len(req.State) == 0 || req.AppliedSHA256 == "" {
			writeError(w, http.StatusBadRequest, CodeBadRequest, "apply request: source, state and applied_sha256 are required")
			return
		}
		res, err := d.Apply(r.Context(), tenant, req)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.reply(w, r, http.StatusOK, res)
	}
}
