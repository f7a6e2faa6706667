package authz

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/holdfast/holdfast"
)

// reader is the part of the metadata store the resolver reads.
type reader interface {
	GetAccount(ctx context.Context, id string) (holdfast.Account, error)
	GetAdmin(ctx context.Context, accountID, id string) (holdfast.Administrator, error)
	GetAdminByEmail(ctx context.Context, email string) (holdfast.Administrator, error)
	GetRole(ctx context.Context, accountID, id string) (holdfast.Role, error)
	GetUser(ctx context.Context, accountID, id string) (holdfast.User, error)
	GetDevice(ctx context.Context, accountID, id string) (holdfast.Device, error)
	GetProfile(ctx context.Context, accountID, id string) (holdfast.Profile, error)
	GetHold(ctx context.Context, accountID, id string) (holdfast.LegalHold, error)
	GetHoldType(ctx context.Context, accountID, id string) (holdfast.LegalHoldType, error)
	ListDevices(ctx context.Context, accountID, userID string) ([]holdfast.Device, error)
	HoldsForUser(ctx context.Context, accountID, userID string) ([]holdfast.LegalHold, error)
	CountAdminsWithRole(ctx context.Context, accountID, roleID string) (int, error)
}

// maxAttrEntries bounds one account's attribute cache; past it the cache
// starts over.
const maxAttrEntries = 200000

// attrCaches memoizes the attribute reads of decisions per account and data
// revision. An entry read after the revision was read is at least as new as
// that revision, and every write moves the revision on, so a snapshot never
// answers with data older than its key: a cache miss on the decision cache
// no longer costs a store round trip per attribute when the data did not
// change.
type attrCaches struct {
	mu       sync.Mutex // guards accounts
	accounts map[string]*attrSnapshot
}

func newAttrCaches() *attrCaches { return &attrCaches{accounts: make(map[string]*attrSnapshot)} }

// at returns the snapshot of accountID at data revision rev, starting a new
// one when the revision moved.
func (c *attrCaches) at(store reader, accountID string, rev int64) *attrSnapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.accounts[accountID]
	if s == nil || s.rev != rev {
		if s != nil && s.rev > rev {
			// A reader that saw an older revision gets its own, unshared
			// snapshot; the newer one stays.
			return newAttrSnapshot(store, accountID, rev)
		}
		s = newAttrSnapshot(store, accountID, rev)
		c.accounts[accountID] = s
	}
	return s
}

type attrEntry struct {
	v   any
	err error // nil or a not-found error
}

// attrSnapshot reads through to the store and remembers answers (found
// values and not-found errors) of one account at one revision. Reads of
// another account go straight to the store. Safe for concurrent use.
type attrSnapshot struct {
	store     reader
	accountID string
	rev       int64
	mu        sync.RWMutex // guards entries
	entries   map[string]attrEntry
}

var _ reader = (*attrSnapshot)(nil)

// newAttrSnapshot returns an empty snapshot of accountID at revision rev
// over store: shared through attrCaches, or private to one batch when the
// attribute cache is off.
func newAttrSnapshot(store reader, accountID string, rev int64) *attrSnapshot {
	return &attrSnapshot{store: store, accountID: accountID, rev: rev, entries: make(map[string]attrEntry)}
}

// rememberLocked stores an answer under key; s.mu must be held.
func (s *attrSnapshot) rememberLocked(key string, v any, err error) {
	if len(s.entries) >= maxAttrEntries {
		s.entries = make(map[string]attrEntry)
	}
	s.entries[key] = attrEntry{v: v, err: err}
}

func memo[T any](s *attrSnapshot, accountID, key string, load func() (T, error)) (T, error) {
	if accountID != s.accountID {
		return load()
	}
	s.mu.RLock()
	e, ok := s.entries[key]
	s.mu.RUnlock()
	if ok {
		if e.err != nil {
			var zero T
			return zero, e.err
		}
		return e.v.(T), nil
	}
	v, err := load()
	if err != nil && !errors.Is(err, holdfast.ErrNotFound) {
		return v, err
	}
	s.mu.Lock()
	s.rememberLocked(key, v, err)
	s.mu.Unlock()
	return v, err
}

func key(kind string, parts ...string) string { return kind + "\x00" + strings.Join(parts, "\x00") }

func (s *attrSnapshot) GetAccount(ctx context.Context, id string) (holdfast.Account, error) {
	return memo(s, id, key("account"), func() (holdfast.Account, error) { return s.store.GetAccount(ctx, id) })
}

func (s *attrSnapshot) GetAdmin(ctx context.Context, accountID, id string) (holdfast.Administrator, error) {
	return memo(s, accountID, key("admin", id), func() (holdfast.Administrator, error) { return s.store.GetAdmin(ctx, accountID, id) })
}

func (s *attrSnapshot) GetAdminByEmail(ctx context.Context, email string) (holdfast.Administrator, error) {
	a, err := memo(s, s.accountID, key("admin-email", strings.ToLower(email)), func() (holdfast.Administrator, error) {
		return s.store.GetAdminByEmail(ctx, email)
	})
	return a, err
}

func (s *attrSnapshot) GetRole(ctx context.Context, accountID, id string) (holdfast.Role, error) {
	return memo(s, accountID, key("role", id), func() (holdfast.Role, error) { return s.store.GetRole(ctx, accountID, id) })
}

func (s *attrSnapshot) GetUser(ctx context.Context, accountID, id string) (holdfast.User, error) {
	return memo(s, accountID, key("user", id), func() (holdfast.User, error) { return s.store.GetUser(ctx, accountID, id) })
}

func (s *attrSnapshot) GetDevice(ctx context.Context, accountID, id string) (holdfast.Device, error) {
	return memo(s, accountID, key("device", id), func() (holdfast.Device, error) { return s.store.GetDevice(ctx, accountID, id) })
}

func (s *attrSnapshot) GetProfile(ctx context.Context, accountID, id string) (holdfast.Profile, error) {
	return memo(s, accountID, key("profile", id), func() (holdfast.Profile, error) { return s.store.GetProfile(ctx, accountID, id) })
}

func (s *attrSnapshot) GetHold(ctx context.Context, accountID, id string) (holdfast.LegalHold, error) {
	return memo(s, accountID, key("hold", id), func() (holdfast.LegalHold, error) { return s.store.GetHold(ctx, accountID, id) })
}

func (s *attrSnapshot) GetHoldType(ctx context.Context, accountID, id string) (holdfast.LegalHoldType, error) {
	return memo(s, accountID, key("hold-type", id), func() (holdfast.LegalHoldType, error) { return s.store.GetHoldType(ctx, accountID, id) })
}

func (s *attrSnapshot) ListDevices(ctx context.Context, accountID, userID string) ([]holdfast.Device, error) {
	return memo(s, accountID, key("devices", userID), func() ([]holdfast.Device, error) { return s.store.ListDevices(ctx, accountID, userID) })
}

func (s *attrSnapshot) HoldsForUser(ctx context.Context, accountID, userID string) ([]holdfast.LegalHold, error) {
	return memo(s, accountID, key("holds", userID), func() ([]holdfast.LegalHold, error) { return s.store.HoldsForUser(ctx, accountID, userID) })
}

func (s *attrSnapshot) CountAdminsWithRole(ctx context.Context, accountID, roleID string) (int, error) {
	return memo(s, accountID, key("role-count", roleID), func() (int, error) { return s.store.CountAdminsWithRole(ctx, accountID, roleID) })
}
