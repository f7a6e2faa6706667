package authz_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// bigAccount is an account at the scale of issue 2's speed goals: many
// administrators bound to many custom roles, with profiles, users, devices
// and holds for the resources.
type bigAccount struct {
	store  holdfast.MetaStore
	acct   holdfast.Account
	admins []string // administrator ids
	users  []string
	devs   []string
}

// newBigAccount creates admins administrators bound round-robin to roles
// custom roles (and the predefined roles), 100 users with a device each,
// on a fresh SQLite store.
func newBigAccount(b *testing.B, admins, roles int) *bigAccount {
	b.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "big.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	return fillBigAccount(b, store, "big", admins, roles, 100)
}

// fillBigAccount creates the account acct_<name> in store: admins
// administrators bound round-robin to roles custom roles (and the
// predefined roles), users users with a device each, every tenth on a
// legal hold. Emails carry name, so several accounts share a database.
func fillBigAccount(b *testing.B, store holdfast.MetaStore, name string, admins, roles, users int) *bigAccount {
	b.Helper()
	ctx := context.Background()
	eng, err := authz.New(ctx, authz.Options{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	big := &bigAccount{store: store, acct: holdfast.Account{ID: "acct_" + name, Name: name, Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}}
	base := []string{"users.view", "restores.view", "restores.manage", "backups.perform", "user_data.download", "legal_holds.view"}
	var profiles []string
	roleIDs := []string{"help_desk_admin", "profile_admin", "view_only_admin", "cloud_admin"}
	err = store.Tx(ctx, func(tx holdfast.MetaStore) error {
		if err := tx.CreateAccount(ctx, &big.acct); err != nil {
			return err
		}
		id := big.acct.ID
		for i := range 10 {
			p := holdfast.Profile{ID: fmt.Sprintf("prof_%d", i), AccountID: id, Name: fmt.Sprintf("Profile %d", i), Workloads: []string{"endpoints", "microsoft_365"}}
			if err := tx.CreateProfile(ctx, &p); err != nil {
				return err
			}
			profiles = append(profiles, p.ID)
		}
		lht := holdfast.LegalHoldType{ID: "lht_legal", AccountID: id, Name: "Legal", Predefined: true}
		if err := tx.CreateHoldType(ctx, &lht); err != nil {
			return err
		}
		hold := holdfast.LegalHold{ID: "hold_1", AccountID: id, Name: "Q3 audit", TypeID: lht.ID, DataAccess: holdfast.AccessAllData}
		if err := tx.CreateHold(ctx, &hold); err != nil {
			return err
		}
		for i := range roles {
			r := holdfast.Role{ID: fmt.Sprintf("role_%d", i), AccountID: id, Name: fmt.Sprintf("Custom %d", i), Product: holdfast.ProductInSync}
			if err := tx.CreateRole(ctx, &r); err != nil {
				return err
			}
			rights := slices.Clone(base[:1+i%len(base)])
			if err := eng.SaveRoleRights(ctx, tx, id, r.ID, rights); err != nil {
				return err
			}
			roleIDs = append(roleIDs, r.ID)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// Users and administrators in transactions of a few thousand, each
	// well within the store's statement timeout on a busy machine.
	inChunks(b, store, users, func(tx holdfast.MetaStore, i int) error {
		id, hold := big.acct.ID, holdfast.LegalHold{ID: "hold_1"}
		u := holdfast.User{ID: fmt.Sprintf("usr_%d", i), AccountID: id, Email: fmt.Sprintf("user%d@%s.test", i, name), Name: fmt.Sprintf("User %d", i), ProfileID: profiles[i%len(profiles)], State: holdfast.UserActive}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		d := holdfast.Device{ID: fmt.Sprintf("dev_%d", i), AccountID: id, UserID: u.ID, Name: "laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints", State: "enabled"}
		if err := tx.CreateDevice(ctx, &d); err != nil {
			return err
		}
		if i%10 == 0 {
			if err := tx.AddCustodian(ctx, id, &holdfast.Custodian{HoldID: hold.ID, UserID: u.ID}); err != nil {
				return err
			}
		}
		big.users, big.devs = append(big.users, u.ID), append(big.devs, d.ID)
		return nil
	})
	inChunks(b, store, admins, func(tx holdfast.MetaStore, i int) error {
		id := big.acct.ID
		a := holdfast.Administrator{
			ID: fmt.Sprintf("adm_%d", i), AccountID: id, Name: fmt.Sprintf("Admin %d", i), Email: fmt.Sprintf("admin%d@%s.test", i, name),
			RoleID: roleIDs[i%len(roleIDs)], State: holdfast.AdminActive, CreatedBy: "adm_0",
			Scopes: holdfast.Scopes{Profiles: profiles[:1+i%len(profiles)], AllWorkloads: true, LegalHoldTypes: []string{"lht_legal"}},
		}
		if err := tx.CreateAdmin(ctx, &a); err != nil {
			return err
		}
		big.admins = append(big.admins, a.ID)
		return nil
	})
	return big
}

// inChunks runs fn(tx, i) for i in [0, n) in transactions of 500.
func inChunks(b *testing.B, store holdfast.MetaStore, n int, fn func(tx holdfast.MetaStore, i int) error) {
	b.Helper()
	for from := 0; from < n; from += 500 {
		err := store.Tx(context.Background(), func(tx holdfast.MetaStore) error {
			for i := from; i < min(from+500, n); i++ {
				if err := fn(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// requests builds n distinct requests over the account's administrators,
// actions and devices.
func (big *bigAccount) requests(n int) []holdfast.DecisionRequest {
	actions := []string{"restores.manage", "users.view", "user_data.download", "legal_holds.view", "users.delete"}
	out := make([]holdfast.DecisionRequest, n)
	for i := range out {
		out[i] = holdfast.DecisionRequest{
			AccountID: big.acct.ID,
			Subject:   holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: big.admins[(i*7919)%len(big.admins)]},
			Action:    holdfast.Action{Name: actions[i%len(actions)]},
			Resource:  holdfast.Entity{Type: holdfast.ResourceDevice, ID: big.devs[i%len(big.devs)]},
		}
	}
	return out
}

// reportLatency adds p50 and p99 of the recorded latencies to b's output.
func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkDecideScale measures Decide on accounts of growing size:
//
//	go test -run '^$' -bench DecideScale -benchtime 20000x ./authz
//
// warm: the request was decided before (decision cache hit); uncached:
// the decision cache is off, so every decision resolves its attributes
// (from the per-revision attribute cache, filled by one pass over the
// requests before timing) and evaluates the policy (in
// Wasm, the default evaluator); uncached-topdown: the same in OPA's
// interpreter; cold: both caches are off, so every attribute is read from
// the store, as on the first decision after a change.
func BenchmarkDecideScale(b *testing.B) {
	for _, size := range []struct{ admins, roles int }{{1000, 1000}, {10000, 1000}, {100000, 1000}} {
		big := newBigAccount(b, size.admins, size.roles)
		ctx := context.Background()
		reqs := big.requests(1000)
		for _, mode := range []string{"warm", "uncached", "uncached-topdown", "cold"} {
			opts := authz.Options{Store: big.store}
			switch mode {
			case "uncached":
				opts.CacheBytes = -1
			case "uncached-topdown":
				opts.CacheBytes, opts.Evaluator = -1, authz.EvaluatorTopdown
			case "cold":
				opts.CacheBytes, opts.NoAttributeCache = -1, true
			}
			eng, err := authz.New(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			// Every mode but cold starts with its caches filled, as a
			// server is between changes: warm its decision cache, uncached
			// its attribute cache (the first pass would otherwise measure
			// store reads, which is what cold measures).
			if mode != "cold" {
				for _, r := range reqs {
					if _, err := eng.Decide(ctx, r); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.Run(fmt.Sprintf("bindings=%d/roles=%d/%s", size.admins, size.roles, mode), func(b *testing.B) {
				b.ReportAllocs()
				lat := make([]time.Duration, 0, b.N)
				i := 0
				for b.Loop() {
					start := time.Now()
					if _, err := eng.Decide(ctx, reqs[i%len(reqs)]); err != nil {
						b.Fatal(err)
					}
					lat = append(lat, time.Since(start))
					i++
				}
				reportLatency(b, lat)
			})
		}
	}
}
