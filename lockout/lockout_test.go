package lockout_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/lockout"
	"github.com/holdfast/holdfast/storage/postgres"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// Rights of the catalog's rules (policies/catalog.yaml).
const (
	platformRight = "account.platform_admins.manage"
	failsafeRight = "account.failsafe_login"
)

func sqliteStore(tb testing.TB) holdfast.MetaStore {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "holdfast.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// postgresStore opens the server of HOLDFAST_TEST_POSTGRES_URL; each test
// works in an account of its own, so the database can be shared.
func postgresStore(tb testing.TB) holdfast.MetaStore {
	tb.Helper()
	dsn := os.Getenv("HOLDFAST_TEST_POSTGRES_URL")
	if dsn == "" {
		storagetest.SkipOrFail(tb, "postgres", "HOLDFAST_TEST_POSTGRES_URL not set")
	}
	s, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		storagetest.SkipOrFail(tb, "postgres", "open: "+err.Error())
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// newAccount creates an account (SSO enforced or not) with one active
// administrator per role given.
func newAccount(tb testing.TB, store holdfast.MetaStore, sso bool, roles ...string) (holdfast.Account, []holdfast.Administrator) {
	tb.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	acct := holdfast.Account{Name: "Acme", Edition: holdfast.EditionElite, Addons: []string{}, Settings: holdfast.DefaultAccountSettings(),
		CreatedAt: now, UpdatedAt: now}
	acct.Settings.SSOEnforced = sso
	if err := store.CreateAccount(ctx, &acct); err != nil {
		tb.Fatal(err)
	}
	var admins []holdfast.Administrator
	for i, role := range roles {
		a := holdfast.Administrator{AccountID: acct.ID, Name: role, Email: strings.ToLower(acct.ID) + "-" + string(rune('a'+i)) + "@example.com",
			RoleID: role, State: holdfast.AdminActive, CreatedAt: now, UpdatedAt: now}
		if err := store.CreateAdmin(ctx, &a); err != nil {
			tb.Fatal(err)
		}
		admins = append(admins, a)
	}
	return acct, admins
}

// fakeRoles serves fixed roles, so that a role may hold the platform
// right without the fail-safe one (no catalog role does).
type fakeRoles []holdfast.Role

func (f fakeRoles) Roles(context.Context, string) ([]holdfast.Role, error) { return f, nil }

var testRoles = fakeRoles{
	{ID: "owner", Rights: []string{platformRight, failsafeRight}},
	{ID: "sso_owner", Rights: []string{platformRight}},
	{ID: "helper", Rights: []string{"users.view", failsafeRight}},
}

// change runs fn and then the rule's check in one transaction.
func change(store holdfast.MetaStore, g *lockout.Guard, accountID string, fn func(tx holdfast.MetaStore) error) error {
	ctx := context.Background()
	rule, err := g.Rule(ctx, accountID)
	if err != nil {
		return err
	}
	return store.Tx(ctx, func(tx holdfast.MetaStore) error {
		if err := fn(tx); err != nil {
			return err
		}
		return rule.Check(ctx, tx, "this change")
	})
}

func setState(ctx context.Context, a holdfast.Administrator, st holdfast.AdminState) func(tx holdfast.MetaStore) error {
	return func(tx holdfast.MetaStore) error {
		a.State = st
		return tx.UpdateAdmin(ctx, &a)
	}
}

func TestCheck(t *testing.T) {
	ctx := context.Background()
	g := lockout.New(testRoles, platformRight, failsafeRight)
	tests := []struct {
		name  string
		sso   bool
		roles []string
		fn    func(admins []holdfast.Administrator) func(tx holdfast.MetaStore) error
		want  string // "" allowed, else part of the refusal
	}{
		{"disable the last one", false, []string{"owner", "helper"},
			func(a []holdfast.Administrator) func(holdfast.MetaStore) error {
				return setState(ctx, a[0], holdfast.AdminDisabled)
			},
			"without an active platform administrator"},
		{"disable one of two", false, []string{"owner", "sso_owner"},
			func(a []holdfast.Administrator) func(holdfast.MetaStore) error {
				return setState(ctx, a[0], holdfast.AdminDisabled)
			},
			""},
		{"delete the last one", false, []string{"owner"},
			func(a []holdfast.Administrator) func(holdfast.MetaStore) error {
				return func(tx holdfast.MetaStore) error { return tx.DeleteAdmin(ctx, a[0].AccountID, a[0].ID) }
			}, "without an active platform administrator"},
		{"demote the last one", false, []string{"owner"},
			func(a []holdfast.Administrator) func(holdfast.MetaStore) error {
				return func(tx holdfast.MetaStore) error {
					a[0].RoleID = "helper"
					return tx.UpdateAdmin(ctx, &a[0])
				}
			}, "without an active platform administrator"},
		{"enforce SSO when no platform administrator has the fail-safe right", false, []string{"sso_owner", "helper"},
			func(a []holdfast.Administrator) func(holdfast.MetaStore) error {
				return enforceSSO(ctx, a[0].AccountID)
			},
			"fail-safe password"},
		{"enforce SSO with a fail-safe platform administrator", false, []string{"owner", "sso_owner"},
			func(a []holdfast.Administrator) func(holdfast.MetaStore) error {
				return enforceSSO(ctx, a[0].AccountID)
			},
			""},
		{"under SSO, disable the last fail-safe one", true, []string{"owner", "sso_owner"},
			func(a []holdfast.Administrator) func(holdfast.MetaStore) error {
				return setState(ctx, a[0], holdfast.AdminDisabled)
			},
			"fail-safe password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := sqliteStore(t)
			acct, admins := newAccount(t, store, tt.sso, tt.roles...)
			before, err := store.ListAdmins(ctx, acct.ID, holdfast.AdminFilter{})
			if err != nil {
				t.Fatal(err)
			}
			err = change(store, g, acct.ID, tt.fn(admins))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if !errors.Is(err, holdfast.ErrConflict) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrConflict saying %q", err, tt.want)
			}
			after, err := store.ListAdmins(ctx, acct.ID, holdfast.AdminFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(after) != len(before) || after[0].State != before[0].State || after[0].RoleID != before[0].RoleID {
				t.Errorf("a refused change was written: %+v -> %+v", before, after)
			}
			got, err := store.GetAccount(ctx, acct.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Settings.SSOEnforced != tt.sso {
				t.Errorf("a refused change was written: sso_enforced %v", got.Settings.SSOEnforced)
			}
		})
	}
}

func enforceSSO(ctx context.Context, accountID string) func(tx holdfast.MetaStore) error {
	return func(tx holdfast.MetaStore) error {
		a, err := tx.GetAccount(ctx, accountID)
		if err != nil {
			return err
		}
		a.Settings.SSOEnforced = true
		return tx.UpdateAccount(ctx, &a)
	}
}

// TestCatalogMakesPlatformAdministrators runs the rule over the real
// engine and catalog: the predefined platform administrator counts, a
// cloud administrator does not.
func TestCatalogMakesPlatformAdministrators(t *testing.T) {
	ctx := context.Background()
	store := sqliteStore(t)
	engine, err := authz.New(ctx, authz.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	rules := engine.Catalog().Rules
	g := lockout.New(engine, rules.PlatformAdminRight, rules.FailsafeRight)
	acct, admins := newAccount(t, store, true, "platform_admin", "cloud_admin")
	if err := change(store, g, acct.ID, setState(ctx, admins[1], holdfast.AdminDisabled)); err != nil {
		t.Fatalf("disabling the cloud administrator: %v", err)
	}
	if err := change(store, g, acct.ID, setState(ctx, admins[0], holdfast.AdminDisabled)); !errors.Is(err, holdfast.ErrConflict) {
		t.Fatalf("disabling the platform administrator: %v, want ErrConflict", err)
	}
	rule, err := g.Rule(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := rule.RecoveryRole(); err != nil || id != admins[0].RoleID {
		t.Errorf("RecoveryRole = %q, %v; want %q", id, err, admins[0].RoleID)
	}
}

// TestConcurrentDisables disables both platform administrators at once, in
// two transactions: exactly one may win, on every backend.
func TestConcurrentDisables(t *testing.T) {
	for name, open := range map[string]func(testing.TB) holdfast.MetaStore{"sqlite": sqliteStore, "postgres": postgresStore} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			store := open(t)
			g := lockout.New(testRoles, platformRight, failsafeRight)
			for round := range 5 {
				acct, admins := newAccount(t, store, false, "owner", "owner")
				var wg sync.WaitGroup
				errs := make([]error, 2)
				for i, a := range admins {
					wg.Go(func() { errs[i] = change(store, g, acct.ID, setState(ctx, a, holdfast.AdminDisabled)) })
				}
				wg.Wait()
				ok := 0
				for _, err := range errs {
					if err == nil {
						ok++
					} else if !errors.Is(err, holdfast.ErrConflict) {
						t.Fatalf("round %d: %v", round, err)
					}
				}
				active, err := store.ListAdmins(ctx, acct.ID, holdfast.AdminFilter{State: holdfast.AdminActive})
				if err != nil {
					t.Fatal(err)
				}
				if ok != 1 || len(active) != 1 {
					t.Fatalf("round %d: %d changes passed, %d administrators active; want 1 and 1 (%v)", round, ok, len(active), errs)
				}
			}
		})
	}
}
