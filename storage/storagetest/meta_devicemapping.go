package storagetest

import (
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// testMetaDeviceMapping covers device replacement mappings: a round trip,
// one successor and one predecessor per device, missing devices, paging
// under the scope filters, the revision, and mappings going with either
// device.
func testMetaDeviceMapping(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := newPageFixture(t, s)
	byUser := map[string][]holdfast.Device{}
	for _, d := range f.devices {
		byUser[d.UserID] = append(byUser[d.UserID], d)
	}
	var pairs [][2]holdfast.Device
	for _, u := range f.users {
		if ds := byUser[u.ID]; len(ds) == 2 {
			pairs = append(pairs, [2]holdfast.Device{ds[0], ds[1]})
		}
	}
	if len(pairs) < 2 {
		t.Fatalf("the fixture has %d users with two devices, want 2 or more", len(pairs))
	}
	old, nw := pairs[0][0], pairs[0][1]
	rev := metaRevision(t, s, f.acct)
	in := holdfast.DeviceMapping{AccountID: f.acct, OldDeviceID: old.ID, NewDeviceID: nw.ID, UserID: old.UserID, CreatedBy: "adm-1", CreatedAt: metaAt(0)}
	m := in
	metaMust(t, s.CreateDeviceMapping(ctx, &m))
	want := in
	want.CreatedAt = metaMicro(in.CreatedAt)
	metaAssertEqual(t, "GetDeviceMapping", metaGet[holdfast.DeviceMapping](t)(s.GetDeviceMapping(ctx, f.acct, nw.ID)), want)
	if metaRevision(t, s, f.acct) == rev {
		t.Error("CreateDeviceMapping did not change the revision")
	}
	_, err := s.GetDeviceMapping(ctx, f.acct, old.ID)
	metaAssertErr(t, "GetDeviceMapping of a device without a predecessor", err, holdfast.ErrNotFound)
	rev = metaRevision(t, s, f.acct)
	again := holdfast.DeviceMapping{AccountID: f.acct, OldDeviceID: old.ID, NewDeviceID: pairs[1][0].ID}
	metaAssertErr(t, "a second successor", s.CreateDeviceMapping(ctx, &again), holdfast.ErrConflict)
	second := holdfast.DeviceMapping{AccountID: f.acct, OldDeviceID: pairs[1][0].ID, NewDeviceID: nw.ID}
	metaAssertErr(t, "a second predecessor", s.CreateDeviceMapping(ctx, &second), holdfast.ErrConflict)
	missing := holdfast.DeviceMapping{AccountID: f.acct, OldDeviceID: "missing", NewDeviceID: pairs[1][1].ID}
	metaAssertErr(t, "a missing old device", s.CreateDeviceMapping(ctx, &missing), holdfast.ErrNotFound)
	metaUnchanged(t, s, f.acct, rev, "failed CreateDeviceMapping")

	other := holdfast.DeviceMapping{AccountID: f.acct, OldDeviceID: pairs[1][0].ID, NewDeviceID: pairs[1][1].ID, UserID: pairs[1][0].UserID, CreatedAt: metaAt(time.Second)}
	metaMust(t, s.CreateDeviceMapping(ctx, &other))
	profileOf := map[string]string{}
	for _, u := range f.users {
		profileOf[u.ID] = u.ProfileID
	}
	for _, tc := range []struct {
		name string
		f    holdfast.DeviceMappingFilter
		keep func(holdfast.DeviceMapping) bool
	}{
		{"all", holdfast.DeviceMappingFilter{}, func(holdfast.DeviceMapping) bool { return true }},
		{"one user", holdfast.DeviceMappingFilter{UserID: other.UserID}, func(m holdfast.DeviceMapping) bool { return m.UserID == other.UserID }},
		{"sales", holdfast.DeviceMappingFilter{ProfileIDs: []string{f.sales.ID}}, func(m holdfast.DeviceMapping) bool { return profileOf[m.UserID] == f.sales.ID }},
		{"no workload", holdfast.DeviceMappingFilter{Workloads: []string{}}, func(holdfast.DeviceMapping) bool { return false }},
	} {
		want := []string{}
		for _, m := range []holdfast.DeviceMapping{in, other} {
			if tc.keep(m) {
				want = append(want, m.NewDeviceID)
			}
		}
		got, total := WalkPages(t, 1, func(m holdfast.DeviceMapping) string { return m.NewDeviceID },
			func(p holdfast.Page) (holdfast.Paged[holdfast.DeviceMapping], error) {
				return s.PageDeviceMappings(ctx, f.acct, tc.f, p)
			})
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, want) || total != len(want) {
			t.Errorf("%s: listed %v (total %d), want %v", tc.name, got, total, want)
		}
	}
	metaMust(t, s.DeleteDeviceMapping(ctx, f.acct, nw.ID))
	metaAssertErr(t, "DeleteDeviceMapping twice", s.DeleteDeviceMapping(ctx, f.acct, nw.ID), holdfast.ErrNotFound)
	metaMust(t, s.DeleteDevice(ctx, f.acct, other.OldDeviceID))
	_, err = s.GetDeviceMapping(ctx, f.acct, other.NewDeviceID)
	metaAssertErr(t, "GetDeviceMapping after the old device is deleted", err, holdfast.ErrNotFound)
}
