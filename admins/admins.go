// Package admins is the domain service of the people who manage an
// account (rights-and-roles.md sections 4 to 6): administrators and who
// may create, edit, disable or delete whom; roles, custom and predefined,
// and their editing; the account's settings; the caller's own API tokens;
// and the reading of the account's audit trail.
//
// Every method takes the caller's principal, asks the engine (the
// hierarchy of administrators and roles is policy data, decided there),
// applies the rules of its nouns, and writes its change together with its
// audit record in one transaction (package change): a refusal changes
// nothing, and a change whose record cannot be written is not made. Errors
// are the root package's sentinels. The same service serves the API, the
// console and the command line.
package admins

import (
	"context"
	"errors"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/lockout"
	"github.com/holdfast/holdfast/policies"
)

// Engine is the part of the decision engine (*authz.Engine) the service
// reads roles and the catalog from. Implementations must be safe for
// concurrent use.
type Engine interface {
	// Roles lists the account's roles (available catalog roles with the
	// account's edits, then custom roles), each with its effective rights.
	Roles(ctx context.Context, accountID string) ([]holdfast.Role, error)
	// Role returns one role of the account; missing: ErrNotFound.
	Role(ctx context.Context, accountID, id string) (holdfast.Role, error)
	// SaveRoleRights replaces the grants of a stored role through tx.
	SaveRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string, rights []string) error
	// DeleteRoleRights removes the grants of a stored role through tx.
	DeleteRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string) error
	// Catalog is the rights catalog the engine decides with.
	Catalog() *policies.Catalog
}

// VoidFunc ends every way in of an administrator who is being disabled or
// deleted (sessions, API tokens, reset and invitation links), through tx
// at now. It belongs to the identity side; nil voids API tokens only.
type VoidFunc func(ctx context.Context, tx holdfast.MetaStore, a holdfast.Administrator, now time.Time) error

// Options configure a Service.
type Options struct {
	Changes *change.Runner // required: decides, audits and applies
	Engine  Engine         // required
	// Void ends the credentials of a disabled or deleted administrator.
	Void VoidFunc
	// Verifier checks the audit trail's MACs and checkpoints; nil:
	// VerifyAudit is ErrUnavailable.
	Verifier *audit.Service
}

// Service is the administrators, roles and account domain service. It is
// safe for concurrent use.
type Service struct {
	changes *change.Runner
	store   holdfast.MetaStore
	engine  Engine
	guard   *lockout.Guard
	void    VoidFunc
	verify  *audit.Service
}

// New returns the service over opts.
func New(opts Options) (*Service, error) {
	if opts.Changes == nil || opts.Engine == nil {
		return nil, errors.New("admins: a change runner and an engine are required")
	}
	rules := opts.Engine.Catalog().Rules
	s := &Service{
		changes: opts.Changes,
		store:   opts.Changes.Store(),
		engine:  opts.Engine,
		guard:   lockout.New(opts.Engine, rules.PlatformAdminRight, rules.FailsafeRight),
		void:    opts.Void,
		verify:  opts.Verifier,
	}
	if s.void == nil {
		s.void = revokeTokens
	}
	return s, nil
}

// revokeTokens is the VoidFunc without an identity side: it revokes the
// administrator's API tokens.
func revokeTokens(ctx context.Context, tx holdfast.MetaStore, a holdfast.Administrator, now time.Time) error {
	tokens, err := tx.ListTokens(ctx, a.AccountID, a.ID)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if t.RevokedAt == nil {
			if err := tx.RevokeToken(ctx, a.AccountID, t.ID, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// view asks the engine whether p may use right on resource; a refusal is
// a *holdfast.DeniedError.
func (s *Service) view(ctx context.Context, p holdfast.Principal, right string, resource holdfast.Entity) error {
	_, err := s.changes.Decide(ctx, p, change.Check{Right: right, Resource: resource})
	return err
}

// accountEntity is p's account as a decision resource, for questions
// about a collection rather than one item.
func accountEntity(p holdfast.Principal) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceAccount, ID: p.AccountID}
}

// nonNil makes a nil list encode as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
