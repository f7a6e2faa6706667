package server

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
)

// basicToken authenticates HTTP Basic with an API token as the password,
// for WebDAV clients that know nothing else. The user name must be the
// token owner's email, so a token pasted into the wrong client fails.
func (s *Server) basicToken(r *http.Request) (holdfast.Principal, error) {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return holdfast.Principal{}, ErrNoCredentials
	}
	p, err := s.tokens.Authenticate(r.Context(), pass, s.now())
	if err != nil {
		return p, err
	}
	if !strings.EqualFold(strings.TrimSpace(user), p.Email) {
		return holdfast.Principal{}, fmt.Errorf("%w: invalid or expired API token", holdfast.ErrUnauthenticated)
	}
	if err := s.fenceToken(r, p.AccountID); err != nil {
		return holdfast.Principal{}, err
	}
	return p, nil
}

// createdToken is the answer of POST /api/v1/tokens: the only time the
// secret is shown.
type createdToken struct {
	holdfast.APIToken
	Secret string `json:"secret"`
}

// listTokens serves GET /api/v1/tokens: one page of the caller's own
// tokens.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	out, err := s.admins.Tokens(r.Context(), principal(r.Context()), page)
	if err != nil {
		return err
	}
	return writePage(w, "tokens", out)
}

// createToken serves POST /api/v1/tokens (api_tokens.manage): a new token
// of the caller; the secret is in this answer only.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in admins.NewToken
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	tok, secret, err := s.admins.CreateToken(r.Context(), principal(r.Context()), in)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, createdToken{APIToken: tok, Secret: secret.Reveal()})
}

// revokeToken serves DELETE /api/v1/tokens/{id} (api_tokens.manage): the
// caller revokes one of its own tokens.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	if err := s.admins.RevokeToken(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
