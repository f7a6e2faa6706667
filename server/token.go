package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// maxTokenDays bounds a token's lifetime.
const maxTokenDays = 3650

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

// tokenCreate is the body of POST /api/v1/tokens.
type tokenCreate struct {
	Name          string `json:"name"`
	ExpiresInDays int    `json:"expires_in_days"` // 0 = never
}

// createdToken is the answer of POST /api/v1/tokens: the only time the
// secret is shown.
type createdToken struct {
	holdfast.APIToken
	Secret string `json:"secret"`
}

// tokenEntity is the caller's token collection as a decision resource.
func tokenEntity(r *http.Request) holdfast.Entity {
	return accountEntity(r.Context())
}

// listTokens serves GET /api/v1/tokens: the caller's own tokens.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principal(ctx)
	if _, err := s.decide(ctx, check{right: "api_tokens.manage", resource: tokenEntity(r)}); err != nil {
		return err
	}
	toks, err := s.store.ListTokens(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"tokens": nonNilSlice(toks)})
}

// createToken serves POST /api/v1/tokens (api_tokens.manage): a new token
// of the caller. It acts as the caller, so it is never more powerful than
// its owner; the secret is in this answer only.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in tokenCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var v holdfast.ValidationError
	in.Name = checkName(&v, "name", in.Name)
	if in.ExpiresInDays < 0 || in.ExpiresInDays > maxTokenDays {
		v.Add("expires_in_days", "must be 0 (never) to %d", maxTokenDays)
	}
	if err := v.Err(); err != nil {
		return err
	}
	p := principal(ctx)
	now := s.now().UTC().Truncate(time.Microsecond)
	// A token never mints one that outlives it: otherwise a leaked
	// short-lived token buys a permanent one.
	if p.TokenID != "" {
		parent, err := s.callerToken(ctx, p)
		if err != nil {
			return err
		}
		if parent.ExpiresAt != nil {
			if in.ExpiresInDays == 0 || now.Add(time.Duration(in.ExpiresInDays)*24*time.Hour).After(*parent.ExpiresAt) {
				v.Add("expires_in_days", "must end by %s, when the token making this request expires", parent.ExpiresAt.UTC().Format(time.RFC3339))
				return v.Err()
			}
		}
	}
	secret, hash, prefix, err := idp.NewToken()
	if err != nil {
		return err
	}
	tok := holdfast.APIToken{ID: newID("tok_"), AccountID: p.AccountID, AdminID: p.AdminID, Name: in.Name,
		Hash: hash, Prefix: prefix, CreatedAt: now}
	if in.ExpiresInDays > 0 {
		exp := now.Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour)
		tok.ExpiresAt = &exp
	}
	c := change{action: "api_token.create", resourceType: "api_token",
		checks: []check{{right: "api_tokens.manage", resource: tokenEntity(r)}}}
	if _, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateToken(ctx, &tok); err != nil {
			return "", nil, err
		}
		return tok.ID, map[string]any{"name": tok.Name, "prefix": tok.Prefix}, nil
	}); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, createdToken{APIToken: tok, Secret: secret.Reveal()})
}

// callerToken returns the API token the caller authenticated with.
func (s *Server) callerToken(ctx context.Context, p holdfast.Principal) (holdfast.APIToken, error) {
	toks, err := s.store.ListTokens(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return holdfast.APIToken{}, err
	}
	for _, t := range toks {
		if t.ID == p.TokenID {
			return t, nil
		}
	}
	return holdfast.APIToken{}, fmt.Errorf("the caller's token %s: %w", p.TokenID, holdfast.ErrNotFound)
}

// revokeToken serves DELETE /api/v1/tokens/{id} (api_tokens.manage): the
// caller revokes one of its own tokens. Another administrator's token is
// not found.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p := principal(ctx)
	id := r.PathValue("id")
	toks, err := s.store.ListTokens(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return err
	}
	found := false
	for _, t := range toks {
		found = found || (t.ID == id && t.RevokedAt == nil)
	}
	if !found {
		return fmt.Errorf("API token %s: %w", id, holdfast.ErrNotFound)
	}
	c := change{action: "api_token.revoke", resourceType: "api_token", resourceID: id,
		checks: []check{{right: "api_tokens.manage", resource: tokenEntity(r)}}}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		err := tx.RevokeToken(ctx, p.AccountID, id, s.now().UTC())
		if errors.Is(err, holdfast.ErrNotFound) {
			return "", nil, fmt.Errorf("API token %s: %w", id, holdfast.ErrNotFound)
		}
		return id, nil, err
	})
	if err != nil {
		return err
	}
	return noContent(w)
}
