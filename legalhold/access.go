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
