package server

import (
	"net/http"
	"time"

	"github.com/holdfast/holdfast"
)

// A hold's WebDAV access: its URL and its own generated credential (shown
// once, rotatable, revocable, with an optional expiry). Reading the
// credential's details needs legal_holds.view, which is also what WebDAV
// access needs; making or revoking one needs create_manage as well.

// holdAccessView describes a hold's WebDAV access, never its password.
type holdAccessView struct {
	URL        string     `json:"url"`
	Credential bool       `json:"credential"` // false: none (or revoked)
	UserName   string     `json:"user_name,omitempty"`
	CreatedBy  string     `json:"created_by,omitempty"`
	CreatedAt  *time.Time `json:"created_at,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	// Password is set only in the answer that made the credential.
	Password string `json:"password,omitempty"`
	// APITokenLogin says how a cloud administrator signs in instead: user
	// name = email, password = API token.
	APITokenLogin string `json:"api_token_login"`
}

const apiTokenLogin = "a Cloud Administrator may sign in with their email as the user name and an API token as the password"

func (s *Server) accessView(r *http.Request, holdID string, c *holdfast.HoldCredential) holdAccessView {
	v := holdAccessView{URL: s.holdURL(r, holdID), APITokenLogin: apiTokenLogin}
	if c != nil {
		created := c.CreatedAt
		v.Credential, v.UserName, v.CreatedBy, v.CreatedAt, v.ExpiresAt = true, c.UserName, c.CreatedBy, &created, c.ExpiresAt
	}
	return v
}

// getHoldAccess serves GET /api/v1/legal-holds/{id}/webdav
// (legal_holds.view).
func (s *Server) getHoldAccess(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	c, err := s.holds.Access(r.Context(), principal(r.Context()), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, s.accessView(r, id, c))
}

// rotateInput is the body of POST /api/v1/legal-holds/{id}/webdav.
type rotateInput struct {
	ExpiresAt *time.Time `json:"expires_at"`
}

// rotateHoldAccess serves POST /api/v1/legal-holds/{id}/webdav
// (legal_holds.create_manage and legal_holds.view): a new credential
// replaces the old one, which stops working at once. The password is in
// this answer only; it is never stored, logged or audited.
func (s *Server) rotateHoldAccess(w http.ResponseWriter, r *http.Request) error {
	var in rotateInput
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	cred, password, err := s.holds.Rotate(r.Context(), principal(r.Context()), id, in.ExpiresAt)
	if err != nil {
		return err
	}
	v := s.accessView(r, id, &cred)
	v.Password = password.Reveal()
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, v)
}

// revokeHoldAccess serves DELETE /api/v1/legal-holds/{id}/webdav
// (legal_holds.create_manage): the credential stops working at once.
func (s *Server) revokeHoldAccess(w http.ResponseWriter, r *http.Request) error {
	if err := s.holds.Revoke(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
