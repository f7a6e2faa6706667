package idp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
)

// API token format: TokenPrefix followed by the unpadded base64url encoding
// of 32 random bytes (43 characters), 46 characters in all.
const (
	TokenPrefix = "hf_"
	// TokenPrefixLength is how many leading characters of a secret are
	// stored in clear text so an administrator can recognise the token.
	TokenPrefixLength = 10
	tokenRandomBytes  = 32
)

// errBadToken is the one error Authenticate returns for every refused
// token, so a caller cannot tell an unknown token from a revoked one or from
// one whose owner was disabled.
var errBadToken = fmt.Errorf("%w: invalid or expired API token", holdfast.ErrUnauthenticated)

// NewToken returns a fresh API token secret, the SHA-256 hash to store and
// the clear-text prefix to show in lists. The secret is shown once to its
// owner and never stored.
func NewToken() (secret holdfast.Secret, hash []byte, prefix string, err error) {
	b := make([]byte, tokenRandomBytes)
	if _, err := rand.Read(b); err != nil {
		return "", nil, "", fmt.Errorf("idp: new token: %w", err)
	}
	s := TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return holdfast.Secret(s), HashToken(s), s[:TokenPrefixLength], nil
}

// HashToken returns the SHA-256 of a token secret, the key tokens are
// stored and looked up by. A fast hash is enough: secrets carry 256 bits of
// entropy, so there is nothing to brute-force.
func HashToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Authenticate resolves an API token secret to the principal it acts for:
// the token's owner, an active administrator of the token's account. It
// refuses unknown, revoked and expired tokens and tokens whose owner is
// disabled or deleted, always with the same error matching
// holdfast.ErrUnauthenticated. Other errors are store failures. On success
// the token's last-used time is set to now.
func Authenticate(ctx context.Context, store holdfast.MetaStore, secret string, now time.Time) (holdfast.Principal, error) {
	if secret == "" {
		return holdfast.Principal{}, errBadToken
	}
	tok, err := store.GetTokenByHash(ctx, HashToken(secret))
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Principal{}, errBadToken
	}
	if err != nil {
		return holdfast.Principal{}, fmt.Errorf("idp: look up token: %w", err)
	}
	if tok.RevokedAt != nil || (tok.ExpiresAt != nil && !now.Before(*tok.ExpiresAt)) {
		return holdfast.Principal{}, errBadToken
	}
	admin, err := store.GetAdmin(ctx, tok.AccountID, tok.AdminID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Principal{}, errBadToken
	}
	if err != nil {
		return holdfast.Principal{}, fmt.Errorf("idp: owner of token %s: %w", tok.ID, err)
	}
	if admin.State != holdfast.AdminActive {
		return holdfast.Principal{}, errBadToken
	}
	if err := store.TouchToken(ctx, tok.AccountID, tok.ID, now); err != nil {
		return holdfast.Principal{}, fmt.Errorf("idp: touch token %s: %w", tok.ID, err)
	}
	return holdfast.Principal{
		Kind:      holdfast.PrincipalToken,
		AccountID: tok.AccountID,
		AdminID:   admin.ID,
		Email:     admin.Email,
		TokenID:   tok.ID,
	}, nil
}

// Tokens authenticates API tokens like Authenticate, but remembers each
// token it accepted together with its account's data revision. Revoking a
// token, disabling or deleting its owner and every other write to the
// account move the revision on, so a remembered answer is used only while
// nothing in the account changed; expiry is checked on every use. The
// last-used time is written at most once per TouchEvery per token, so a
// busy service token does not turn every request into a write. Safe for
// concurrent use.
type Tokens struct {
	store holdfast.MetaStore
	// TouchEvery is how stale a token's last-used time may get (default one
	// minute).
	TouchEvery time.Duration

	mu      sync.Mutex // guards entries
	entries map[[sha256.Size]byte]tokenEntry
}

type tokenEntry struct {
	tok       holdfast.APIToken
	principal holdfast.Principal
	rev       int64
	touched   time.Time
}

// maxTokenEntries bounds the cache; past it the cache starts over.
const maxTokenEntries = 10000

// NewTokens returns a token authenticator over store.
func NewTokens(store holdfast.MetaStore) *Tokens {
	return &Tokens{store: store, TouchEvery: time.Minute, entries: make(map[[sha256.Size]byte]tokenEntry)}
}

// Authenticate resolves secret as the package-level Authenticate does.
func (t *Tokens) Authenticate(ctx context.Context, secret string, now time.Time) (holdfast.Principal, error) {
	if secret == "" {
		return holdfast.Principal{}, errBadToken
	}
	h := sha256.Sum256([]byte(secret))
	t.mu.Lock()
	e, ok := t.entries[h]
	t.mu.Unlock()
	if ok {
		rev, err := t.store.Revision(ctx, e.tok.AccountID)
		if err != nil {
			return holdfast.Principal{}, fmt.Errorf("idp: account revision: %w", err)
		}
		if rev == e.rev {
			if e.tok.ExpiresAt != nil && !now.Before(*e.tok.ExpiresAt) {
				return holdfast.Principal{}, errBadToken
			}
			if now.Sub(e.touched) >= t.TouchEvery {
				if err := t.store.TouchToken(ctx, e.tok.AccountID, e.tok.ID, now); err != nil {
					return holdfast.Principal{}, fmt.Errorf("idp: touch token %s: %w", e.tok.ID, err)
				}
				t.remember(h, tokenEntry{tok: e.tok, principal: e.principal, rev: e.rev, touched: now})
			}
			return e.principal, nil
		}
	}
	// Read the revision before the token and its owner, so the entry is at
	// least as new as the revision it is filed under.
	tok, err := t.store.GetTokenByHash(ctx, h[:])
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Principal{}, errBadToken
	}
	if err != nil {
		return holdfast.Principal{}, fmt.Errorf("idp: look up token: %w", err)
	}
	rev, err := t.store.Revision(ctx, tok.AccountID)
	if err != nil {
		return holdfast.Principal{}, fmt.Errorf("idp: account revision: %w", err)
	}
	p, err := Authenticate(ctx, t.store, secret, now)
	if err != nil {
		return p, err
	}
	tok, err = t.store.GetTokenByHash(ctx, h[:])
	if err != nil {
		return holdfast.Principal{}, fmt.Errorf("idp: look up token: %w", err)
	}
	t.remember(h, tokenEntry{tok: tok, principal: p, rev: rev, touched: now})
	return p, nil
}

func (t *Tokens) remember(h [sha256.Size]byte, e tokenEntry) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) >= maxTokenEntries {
		t.entries = make(map[[sha256.Size]byte]tokenEntry)
	}
	t.entries[h] = e
}
