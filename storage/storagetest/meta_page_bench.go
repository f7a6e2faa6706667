package storagetest

import (
	"fmt"
	"testing"

	"github.com/holdfast/holdfast"
)

// BenchmarkPageDevices measures one page (the default size) of an
// account's devices when it has n of them: the first page, a page deep in
// the list, and a page for an administrator scoped to one profile and one
// workload. The devices are written with one SQL statement, so open must
// return a store that implements DBer.
func BenchmarkPageDevices(b *testing.B, open func(b *testing.B) holdfast.MetaStore, n int) {
	s := open(b)
	ctx := b.Context()
	dber, ok := s.(DBer)
	if !ok {
		b.Skip("the store does not expose its database")
	}
	acct := metaNewAccount(b, s).ID
	profiles := []holdfast.Profile{{AccountID: acct, Name: "Sales"}, {AccountID: acct, Name: "Ops"}}
	const users = 1000
	for i := range profiles {
		metaMust(b, s.CreateProfile(ctx, &profiles[i]))
	}
	for i := range users {
		u := holdfast.User{AccountID: acct, ID: fmt.Sprintf("usr_bench_%d", i), Name: fmt.Sprintf("User %d", i),
			Email: fmt.Sprintf("user%d@example.com", i), ProfileID: profiles[i%2].ID, State: holdfast.UserActive}
		metaMust(b, s.CreateUser(ctx, &u))
	}
	_, err := dber.DB().ExecContext(ctx, fmt.Sprintf(`INSERT INTO devices
		(account_id, id, user_id, name, kind, workload, platform, state, created_at, updated_at)
		SELECT '%s', 'dev_bench_' || CAST(i AS TEXT), 'usr_bench_' || CAST(i %% %d AS TEXT), 'Device ' || CAST(i AS TEXT),
			'endpoint', CASE WHEN i %% 3 = 0 THEN 'onedrive' ELSE 'endpoints' END, 'linux', 'enabled', 0, 0
		FROM (WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < %d) SELECT i FROM g) AS seq`,
		acct, users, n-1))
	metaMust(b, err)
	first, err := s.PageDevices(ctx, acct, holdfast.DeviceFilter{}, holdfast.Page{})
	metaMust(b, err)
	if first.Total != n {
		b.Fatalf("total %d, want %d", first.Total, n)
	}
	// "Device 5" sorts about halfway through "Device 0" ... "Device 334999".
	deep := holdfast.EncodeCursor("Device 5", "dev_bench_5")
	scoped := holdfast.DeviceFilter{ProfileIDs: []string{profiles[0].ID}, Workloads: []string{"endpoints"}}
	for _, c := range []struct {
		name string
		f    holdfast.DeviceFilter
		p    holdfast.Page
	}{{"first", holdfast.DeviceFilter{}, holdfast.Page{}}, {"deep", holdfast.DeviceFilter{}, holdfast.Page{Cursor: deep}},
		{"scoped", scoped, holdfast.Page{}}} {
		b.Run(fmt.Sprintf("%s/n=%d", c.name, n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, err := s.PageDevices(ctx, acct, c.f, c.p)
				if err != nil {
					b.Fatal(err)
				}
				if len(got.Items) != holdfast.DefaultPageSize {
					b.Fatalf("%d devices on the page, want %d", len(got.Items), holdfast.DefaultPageSize)
				}
			}
		})
	}
}
