package server

import (
	"net/http"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/directory"
)

// profileList is the body of GET /api/v1/profiles: one page.
type profileList struct {
	Profiles   []holdfast.Profile `json:"profiles"`
	NextCursor string             `json:"next_cursor,omitempty"`
	Total      int                `json:"total"`
}

// listProfiles serves GET /api/v1/profiles (profiles.view); pages with
// limit and cursor.
func (s *Server) listProfiles(w http.ResponseWriter, r *http.Request) error {
	ctx, q := r.Context(), r.URL.Query()
	page, err := holdfast.ParsePage(q.Get("limit"), q.Get("cursor"))
	if err != nil {
		return err
	}
	got, err := s.directory.ListProfiles(ctx, principal(ctx), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, profileList{Profiles: got.Items, NextCursor: got.Next, Total: got.Total})
}

// getProfile serves GET /api/v1/profiles/{id} (profiles.view).
func (s *Server) getProfile(w http.ResponseWriter, r *http.Request) error {
	p, err := s.directory.GetProfile(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// profileInput is the body of POST and PATCH /api/v1/profiles; PATCH
// leaves absent members as they are.
type profileInput struct {
	Name                    *string                `json:"name"`
	Description             *string                `json:"description"`
	Workloads               *[]string              `json:"workloads"`
	BlockAdminAccess        *bool                  `json:"block_admin_access"`
	Retention               *holdfast.Retention    `json:"retention"`
	AutoDeletePreservedDays *int                   `json:"auto_delete_preserved_days"`
	MaxUsers                *int                   `json:"max_users"`
	Backup                  *holdfast.BackupPolicy `json:"backup"`
}

// createProfile serves POST /api/v1/profiles (profiles.create_delete).
func (s *Server) createProfile(w http.ResponseWriter, r *http.Request) error {
	var in profileInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := s.directory.CreateProfile(r.Context(), principal(r.Context()), directory.ProfileInput(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, p)
}

// updateProfile serves PATCH /api/v1/profiles/{id} (profiles.manage).
func (s *Server) updateProfile(w http.ResponseWriter, r *http.Request) error {
	var in profileInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := s.directory.UpdateProfile(r.Context(), principal(r.Context()), r.PathValue("id"), directory.ProfileInput(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// deleteProfile serves DELETE /api/v1/profiles/{id}
// (profiles.create_delete).
func (s *Server) deleteProfile(w http.ResponseWriter, r *http.Request) error {
	if err := s.directory.DeleteProfile(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
