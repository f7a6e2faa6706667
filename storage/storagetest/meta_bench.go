package storagetest

import (
	"context"
	"testing"

	"github.com/holdfast/holdfast"
)

// BenchmarkMetaStore benchmarks the store's hot paths: the revisions a
// decision reads on every request to key its cache, the reads it makes on
// a cache miss, and audit appends (every write). open is as for
// TestMetaStore.
func BenchmarkMetaStore(b *testing.B, open func(b *testing.B) holdfast.MetaStore) {
	// Reads share one store and fixture: they change nothing.
	s := open(b)
	f := metaNewBenchFixture(b, s)
	read := func(name string, fn func(ctx context.Context) error) {
		b.Run(name, func(b *testing.B) {
			ctx := b.Context()
			// One call outside the loop so a lazily filled cache is warm,
			// as it is for a serving process.
			if err := fn(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := fn(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	read("Revision", func(ctx context.Context) error { _, err := s.Revision(ctx, f.account.ID); return err })
	read("PolicyRevision", func(ctx context.Context) error { _, err := s.PolicyRevision(ctx); return err })
	read("GetAccount", func(ctx context.Context) error { _, err := s.GetAccount(ctx, f.account.ID); return err })
	read("GetAdmin", func(ctx context.Context) error { _, err := s.GetAdmin(ctx, f.account.ID, f.admin.ID); return err })
	read("GetRole", func(ctx context.Context) error { _, err := s.GetRole(ctx, f.account.ID, f.role.ID); return err })
	read("GetProfile", func(ctx context.Context) error { _, err := s.GetProfile(ctx, f.account.ID, f.profile.ID); return err })
	read("GetUser", func(ctx context.Context) error { _, err := s.GetUser(ctx, f.account.ID, f.user.ID); return err })
	read("ListDevices", func(ctx context.Context) error {
		_, err := s.ListDevices(ctx, f.account.ID, f.user.ID)
		return err
	})
	read("HoldsForUser", func(ctx context.Context) error {
		_, err := s.HoldsForUser(ctx, f.account.ID, f.user.ID)
		return err
	})
	b.Run("RevisionParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Revision(b.Context(), f.account.ID); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("AppendAudit", func(b *testing.B) {
		s := open(b)
		acct := metaNewAccount(b, s).ID
		b.ReportAllocs()
		for b.Loop() {
			r := holdfast.AuditRecord{AccountID: acct, Action: "bench", ResourceType: holdfast.ResourceUser, ResourceID: "u1"}
			if err := s.AppendAudit(b.Context(), &r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("AppendAuditParallel", func(b *testing.B) {
		s := open(b)
		acct := metaNewAccount(b, s).ID
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r := holdfast.AuditRecord{AccountID: acct, Action: "bench"}
				if err := s.AppendAudit(b.Context(), &r); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// metaBenchFixture is a fixture with the rows a decision reads filled in
// as a real account has them: scopes, rights, workloads, devices and holds.
type metaBenchFixture struct {
	metaFixture
	role holdfast.Role
}

// metaNewBenchFixture creates a metaBenchFixture.
func metaNewBenchFixture(tb testing.TB, s holdfast.MetaStore) metaBenchFixture {
	tb.Helper()
	ctx := context.Background()
	f := metaBenchFixture{metaFixture: metaNewFixture(tb, s)}
	acct := f.account.ID
	f.role = holdfast.Role{AccountID: acct, Name: "Bench", Product: "insync",
		Scope: []string{holdfast.ScopeProfile, holdfast.ScopeWorkload}, Rights: []string{"admin.view", "admin.edit", "user.view", "user.edit", "device.view", "hold.view"}}
	metaMust(tb, s.CreateRole(ctx, &f.role))
	f.admin.RoleID = f.role.ID
	f.admin.Scopes = holdfast.Scopes{Profiles: []string{f.profile.ID}, Workloads: []string{"exchange_online", "onedrive"}}
	metaMust(tb, s.UpdateAdmin(ctx, &f.admin))
	for _, name := range []string{"laptop", "phone", "tablet"} {
		d := holdfast.Device{AccountID: acct, UserID: f.user.ID, Name: name, Kind: "endpoint"}
		metaMust(tb, s.CreateDevice(ctx, &d))
	}
	metaMust(tb, s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: f.hold.ID, UserID: f.user.ID}))
	return f
}
