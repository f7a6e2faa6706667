package storagetest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
)

// pageFixture is an account with profiles, users and devices whose names
// repeat (so pages break ties by id), and a stranger account whose rows
// must never show.
type pageFixture struct {
	acct              string
	sales, ops, empty holdfast.Profile
	profiles          []holdfast.Profile
	users             []holdfast.User
	devices           []holdfast.Device
}

func newPageFixture(t *testing.T, s holdfast.MetaStore) pageFixture {
	ctx := t.Context()
	f := pageFixture{acct: metaNewAccount(t, s).ID}
	mkProfile := func(name string, workloads ...string) holdfast.Profile {
		p := holdfast.Profile{AccountID: f.acct, Name: name, Workloads: workloads}
		metaMust(t, s.CreateProfile(ctx, &p))
		f.profiles = append(f.profiles, metaGet[holdfast.Profile](t)(s.GetProfile(ctx, f.acct, p.ID)))
		return p
	}
	f.sales, f.ops, f.empty = mkProfile("Sales", "endpoints"), mkProfile("Ops"), mkProfile("Empty")
	for i := range 4 {
		mkProfile(fmt.Sprintf("Team %d", i))
	}
	for i := range 11 {
		p := []holdfast.Profile{f.sales, f.ops}[i%2]
		state := []holdfast.UserState{holdfast.UserActive, holdfast.UserPreserved}[i%3/2]
		u := holdfast.User{AccountID: f.acct, Name: fmt.Sprintf("User %d", i%4), Email: metaUniq("u") + "@example.com",
			ProfileID: p.ID, State: state, ExternalID: fmt.Sprintf("ext-%d", i%5)}
		metaMust(t, s.CreateUser(ctx, &u))
		f.users = append(f.users, metaGet[holdfast.User](t)(s.GetUser(ctx, f.acct, u.ID)))
		for j := range i % 3 {
			d := holdfast.Device{AccountID: f.acct, UserID: u.ID, Name: fmt.Sprintf("Laptop %d", j),
				Kind: holdfast.DeviceEndpoint, Workload: []string{"endpoints", "onedrive"}[(i+j)%2], State: "enabled"}
			metaMust(t, s.CreateDevice(ctx, &d))
			f.devices = append(f.devices, metaGet[holdfast.Device](t)(s.GetDevice(ctx, f.acct, d.ID)))
		}
	}
	other := metaNewAccount(t, s).ID
	op := holdfast.Profile{AccountID: other, Name: "Sales"}
	metaMust(t, s.CreateProfile(ctx, &op))
	ou := holdfast.User{AccountID: other, Name: "User 0", Email: "stranger@example.com", ProfileID: op.ID, State: holdfast.UserActive}
	metaMust(t, s.CreateUser(ctx, &ou))
	od := holdfast.Device{AccountID: other, UserID: ou.ID, Name: "Laptop 0", Kind: holdfast.DeviceEndpoint, Workload: "endpoints", State: "enabled"}
	metaMust(t, s.CreateDevice(ctx, &od))
	return f
}

// WalkPages pages through a list with limit-sized pages and returns the
// ids in the order given and the total, failing on a repeated id, a total
// that changes between pages, a page over limit or pages that never end.
// Domain services' tests walk their paged lists with it too.
func WalkPages[T any](t *testing.T, limit int, id func(T) string, fetch func(holdfast.Page) (holdfast.Paged[T], error)) (ids []string, total int) {
	t.Helper()
	seen := map[string]bool{}
	p := holdfast.Page{Limit: limit}
	for i := 0; ; i++ {
		got, err := fetch(p)
		metaMust(t, err)
		if i == 0 {
			total = got.Total
		} else if got.Total != total {
			t.Fatalf("page %d: total %d, first page said %d", i, got.Total, total)
		}
		if len(got.Items) > limit {
			t.Fatalf("page %d: %d items, limit %d", i, len(got.Items), limit)
		}
		for _, v := range got.Items {
			if seen[id(v)] {
				t.Fatalf("page %d: %s listed twice", i, id(v))
			}
			seen[id(v)] = true
			ids = append(ids, id(v))
		}
		if got.Next == "" {
			return ids, total
		}
		if i > 1000 {
			t.Fatal("paging does not end")
		}
		p.Cursor = got.Next
	}
}

// wantIDs returns the ids of items kept by keep, by (name, id).
func wantIDs[T any](items []T, keep func(T) bool, name, id func(T) string) []string {
	kept := slices.DeleteFunc(slices.Clone(items), func(v T) bool { return !keep(v) })
	slices.SortFunc(kept, func(a, b T) int { return cmp.Or(strings.Compare(name(a), name(b)), strings.Compare(id(a), id(b))) })
	out := []string{}
	for _, v := range kept {
		out = append(out, id(v))
	}
	return out
}

func checkWalk[T any](t *testing.T, items []T, keep func(T) bool, name, id func(T) string,
	fetch func(holdfast.Page) (holdfast.Paged[T], error)) {
	t.Helper()
	want := wantIDs(items, keep, name, id)
	for _, limit := range []int{1, 3, holdfast.MaxPageSize} {
		got, total := WalkPages(t, limit, id, fetch)
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: listed %v, want %v", limit, got, want)
		}
		if total != len(want) {
			t.Errorf("limit %d: total %d, want %d", limit, total, len(want))
		}
	}
}

func testMetaPaging(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := newPageFixture(t, s)
	pName, pID := func(p holdfast.Profile) string { return p.Name }, func(p holdfast.Profile) string { return p.ID }
	uName, uID := func(u holdfast.User) string { return u.Name }, func(u holdfast.User) string { return u.ID }
	dName, dID := func(d holdfast.Device) string { return d.Name }, func(d holdfast.Device) string { return d.ID }
	profileOf := map[string]string{}
	for _, u := range f.users {
		profileOf[u.ID] = u.ProfileID
	}
	profiles := func(ids []string) func(holdfast.Page) (holdfast.Paged[holdfast.Profile], error) {
		return func(p holdfast.Page) (holdfast.Paged[holdfast.Profile], error) {
			return s.PageProfiles(ctx, f.acct, ids, p)
		}
	}
	users := func(uf holdfast.UserFilter) func(holdfast.Page) (holdfast.Paged[holdfast.User], error) {
		return func(p holdfast.Page) (holdfast.Paged[holdfast.User], error) { return s.PageUsers(ctx, f.acct, uf, p) }
	}
	devices := func(df holdfast.DeviceFilter) func(holdfast.Page) (holdfast.Paged[holdfast.Device], error) {
		return func(p holdfast.Page) (holdfast.Paged[holdfast.Device], error) {
			return s.PageDevices(ctx, f.acct, df, p)
		}
	}
	hasDevice := func(u holdfast.User, workload string) bool {
		return slices.ContainsFunc(f.devices, func(d holdfast.Device) bool {
			return d.UserID == u.ID && (workload == "" || d.Workload == workload)
		})
	}
	t.Run("profiles", func(t *testing.T) {
		checkWalk(t, f.profiles, func(holdfast.Profile) bool { return true }, pName, pID, profiles(nil))
		checkWalk(t, f.profiles, func(p holdfast.Profile) bool { return p.ID == f.ops.ID || p.ID == f.empty.ID }, pName, pID,
			profiles([]string{f.ops.ID, f.empty.ID, "prof_missing"}))
		checkWalk(t, f.profiles, func(holdfast.Profile) bool { return false }, pName, pID, profiles([]string{}))
	})
	t.Run("users", func(t *testing.T) {
		checkWalk(t, f.users, func(holdfast.User) bool { return true }, uName, uID, users(holdfast.UserFilter{}))
		checkWalk(t, f.users, func(u holdfast.User) bool { return u.ProfileID == f.sales.ID }, uName, uID,
			users(holdfast.UserFilter{ProfileIDs: []string{f.sales.ID}}))
		checkWalk(t, f.users, func(holdfast.User) bool { return false }, uName, uID, users(holdfast.UserFilter{ProfileIDs: []string{}}))
		checkWalk(t, f.users, func(u holdfast.User) bool { return u.State == holdfast.UserPreserved && u.ExternalID == "ext-2" }, uName, uID,
			users(holdfast.UserFilter{State: holdfast.UserPreserved, ExternalID: "ext-2"}))
		checkWalk(t, f.users, func(u holdfast.User) bool { return hasDevice(u, "onedrive") }, uName, uID,
			users(holdfast.UserFilter{Reach: &holdfast.UserReach{Workloads: []string{"onedrive"}}}))
		checkWalk(t, f.users, func(u holdfast.User) bool {
			return hasDevice(u, "onedrive") || u.ProfileID == f.sales.ID || (u.ProfileID == f.ops.ID && !hasDevice(u, ""))
		}, uName, uID, users(holdfast.UserFilter{Reach: &holdfast.UserReach{Workloads: []string{"onedrive"},
			Profiles: []string{f.sales.ID}, Bare: []string{f.ops.ID}}}))
		checkWalk(t, f.users, func(holdfast.User) bool { return false }, uName, uID, users(holdfast.UserFilter{Reach: &holdfast.UserReach{}}))
	})
	t.Run("devices", func(t *testing.T) {
		checkWalk(t, f.devices, func(holdfast.Device) bool { return true }, dName, dID, devices(holdfast.DeviceFilter{}))
		checkWalk(t, f.devices, func(d holdfast.Device) bool { return d.Workload == "endpoints" && profileOf[d.UserID] == f.ops.ID },
			dName, dID, devices(holdfast.DeviceFilter{Workloads: []string{"endpoints"}, ProfileIDs: []string{f.ops.ID}}))
		checkWalk(t, f.devices, func(d holdfast.Device) bool { return d.UserID == f.users[5].ID }, dName, dID,
			devices(holdfast.DeviceFilter{UserID: f.users[5].ID}))
		checkWalk(t, f.devices, func(holdfast.Device) bool { return false }, dName, dID, devices(holdfast.DeviceFilter{Workloads: []string{}}))
		checkWalk(t, f.devices, func(holdfast.Device) bool { return false }, dName, dID, devices(holdfast.DeviceFilter{ProfileIDs: []string{}}))
	})
	t.Run("bad cursor", func(t *testing.T) {
		for _, c := range []string{"not a cursor", holdfast.EncodeCursor("one key")} {
			_, err := s.PageDevices(ctx, f.acct, holdfast.DeviceFilter{}, holdfast.Page{Cursor: c})
			metaAssertErr(t, "cursor "+c, err, holdfast.ErrInvalid)
		}
	})
}
