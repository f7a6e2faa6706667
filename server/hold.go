package server

import (
	"net/http"
)

// listHoldTypes serves GET /api/v1/legal-hold-types: one page (limit,
// cursor) of the types the engine lets the caller see under any legal
// hold right or legal_hold_types.manage (legalhold.Service.ListTypes).
func (s *Server) listHoldTypes(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	got, err := s.holds.ListTypes(r.Context(), principal(r.Context()), page)
	if err != nil {
		return err
	}
	return writePage(w, "legal_hold_types", got)
}

// holdTypeInput is the body of POST and PATCH /api/v1/legal-hold-types.
type holdTypeInput struct {
	Name string `json:"name"`
}

// createHoldType serves POST /api/v1/legal-hold-types
// (legal_hold_types.manage). Names are unique per account (409).
func (s *Server) createHoldType(w http.ResponseWriter, r *http.Request) error {
	var in holdTypeInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := s.holds.CreateType(r.Context(), principal(r.Context()), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, t)
}

// updateHoldType serves PATCH /api/v1/legal-hold-types/{id}
// (legal_hold_types.manage): a rename. Predefined types keep their names.
func (s *Server) updateHoldType(w http.ResponseWriter, r *http.Request) error {
	var in holdTypeInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	t, err := s.holds.RenameType(r.Context(), principal(r.Context()), r.PathValue("id"), in.Name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, t)
}

// deleteHoldType serves DELETE /api/v1/legal-hold-types/{id}
// (legal_hold_types.manage). Predefined types and types a hold uses are
// conflicts.
func (s *Server) deleteHoldType(w http.ResponseWriter, r *http.Request) error {
	if err := s.holds.DeleteType(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
