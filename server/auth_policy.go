package server

import (
	"context"
	"net/http"

	"github.com/holdfast/holdfast/signin"
)

// getPasswordPolicy serves GET /api/v1/account/password-policy
// (settings.view).
func (s *Server) getPasswordPolicy(w http.ResponseWriter, r *http.Request) error {
	p, err := s.signin.Policy(r.Context(), principal(r.Context()))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// updatePasswordPolicy serves PATCH /api/v1/account/password-policy
// {expiry_days} (account.password_policy.manage).
func (s *Server) updatePasswordPolicy(w http.ResponseWriter, r *http.Request) error {
	var in signin.PolicyPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	p, err := s.signin.UpdatePolicy(r.Context(), principal(r.Context()), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

// SweepInactiveAdmins disables, in every account, the administrators
// inactive for longer than the account's InactiveAdminDays, and removes
// expired sessions. It returns how many administrators it disabled. Run
// it periodically (cmd/holdfast does, hourly).
func (s *Server) SweepInactiveAdmins(ctx context.Context) (int, error) {
	n, err := s.signin.SweepInactive(ctx)
	if err != nil || s.auth == nil {
		return n, err
	}
	return n, s.signin.SweepSessions(ctx)
}
