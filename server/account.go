package server

import (
	"net/http"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
)

// getAccount serves GET /api/v1/account (settings.view).
func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.admins.Account(r.Context(), principal(r.Context()))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// updateSettings serves PATCH /api/v1/account/settings; each member needs
// its own right (admins.Service.UpdateSettings).
func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request) error {
	var in admins.SettingsPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := s.admins.UpdateSettings(r.Context(), principal(r.Context()), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

// settingsEntity is the account's settings as a decision resource.
func settingsEntity(accountID string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceSettings, ID: accountID}
}
