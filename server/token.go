package server

import (
	"context"
	"encoding/json"
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

// validate trims the name and checks both fields.
func (in *tokenCreate) validate() error {
	var v holdfast.ValidationError
	in.Name = checkName(&v, "name", in.Name)
	if in.ExpiresInDays < 0 || in.ExpiresInDays > maxTokenDays {
		v.Add("expires_in_days", "must be 0 (never) to %d", maxTokenDays)
	}
	return v.Err()
}

// newToken makes the token in describes for the administrator, with its
// secret (shown once; only its hash is stored).
func (in tokenCreate) newToken(accountID, adminID string, now time.Time) (holdfast.APIToken, holdfast.Secret, error) {
	secret, hash, prefix, err := idp.NewToken()
	if err != nil {
		return holdfast.APIToken{}, "", err
	}
	tok := holdfast.APIToken{ID: newID("tok_"), AccountID: accountID, AdminID: adminID, Name: in.Name,
		Hash: hash, Prefix: prefix, CreatedAt: now}
	if in.ExpiresInDays > 0 {
		exp := now.Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour)
		tok.ExpiresAt = &exp
	}
	return tok, secret, nil
}

// IssueTokenOptions describe a token IssueToken makes.
type IssueTokenOptions struct {
	AdminEmail    string
	Name          string
	ExpiresInDays int              // 0 = never
	Now           func() time.Time // nil = time.Now
}

// IssueToken makes an API token of the active administrator with
// opts.AdminEmail, for the operator of the machine (holdfast token create):
// the same rules as POST /api/v1/tokens, and the same "api_token.create"
// audit record, in one transaction with the token, marked as made offline.
// The secret is returned once; only its hash is stored. An unknown or
// inactive administrator is holdfast.ErrNotFound / ErrInvalid.
func IssueToken(ctx context.Context, store holdfast.MetaStore, opts IssueTokenOptions) (holdfast.APIToken, holdfast.Secret, error) {
	in := tokenCreate{Name: opts.Name, ExpiresInDays: opts.ExpiresInDays}
	if err := in.validate(); err != nil {
		return holdfast.APIToken{}, "", err
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	at := now().UTC().Truncate(time.Microsecond)
	email := strings.ToLower(strings.TrimSpace(opts.AdminEmail))
	var tok holdfast.APIToken
	var secret holdfast.Secret
	err := store.Tx(ctx, func(tx holdfast.MetaStore) error {
		admin, err := tx.GetAdminByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("administrator %s: %w", email, err)
		}
		if admin.State != holdfast.AdminActive {
			return &holdfast.ValidationError{Fields: []holdfast.FieldError{{Field: "admin",
				Message: fmt.Sprintf("%s is %s; only an active administrator can have tokens", email, admin.State)}}}
		}
		if tok, secret, err = in.newToken(admin.AccountID, admin.ID, at); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &tok); err != nil {
			return err
		}
		detail, err := json.Marshal(map[string]any{"name": tok.Name, "prefix": tok.Prefix, "via": "cli"})
		if err != nil {
			return err
		}
		rec := holdfast.AuditRecord{AccountID: admin.AccountID, Time: at, ActorID: admin.ID, ActorEmail: admin.Email,
			Action: "api_token.create", ResourceType: "api_token", ResourceID: tok.ID, Outcome: holdfast.OutcomeSuccess, Detail: detail}
		return tx.AppendAudit(ctx, &rec)
	})
	if err != nil {
		return holdfast.APIToken{}, "", err
	}
	return tok, secret, nil
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
	if err := in.validate(); err != nil {
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
	tok, secret, err := in.newToken(p.AccountID, p.AdminID, now)
	if err != nil {
		return err
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
