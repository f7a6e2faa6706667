package setup

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/lockout"
	"github.com/holdfast/holdfast/policies"
)

// LinkValidity is how long a setup or recovery link works; the sign-in
// side gives its reset and invitation links the same.
const LinkValidity = 24 * time.Hour

// Engine is what Recover needs from the decision engine (*authz.Engine):
// the account's roles with their effective rights, and the catalog whose
// rules name the platform administrator and fail-safe rights.
type Engine interface {
	lockout.RoleLister
	Catalog() *policies.Catalog
}

// newSecret returns a link secret: 32 random bytes, unpadded base64url.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// secretID is the store key of a link secret: hex SHA-256. Secrets are
// random and long, so a fast hash is enough.
func secretID(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// credentialsOf returns the administrator's password-login state, empty
// when none was stored yet.
func credentialsOf(ctx context.Context, ids holdfast.IdentityStore, a holdfast.Administrator) (holdfast.Credentials, error) {
	c, err := ids.GetCredentials(ctx, a.AccountID, a.ID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Credentials{AccountID: a.AccountID, AdminID: a.ID}, nil
	}
	return c, err
}
