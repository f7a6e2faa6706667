package devices

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// rightKeys guards activation keys and deployment tokens: a key adds an
// endpoint for a user (or any user of a profile), so the engine decides it
// on such a new endpoint, in the caller's profile and workload scope.
const rightKeys = "users.download_auth_keys"

// ResourceActivationKey is the audit resource type of activation keys.
const ResourceActivationKey = "activation_key"

// Bounds of an activation key's life, in days.
const (
	DefaultKeyDays = 30
	MaxKeyDays     = 365
)

// keyPrefix starts every activation secret, so that one is told apart
// from an API token at a glance; prefixLength characters are kept to
// recognise it.
const (
	keyPrefix    = "hfa_"
	prefixLength = 12
)

// endpointWorkload is the workload of the devices keys activate.
const endpointWorkload = "endpoints"

// NewKey asks for an activation key: for user UserID, or a deployment
// token for profile ProfileID (exactly one), valid for ValidDays (0: the
// default).
type NewKey struct {
	UserID, ProfileID, Name string
	ValidDays               int
}

// IssueKey creates an activation key (users.download_auth_keys on a new
// endpoint of the user, or of the profile) and returns it with its secret,
// which is shown this once: only its SHA-256 is kept. A user who is not
// active gets no key (ErrConflict). Audited as activation_key.create,
// without the secret.
func (s *Service) IssueKey(ctx context.Context, p holdfast.Principal, in NewKey) (holdfast.ActivationKey, holdfast.Secret, error) {
	k, err := s.newKey(p, in)
	if err != nil {
		return k, "", err
	}
	secret, err := newSecret()
	if err != nil {
		return k, "", err
	}
	k.Hash, k.Prefix = hashSecret(string(secret)), string(secret)[:prefixLength]
	c := change.Change{Action: "activation_key.create", ResourceType: ResourceActivationKey,
		Checks: []change.Check{{Right: rightKeys, Resource: keyTarget(k)}}}
	_, err = s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if k.UserID != "" {
			u, err := tx.GetUser(ctx, p.AccountID, k.UserID)
			if err != nil {
				return "", nil, err
			}
			if u.State != holdfast.UserActive {
				return "", nil, conflict("user %s is %s; activate the user first", u.Email, u.State)
			}
		}
		if err := tx.CreateActivationKey(ctx, &k); err != nil {
			return "", nil, err
		}
		return k.ID, map[string]any{"kind": k.Kind, "user_id": k.UserID, "profile_id": k.ProfileID,
			"prefix": k.Prefix, "expires_at": k.ExpiresAt}, nil
	})
	if err != nil {
		return holdfast.ActivationKey{}, "", err
	}
	return k, secret, nil
}

// newKey validates in and returns the key it asks for, without a secret.
func (s *Service) newKey(p holdfast.Principal, in NewKey) (holdfast.ActivationKey, error) {
	var v holdfast.ValidationError
	k := holdfast.ActivationKey{AccountID: p.AccountID, UserID: strings.TrimSpace(in.UserID),
		ProfileID: strings.TrimSpace(in.ProfileID), Name: strings.TrimSpace(in.Name), CreatedBy: p.AdminID}
	switch {
	case (k.UserID == "") == (k.ProfileID == ""):
		v.Add("user_id", "give exactly one of user_id (an activation key) and profile_id (a deployment token)")
	case k.UserID != "":
		k.Kind = holdfast.ActivationUser
	default:
		k.Kind = holdfast.ActivationDeployment
	}
	if k.Name != "" {
		k.Name = holdfast.CheckName(&v, "name", k.Name)
	}
	days := in.ValidDays
	if days == 0 {
		days = DefaultKeyDays
	}
	if days < 1 || days > MaxKeyDays {
		v.Add("valid_days", "must be between 1 and %d", MaxKeyDays)
	}
	k.CreatedAt = s.run.Now()
	k.ExpiresAt = k.CreatedAt.Add(time.Duration(days) * 24 * time.Hour)
	return k, v.Err()
}

// keyTarget is the resource a key is decided on: a new endpoint of its
// user, or of its profile.
func keyTarget(k holdfast.ActivationKey) holdfast.Entity {
	props := map[string]any{"workload": endpointWorkload}
	if k.UserID != "" {
		props["user_id"] = k.UserID
	} else {
		props["profile_id"] = k.ProfileID
	}
	return holdfast.Entity{Type: holdfast.ResourceDevice, Properties: props}
}

func newSecret() (holdfast.Secret, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("activation key: %w", err)
	}
	return holdfast.Secret(keyPrefix + base64.RawURLEncoding.EncodeToString(b)), nil
}

func hashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// KeyFilter narrows ListKeys; empty members do not filter.
type KeyFilter struct {
	Kind, UserID, ProfileID string
}

// ListKeys returns one page of the activation keys and deployment tokens
// p may see (users.download_auth_keys), oldest first, inside p's profile
// scope (a user key by its user's profile); an administrator whose
// workloads leave out endpoints sees none. Secrets are never listed.
func (s *Service) ListKeys(ctx context.Context, p holdfast.Principal, f KeyFilter, page holdfast.Page) (holdfast.Paged[holdfast.ActivationKey], error) {
	empty := holdfast.Paged[holdfast.ActivationKey]{Items: []holdfast.ActivationKey{}}
	if f.Kind != "" && f.Kind != holdfast.ActivationUser && f.Kind != holdfast.ActivationDeployment {
		var v holdfast.ValidationError
		v.Add("kind", "must be %s or %s", holdfast.ActivationUser, holdfast.ActivationDeployment)
		return empty, v.Err()
	}
	if err := page.Validate(); err != nil {
		return empty, err
	}
	if ok, err := s.run.Allowed(ctx, p, change.Check{Right: rightKeys, Resource: deviceEntity("")}); !ok || err != nil {
		return empty, err
	}
	profiles, workloads, err := s.scope.Scope(ctx, p)
	if err != nil || (workloads != nil && !slices.Contains(workloads, endpointWorkload)) {
		return empty, err
	}
	kf := holdfast.ActivationKeyFilter{Kind: f.Kind, UserID: f.UserID, ProfileID: f.ProfileID, ProfileIDs: profiles}
	return s.store.PageActivationKeys(ctx, p.AccountID, kf, page)
}

// RevokeKey revokes key id at once (users.download_auth_keys on its
// target); revoking a revoked key keeps its first revocation. Audited as
// activation_key.revoke.
func (s *Service) RevokeKey(ctx context.Context, p holdfast.Principal, id string) (holdfast.ActivationKey, error) {
	k, err := s.store.GetActivationKey(ctx, p.AccountID, id)
	if err != nil {
		return k, err
	}
	c := change.Change{Action: "activation_key.revoke", ResourceType: ResourceActivationKey, ResourceID: id,
		Checks: []change.Check{{Right: rightKeys, Resource: keyTarget(k)}}}
	_, err = s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.RevokeActivationKey(ctx, p.AccountID, id, s.run.Now()); err != nil {
			return "", nil, err
		}
		if k, err = tx.GetActivationKey(ctx, p.AccountID, id); err != nil {
			return "", nil, err
		}
		return id, map[string]any{"kind": k.Kind, "user_id": k.UserID, "profile_id": k.ProfileID, "prefix": k.Prefix}, nil
	})
	return k, err
}

// CheckKey is what activation asks of a secret a client presents: the
// key it names, if it is known, not revoked and not expired by the
// service's clock. Every other case is the same ErrUnauthenticated, and
// the stored hash is compared in constant time.
func (s *Service) CheckKey(ctx context.Context, secret string) (holdfast.ActivationKey, error) {
	bad := fmt.Errorf("%w: the activation key is unknown, revoked or expired", holdfast.ErrUnauthenticated)
	if !strings.HasPrefix(secret, keyPrefix) {
		return holdfast.ActivationKey{}, bad
	}
	h := hashSecret(secret)
	k, err := s.store.GetActivationKeyByHash(ctx, h)
	if err != nil {
		if errors.Is(err, holdfast.ErrNotFound) {
			return holdfast.ActivationKey{}, bad
		}
		return holdfast.ActivationKey{}, err
	}
	if subtle.ConstantTimeCompare(k.Hash, h) != 1 || !k.Usable(s.run.Now()) {
		return holdfast.ActivationKey{}, bad
	}
	return k, nil
}
