package holdfast

import (
	"context"
	"time"
)

// Activation key kinds: a key for one user's devices, or a mass-deployment
// token for a profile (the value a deployment tool such as Intune or Jamf
// passes to every client it installs).
const (
	ActivationUser       = "user"
	ActivationDeployment = "deployment"
)

// ActivationKey is a secret that activates a client: for one user
// (UserID), or for any user of a profile (ProfileID, a deployment token).
// Only the SHA-256 of the secret is kept; the secret is shown once.
type ActivationKey struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	Kind      string `json:"kind"` // ActivationUser or ActivationDeployment
	UserID    string `json:"user_id,omitempty"`
	ProfileID string `json:"profile_id,omitempty"` // a deployment token's
	Name      string `json:"name,omitempty"`
	Hash      []byte `json:"-"`
	// Prefix is the secret's first characters, to recognise it.
	Prefix    string     `json:"prefix"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Usable reports whether the key activates clients at now: not revoked,
// not expired.
func (k ActivationKey) Usable(now time.Time) bool {
	return k.RevokedAt == nil && now.Before(k.ExpiresAt)
}

// ActivationKeyFilter narrows PageActivationKeys; empty members do not
// filter. ProfileIDs is a scope: nil does not filter, empty matches none;
// a user key is in it when its user's profile (now) is.
type ActivationKeyFilter struct {
	Kind, UserID, ProfileID string
	ProfileIDs              []string
}

// ActivationKeyStore keeps activation keys and deployment tokens.
//
// Contract (enforced by storage/storagetest):
//   - CreateActivationKey assigns an ID when empty; a taken hash or ID is
//     ErrConflict, a missing user or profile ErrNotFound.
//   - GetActivationKeyByHash finds a key of any account, revoked or not.
//   - RevokeActivationKey sets RevokedAt once (a second revoke keeps the
//     first time); a missing key is ErrNotFound.
//   - PageActivationKeys pages by (CreatedAt, ID), oldest first, with the
//     total matching the filter; rows of one account are never returned
//     for another.
//   - Removing a user removes its keys; none of these writes changes the
//     account's Revision (keys are not decision data).
type ActivationKeyStore interface {
	CreateActivationKey(ctx context.Context, k *ActivationKey) error
	GetActivationKey(ctx context.Context, accountID, id string) (ActivationKey, error)
	GetActivationKeyByHash(ctx context.Context, hash []byte) (ActivationKey, error)
	RevokeActivationKey(ctx context.Context, accountID, id string, at time.Time) error
	PageActivationKeys(ctx context.Context, accountID string, f ActivationKeyFilter, p Page) (Paged[ActivationKey], error)
}
