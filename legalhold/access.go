package legalhold

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// Generated WebDAV credentials: a user name of UserPrefix and 16 hex
// digits, and a password of 32 random bytes (256 bits), base64url without
// padding (43 characters).
const (
	UserPrefix    = "lh-"
	passwordBytes = 32
)

// ErrBadCredential is the one error for every refused WebDAV credential:
// unknown user, wrong password, expired or revoked, so that no answer
// tells them apart.
var ErrBadCredential = fmt.Errorf("%w: invalid WebDAV credentials", holdfast.ErrUnauthenticated)

// IsHoldUser reports whether a WebDAV user name is of a generated hold
// credential (rather than an administrator's email).
func IsHoldUser(name string) bool { return strings.HasPrefix(name, UserPrefix) }

// NewCredential makes a fresh credential for the hold. The password is
// returned once, as a Secret; only its SHA-256 is kept in the credential.
func NewCredential(accountID, holdID, createdBy string, now time.Time, expires *time.Time) (holdfast.HoldCredential, holdfast.Secret, error) {
	var u [8]byte
	p := make([]byte, passwordBytes)
	if _, err := rand.Read(u[:]); err != nil {
		return holdfast.HoldCredential{}, "", fmt.Errorf("legalhold: new credential: %w", err)
	}
	var password string
	// A password that starts with "-" reads as an option to the command
	// line tools counsel paste it into (rclone obscure, curl -u): draw
	// again, which costs well under a bit of the 256.
	for password == "" || password[0] == '-' {
		if _, err := rand.Read(p); err != nil {
			return holdfast.HoldCredential{}, "", fmt.Errorf("legalhold: new credential: %w", err)
		}
		password = base64.RawURLEncoding.EncodeToString(p)
	}
	sum := sha256.Sum256([]byte(password))
	c := holdfast.HoldCredential{
		AccountID: accountID,
		HoldID:    holdID,
		UserName:  UserPrefix + hex.EncodeToString(u[:]),
		Hash:      sum[:],
		CreatedBy: createdBy,
		CreatedAt: now.UTC().Truncate(time.Microsecond),
		ExpiresAt: expires,
	}
	return c, holdfast.Secret(password), nil
}

// CheckPassword reports whether password opens c at now: the hashes are
// compared in constant time and an expired credential opens nothing.
func CheckPassword(c holdfast.HoldCredential, password string, now time.Time) bool {
	sum := sha256.Sum256([]byte(password))
	ok := subtle.ConstantTimeCompare(sum[:], c.Hash) == 1
	return ok && (c.ExpiresAt == nil || now.Before(*c.ExpiresAt))
}

// dummyHash is compared against when a user name is unknown, so an unknown
// user costs what a wrong password does.
var dummyHash = make([]byte, sha256.Size)

// Authenticate resolves a generated user name and password to the
// credential, which opens its hold only. Every refusal is
// ErrBadCredential; other errors are store failures.
func Authenticate(ctx context.Context, store holdfast.HoldAccessStore, user, password string, now time.Time) (holdfast.HoldCredential, error) {
	c, err := store.GetHoldCredentialByUser(ctx, user)
	if errors.Is(err, holdfast.ErrNotFound) {
		CheckPassword(holdfast.HoldCredential{Hash: dummyHash}, password, now)
		return holdfast.HoldCredential{}, ErrBadCredential
	}
	if err != nil {
		return holdfast.HoldCredential{}, fmt.Errorf("legalhold: look up WebDAV credential: %w", err)
	}
	if !CheckPassword(c, password, now) {
		return holdfast.HoldCredential{}, ErrBadCredential
	}
	return c, nil
}

// Access returns the hold's WebDAV credential (legal_holds.view, which is
// also what WebDAV access needs), nil when it has none (or it was
// revoked). The password is never returned: it is not kept.
func (s *Service) Access(ctx context.Context, p holdfast.Principal, id string) (*holdfast.HoldCredential, error) {
	if _, err := s.changes.Decide(ctx, p, change.Check{Right: RightView, Resource: Entity(id, nil)}); err != nil {
		return nil, err
	}
	if _, err := s.store.GetHold(ctx, p.AccountID, id); err != nil {
		return nil, err
	}
	c, err := s.store.GetHoldCredential(ctx, p.AccountID, id)
	if errors.Is(err, holdfast.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Rotate makes a new WebDAV credential for the hold
// (legal_holds.create_manage and legal_holds.view), valid until expires
// (nil: never; a past time is refused). It replaces the old one, which
// stops working at once. The password is returned once, here; it is never
// stored, logged or audited.
func (s *Service) Rotate(ctx context.Context, p holdfast.Principal, id string, expires *time.Time) (holdfast.HoldCredential, holdfast.Secret, error) {
	now := s.changes.Now()
	if expires != nil {
		exp := expires.UTC().Truncate(time.Microsecond)
		if !exp.After(now) {
			var v holdfast.ValidationError
			v.Add("expires_at", "must be in the future")
			return holdfast.HoldCredential{}, "", v.Err()
		}
		expires = &exp
	}
	var (
		cred     holdfast.HoldCredential
		password holdfast.Secret
	)
	c := change.Change{Action: "legal_hold.webdav.rotate", ResourceType: holdfast.ResourceLegalHold, ResourceID: id,
		Checks: []change.Check{
			{Right: RightCreateManage, Resource: Entity(id, nil)},
			{Right: RightView, Resource: Entity(id, nil)},
		}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if _, err := tx.GetHold(ctx, p.AccountID, id); err != nil {
			return "", nil, err
		}
		replaced := ""
		if old, err := tx.GetHoldCredential(ctx, p.AccountID, id); err == nil {
			replaced = old.UserName
		} else if !errors.Is(err, holdfast.ErrNotFound) {
			return "", nil, err
		}
		var err error
		if cred, password, err = NewCredential(p.AccountID, id, p.AdminID, now, expires); err != nil {
			return "", nil, err
		}
		if err := tx.PutHoldCredential(ctx, &cred); err != nil {
			return "", nil, err
		}
		return id, map[string]any{"user_name": cred.UserName, "replaced": replaced, "expires_at": cred.ExpiresAt}, nil
	})
	return cred, password, err
}

// Revoke deletes the hold's WebDAV credential (legal_holds.create_manage):
// it stops working at once.
func (s *Service) Revoke(ctx context.Context, p holdfast.Principal, id string) error {
	c := change.Change{Action: "legal_hold.webdav.revoke", ResourceType: holdfast.ResourceLegalHold, ResourceID: id,
		Checks: []change.Check{{Right: RightCreateManage, Resource: Entity(id, nil)}}}
	_, err := s.changes.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		old, err := tx.GetHoldCredential(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if err := tx.DeleteHoldCredential(ctx, p.AccountID, id); err != nil {
			return "", nil, err
		}
		return id, map[string]any{"user_name": old.UserName}, nil
	})
	return err
}

// ErrNoAccess refuses a WebDAV session the hold is not open to: a
// credential of another hold, or an administrator WebDAV does not admit.
var ErrNoAccess = fmt.Errorf("%w: no access to this legal hold", holdfast.ErrDenied)

// OpenWithCredential returns the hold a generated WebDAV credential (user
// name and password) opens, if it is holdID: a credential opens its own
// hold only (ErrNoAccess). Every refused credential is ErrBadCredential.
func (s *Service) OpenWithCredential(ctx context.Context, user, password, holdID string) (holdfast.LegalHold, error) {
	c, err := Authenticate(ctx, s.store, user, password, s.now())
	if err != nil {
		return holdfast.LegalHold{}, err
	}
	if c.HoldID != holdID {
		return holdfast.LegalHold{}, ErrNoAccess
	}
	return s.store.GetHold(ctx, c.AccountID, holdID)
}

// Open returns the hold for an administrator's WebDAV session
// (legal_holds.view on it).
func (s *Service) Open(ctx context.Context, p holdfast.Principal, holdID string) (holdfast.LegalHold, error) {
	if _, err := s.changes.Decide(ctx, p, change.Check{Right: RightView, Resource: Entity(holdID, nil)}); err != nil {
		return holdfast.LegalHold{}, err
	}
	return s.store.GetHold(ctx, p.AccountID, holdID)
}
