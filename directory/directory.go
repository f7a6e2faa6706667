// Package directory is the domain service of the people and machines an
// account backs up: users, their devices, and the profiles that group
// them (rights-and-roles.md, users and profiles). Every method takes the
// caller's principal, asks the authorizer, applies the rules, and writes
// the change with its audit record in one transaction (audit-or-refuse).
// The API, the console and SCIM call the same methods.
package directory

import (
	"context"
	"errors"
	"slices"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// Workload is a workload of the catalog: a device's workload must be one,
// and a scope naming a parent covers its sub-apps.
type Workload struct {
	ID, Parent string
}

// Roles finds an administrator's role, for the scope a list is narrowed
// to.
type Roles interface {
	Role(ctx context.Context, accountID, id string) (holdfast.Role, error)
}

// Options configure a Service.
type Options struct {
	Runner    *change.Runner // required: decides, audits and applies
	Roles     Roles          // required
	Workloads []Workload     // the catalog's
}

// Service is the directory domain service. It is safe for concurrent use.
type Service struct {
	run       *change.Runner
	store     holdfast.MetaStore
	roles     Roles
	workloads []Workload
}

// New returns the service over opts.
func New(opts Options) *Service {
	return &Service{run: opts.Runner, store: opts.Runner.Store(), roles: opts.Roles, workloads: opts.Workloads}
}

// WorkloadIDs are the ids of the catalog's workloads.
func (s *Service) WorkloadIDs() []string {
	ids := make([]string, 0, len(s.workloads))
	for _, w := range s.workloads {
		ids = append(ids, w.ID)
	}
	return ids
}

// KnownWorkload reports whether id is a workload of the catalog.
func (s *Service) KnownWorkload(id string) bool {
	return slices.ContainsFunc(s.workloads, func(w Workload) bool { return w.ID == id })
}

// scope is what an administrator's role confines it to; a nil slice does
// not confine.
type scope struct {
	profiles  []string
	workloads []string // with the sub-apps of every parent named
}

// scopeOf returns the profiles and workloads p's role is confined to. It
// narrows list queries, so pages and totals count only what the engine
// would let p see; single items are still decided by the engine.
func (s *Service) scopeOf(ctx context.Context, p holdfast.Principal) (scope, error) {
	admin, err := s.store.GetAdmin(ctx, p.AccountID, p.AdminID)
	if err != nil {
		return scope{}, err
	}
	role, err := s.roles.Role(ctx, p.AccountID, admin.RoleID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return scope{profiles: []string{}, workloads: []string{}}, nil // the engine refuses everything anyway
	}
	if err != nil {
		return scope{}, err
	}
	var sc scope
	if slices.Contains(role.Scope, holdfast.ScopeProfile) && !admin.Scopes.AllProfiles {
		sc.profiles = append([]string{}, admin.Scopes.Profiles...)
	}
	if slices.Contains(role.Scope, holdfast.ScopeWorkload) && !admin.Scopes.AllWorkloads {
		sc.workloads = s.covered(admin.Scopes.Workloads)
	}
	return sc, nil
}

// Scope returns the profiles and workloads p's role confines it to (nil:
// not confined; a parent workload's sub-apps included), for the paged
// queries of other services over users' devices and data.
func (s *Service) Scope(ctx context.Context, p holdfast.Principal) (profiles, workloads []string, err error) {
	sc, err := s.scopeOf(ctx, p)
	return sc.profiles, sc.workloads, err
}

// covered returns the workloads a scope naming ids reaches: each of them
// and the sub-apps of each parent among them.
func (s *Service) covered(ids []string) []string {
	out := append([]string{}, ids...)
	for _, w := range s.workloads {
		if w.Parent != "" && slices.Contains(ids, w.Parent) && !slices.Contains(out, w.ID) {
			out = append(out, w.ID)
		}
	}
	return out
}

// narrow returns the profiles a list may show: the scope's, only want
// when it is set (none when want is outside the scope).
func (sc scope) narrow(want string) []string {
	switch {
	case want == "":
		return sc.profiles
	case sc.profiles != nil && !slices.Contains(sc.profiles, want):
		return []string{}
	}
	return []string{want}
}

// visible decides right over the collection resource r for p: a refusal is
// (false, nil), so a list the caller may not see is empty.
func (s *Service) visible(ctx context.Context, p holdfast.Principal, right string, r holdfast.Entity) (bool, error) {
	return s.run.Allowed(ctx, p, change.Check{Right: right, Resource: r})
}

// isDenied reports whether err is a refusal by the engine.
func isDenied(err error) bool { return change.IsDenied(err) }

// decide asks the engine whether p may use right on r.
func (s *Service) decide(ctx context.Context, p holdfast.Principal, right string, r holdfast.Entity) error {
	_, err := s.run.Decide(ctx, p, change.Check{Right: right, Resource: r})
	return err
}

// set copies src over dst when it differs, recording the change in detail.
func set(detail map[string]any, field string, dst, src *string) {
	if src != nil && *dst != *src {
		detail[field] = map[string]string{"from": *dst, "to": *src}
		*dst = *src
	}
}

// invalidField returns a ValidationError for one field.
func invalidField(field, format string, args ...any) error {
	var v holdfast.ValidationError
	v.Add(field, format, args...)
	return &v
}

// userEntity is a user as a decision resource.
func userEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceUser, ID: id, Properties: props}
}

// deviceEntity is a device as a decision resource.
func deviceEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceDevice, ID: id, Properties: props}
}

// profileEntity is a profile as a decision resource.
func profileEntity(id string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceProfile, ID: id}
}
