package server

import (
	"net/http"

	"github.com/holdfast/holdfast/admins"
)

// listRoles serves GET /api/v1/roles (admins.view): one page of the
// predefined roles the account has, with its edits, then its custom roles.
func (s *Server) listRoles(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	out, err := s.admins.Roles(r.Context(), principal(r.Context()), page)
	if err != nil {
		return err
	}
	return writePage(w, "roles", out)
}

// getRole serves GET /api/v1/roles/{id} (admins.view).
func (s *Server) getRole(w http.ResponseWriter, r *http.Request) error {
	role, err := s.admins.Role(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, role)
}

// createRole serves POST /api/v1/roles (roles.manage, operation create).
func (s *Server) createRole(w http.ResponseWriter, r *http.Request) error {
	var in admins.NewRole
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	role, err := s.admins.CreateRole(r.Context(), principal(r.Context()), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, role)
}

// updateRole serves PATCH /api/v1/roles/{id} (roles.manage, operation
// edit).
func (s *Server) updateRole(w http.ResponseWriter, r *http.Request) error {
	var in admins.RolePatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	role, err := s.admins.UpdateRole(r.Context(), principal(r.Context()), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, role)
}

// deleteRole serves DELETE /api/v1/roles/{id} (roles.manage, operation
// delete).
func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request) error {
	if err := s.admins.DeleteRole(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
