package admins

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/idp"
)

// MaxTokenDays bounds a token's lifetime.
const MaxTokenDays = 3650

// NewToken describes an API token to make.
type NewToken struct {
	Name          string `json:"name"`
	ExpiresInDays int    `json:"expires_in_days"` // 0 = never
}

// validate trims the name and checks both fields.
func (in *NewToken) validate() error {
	var v holdfast.ValidationError
	in.Name = holdfast.CheckName(&v, "name", in.Name)
	if in.ExpiresInDays < 0 || in.ExpiresInDays > MaxTokenDays {
		v.Add("expires_in_days", "must be 0 (never) to %d", MaxTokenDays)
	}
	return v.Err()
}

// make returns the token in describes for the administrator, with its
// secret (shown once; only its hash is stored).
func (in NewToken) make(accountID, adminID string, now time.Time) (holdfast.APIToken, holdfast.Secret, error) {
	secret, hash, prefix, err := idp.NewToken()
	if err != nil {
		return holdfast.APIToken{}, "", err
	}
	tok := holdfast.APIToken{ID: holdfast.NewID("tok_"), AccountID: accountID, AdminID: adminID, Name: in.Name,
		Hash: hash, Prefix: prefix, CreatedAt: now}
	if in.ExpiresInDays > 0 {
		exp := now.Add(time.Duration(in.ExpiresInDays) * 24 * time.Hour)
		tok.ExpiresAt = &exp
	}
	return tok, secret, nil
}

// Tokens returns one page of p's own API tokens, oldest first, with their
// total (api_tokens.manage). The cursor is the last token's creation time
// and id.
func (s *Service) Tokens(ctx context.Context, p holdfast.Principal, page holdfast.Page) (holdfast.Paged[holdfast.APIToken], error) {
	out := holdfast.Paged[holdfast.APIToken]{Items: []holdfast.APIToken{}}
	if err := page.Validate(); err != nil {
		return out, err
	}
	if err := s.view(ctx, p, "api_tokens.manage", accountEntity(p)); err != nil {
		return out, err
	}
	toks, err := s.store.ListTokens(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return out, err
	}
	rest, err := after(toks, page.Cursor, func(t holdfast.APIToken) string { return t.ID })
	if err != nil {
		return out, err
	}
	out.Total = len(toks)
	if len(rest) > page.Size() {
		rest = rest[:page.Size()]
		out.Next = holdfast.EncodeCursor(rest[len(rest)-1].ID)
	}
	out.Items = append(out.Items, rest...)
	return out, nil
}

// CreateToken makes a new API token of p (api_tokens.manage). It acts as
// p, so it is never more powerful than its owner; a token made with a
// token never outlives it. The secret is returned once; only its hash is
// stored.
func (s *Service) CreateToken(ctx context.Context, p holdfast.Principal, in NewToken) (holdfast.APIToken, holdfast.Secret, error) {
	if err := in.validate(); err != nil {
		return holdfast.APIToken{}, "", err
	}
	now := s.changes.Now()
	if err := s.withinParent(ctx, p, in, now); err != nil {
		return holdfast.APIToken{}, "", err
	}
	tok, secret, err := in.make(p.AccountID, p.AdminID, now)
	if err != nil {
		return holdfast.APIToken{}, "", err
	}
	c := change.Change{Action: "api_token.create", ResourceType: "api_token",
		Checks: []change.Check{{Right: "api_tokens.manage", Resource: accountEntity(p)}}}
	if _, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateToken(ctx, &tok); err != nil {
			return "", nil, err
		}
		return tok.ID, map[string]any{"name": tok.Name, "prefix": tok.Prefix}, nil
	}); err != nil {
		return holdfast.APIToken{}, "", err
	}
	return tok, secret, nil
}

// withinParent refuses a token that would outlive the token p made this
// request with: otherwise a leaked short-lived token buys a permanent one.
func (s *Service) withinParent(ctx context.Context, p holdfast.Principal, in NewToken, now time.Time) error {
	if p.TokenID == "" {
		return nil
	}
	toks, err := s.store.ListTokens(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(toks, func(t holdfast.APIToken) bool { return t.ID == p.TokenID })
	if i < 0 {
		return fmt.Errorf("the caller's token %s: %w", p.TokenID, holdfast.ErrNotFound)
	}
	exp := toks[i].ExpiresAt
	if exp != nil && (in.ExpiresInDays == 0 || now.Add(time.Duration(in.ExpiresInDays)*24*time.Hour).After(*exp)) {
		var v holdfast.ValidationError
		v.Add("expires_in_days", "must end by %s, when the token making this request expires", exp.UTC().Format(time.RFC3339))
		return v.Err()
	}
	return nil
}

// RevokeToken revokes one of p's own tokens (api_tokens.manage). Another
// administrator's token, and one already revoked, is ErrNotFound.
func (s *Service) RevokeToken(ctx context.Context, p holdfast.Principal, id string) error {
	toks, err := s.store.ListTokens(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(toks, func(t holdfast.APIToken) bool { return t.ID == id && t.RevokedAt == nil }) {
		return fmt.Errorf("API token %s: %w", id, holdfast.ErrNotFound)
	}
	c := change.Change{Action: "api_token.revoke", ResourceType: "api_token", ResourceID: id,
		Checks: []change.Check{{Right: "api_tokens.manage", Resource: accountEntity(p)}}}
	_, err = s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		err := tx.RevokeToken(ctx, p.AccountID, id, s.changes.Now())
		if errors.Is(err, holdfast.ErrNotFound) {
			return "", nil, fmt.Errorf("API token %s: %w", id, holdfast.ErrNotFound)
		}
		return id, nil, err
	})
	return err
}

// IssueOptions describe a token IssueToken makes.
type IssueOptions struct {
	AdminEmail    string
	Name          string
	ExpiresInDays int            // 0 = never
	Clock         holdfast.Clock // nil: the system clock
}

// IssueToken makes an API token of the active administrator with
// opts.AdminEmail, for the operator of the machine (holdfast token
// create): the same rules as CreateToken, and the same "api_token.create"
// audit record, in one transaction with the token, marked as made
// offline. The secret is returned once; only its hash is stored. An
// unknown administrator is ErrNotFound, an inactive one a
// *holdfast.ValidationError.
func IssueToken(ctx context.Context, store holdfast.MetaStore, opts IssueOptions) (holdfast.APIToken, holdfast.Secret, error) {
	in := NewToken{Name: opts.Name, ExpiresInDays: opts.ExpiresInDays}
	if err := in.validate(); err != nil {
		return holdfast.APIToken{}, "", err
	}
	at := holdfast.ClockOrSystem(opts.Clock).Now().UTC().Truncate(time.Microsecond)
	email := strings.ToLower(strings.TrimSpace(opts.AdminEmail))
	var tok holdfast.APIToken
	var secret holdfast.Secret
	runner := change.New(change.Options{Store: store, Clock: fixedClock(at)})
	err := store.Tx(ctx, func(tx holdfast.MetaStore) error {
		admin, err := tx.GetAdminByEmail(ctx, email)
		if err != nil {
			return fmt.Errorf("administrator %s: %w", email, err)
		}
		if admin.State != holdfast.AdminActive {
			var v holdfast.ValidationError
			v.Add("admin", "%s is %s; only an active administrator can have tokens", email, admin.State)
			return v.Err()
		}
		if tok, secret, err = in.make(admin.AccountID, admin.ID, at); err != nil {
			return err
		}
		if err := tx.CreateToken(ctx, &tok); err != nil {
			return err
		}
		p := holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: admin.AccountID, AdminID: admin.ID, Email: admin.Email}
		return runner.Append(ctx, tx, p, change.Record{Action: "api_token.create", ResourceType: "api_token", ResourceID: tok.ID,
			Outcome: holdfast.OutcomeSuccess, Detail: map[string]any{"name": tok.Name, "prefix": tok.Prefix, "via": "cli"}})
	})
	if err != nil {
		return holdfast.APIToken{}, "", err
	}
	return tok, secret, nil
}

// fixedClock is a clock that always says one time.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }
