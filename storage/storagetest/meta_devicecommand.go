package storagetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// testMetaDeviceCommand covers the device command queue: a round trip of
// every field, the state update, the missing and taken cases, paging in
// queue order under each filter, the account boundary, the revision left
// alone, and the commands going with their device.
func testMetaDeviceCommand(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := newPageFixture(t, s)
	dev := f.devices[0]
	in := holdfast.DeviceCommand{ID: metaUniq("cmd"), AccountID: f.acct, DeviceID: dev.ID, UserID: dev.UserID,
		Kind: holdfast.CommandUpgrade, State: holdfast.CommandPending, Params: map[string]string{"version": "7.5.1"},
		RequestedBy: "adm-1", CreatedAt: metaAt(0)}
	rev := metaRevision(t, s, f.acct)
	c := in
	metaMust(t, s.CreateDeviceCommand(ctx, &c))
	want := in
	want.CreatedAt = metaMicro(in.CreatedAt)
	metaAssertEqual(t, "GetDeviceCommand", metaGet[holdfast.DeviceCommand](t)(s.GetDeviceCommand(ctx, f.acct, in.ID)), want)
	metaAssertEqual(t, "revision after CreateDeviceCommand", metaRevision(t, s, f.acct), rev)

	dup := in
	metaAssertErr(t, "CreateDeviceCommand with a taken ID", s.CreateDeviceCommand(ctx, &dup), holdfast.ErrConflict)
	noDevice := holdfast.DeviceCommand{AccountID: f.acct, DeviceID: "missing", Kind: holdfast.CommandWipe, State: holdfast.CommandPending}
	metaAssertErr(t, "CreateDeviceCommand of a missing device", s.CreateDeviceCommand(ctx, &noDevice), holdfast.ErrNotFound)
	_, err := s.GetDeviceCommand(ctx, metaNewAccount(t, s).ID, in.ID)
	metaAssertErr(t, "GetDeviceCommand from another account", err, holdfast.ErrNotFound)

	c.State, c.Result = holdfast.CommandDone, "installed 7.5.1"
	c.DeliveredAt, c.CompletedAt = metaPtr(metaAt(time.Minute)), metaPtr(metaAt(time.Hour))
	c.Kind, c.DeviceID = holdfast.CommandWipe, "ignored" // not updatable
	metaMust(t, s.UpdateDeviceCommand(ctx, &c))
	want.State, want.Result = holdfast.CommandDone, "installed 7.5.1"
	want.DeliveredAt, want.CompletedAt = metaMicroPtr(c.DeliveredAt), metaMicroPtr(c.CompletedAt)
	metaAssertEqual(t, "GetDeviceCommand after update", metaGet[holdfast.DeviceCommand](t)(s.GetDeviceCommand(ctx, f.acct, in.ID)), want)
	gone := holdfast.DeviceCommand{AccountID: f.acct, ID: "missing", State: holdfast.CommandDone}
	metaAssertErr(t, "UpdateDeviceCommand missing", s.UpdateDeviceCommand(ctx, &gone), holdfast.ErrNotFound)
	metaAssertEqual(t, "revision after UpdateDeviceCommand", metaRevision(t, s, f.acct), rev)

	testMetaDeviceCommandPaging(t, s, f, want)
	metaMust(t, s.DeleteDevice(ctx, f.acct, dev.ID))
	_, err = s.GetDeviceCommand(ctx, f.acct, in.ID)
	metaAssertErr(t, "GetDeviceCommand after its device is deleted", err, holdfast.ErrNotFound)
}

// testMetaDeviceCommandPaging queues commands on every device of f, two of
// them at the same time (so pages break ties by id), and walks them under
// each filter.
func testMetaDeviceCommandPaging(t *testing.T, s holdfast.MetaStore, f pageFixture, first holdfast.DeviceCommand) {
	ctx := t.Context()
	all := []holdfast.DeviceCommand{first}
	for i, d := range f.devices {
		for j := range 2 {
			c := holdfast.DeviceCommand{AccountID: f.acct, DeviceID: d.ID, UserID: d.UserID,
				Kind:      []string{holdfast.CommandWipe, holdfast.CommandUpgrade}[(i+j)%2],
				State:     []string{holdfast.CommandPending, holdfast.CommandDelivered, holdfast.CommandFailed}[(i+j)%3],
				CreatedAt: metaAt(time.Duration(i%4) * time.Second)}
			metaMust(t, s.CreateDeviceCommand(ctx, &c))
			all = append(all, metaGet[holdfast.DeviceCommand](t)(s.GetDeviceCommand(ctx, f.acct, c.ID)))
		}
	}
	other := metaNewAccount(t, s).ID
	if got := metaGet[holdfast.Paged[holdfast.DeviceCommand]](t)(s.PageDeviceCommands(ctx, other, holdfast.DeviceCommandFilter{}, holdfast.Page{})); got.Total != 0 || len(got.Items) != 0 {
		t.Errorf("PageDeviceCommands of another account: %+v, want none", got)
	}
	device := map[string]holdfast.Device{}
	for _, d := range f.devices {
		device[d.ID] = d
	}
	profile := map[string]string{}
	for _, u := range f.users {
		profile[u.ID] = u.ProfileID
	}
	dev := f.devices[1]
	cases := []struct {
		name string
		f    holdfast.DeviceCommandFilter
		keep func(holdfast.DeviceCommand) bool
	}{
		{"all", holdfast.DeviceCommandFilter{}, func(holdfast.DeviceCommand) bool { return true }},
		{"one device", holdfast.DeviceCommandFilter{DeviceID: dev.ID}, func(c holdfast.DeviceCommand) bool { return c.DeviceID == dev.ID }},
		{"wipes", holdfast.DeviceCommandFilter{Kind: holdfast.CommandWipe}, func(c holdfast.DeviceCommand) bool { return c.Kind == holdfast.CommandWipe }},
		{"open", holdfast.DeviceCommandFilter{States: []string{holdfast.CommandPending, holdfast.CommandDelivered}},
			func(c holdfast.DeviceCommand) bool { return holdfast.CommandOpen(c.State) }},
		{"no state", holdfast.DeviceCommandFilter{States: []string{}}, func(holdfast.DeviceCommand) bool { return false }},
		{"workload", holdfast.DeviceCommandFilter{Workloads: []string{"onedrive"}},
			func(c holdfast.DeviceCommand) bool { return device[c.DeviceID].Workload == "onedrive" }},
		{"profile", holdfast.DeviceCommandFilter{ProfileIDs: []string{f.sales.ID}},
			func(c holdfast.DeviceCommand) bool { return profile[device[c.DeviceID].UserID] == f.sales.ID }},
		{"profile and workload", holdfast.DeviceCommandFilter{ProfileIDs: []string{f.ops.ID}, Workloads: []string{"endpoints"}},
			func(c holdfast.DeviceCommand) bool {
				return profile[device[c.DeviceID].UserID] == f.ops.ID && device[c.DeviceID].Workload == "endpoints"
			}},
		{"no profile", holdfast.DeviceCommandFilter{ProfileIDs: []string{}}, func(holdfast.DeviceCommand) bool { return false }},
	}
	for _, tc := range cases {
		want := []string{}
		kept := slices.DeleteFunc(slices.Clone(all), func(c holdfast.DeviceCommand) bool { return !tc.keep(c) })
		slices.SortFunc(kept, func(a, b holdfast.DeviceCommand) int {
			if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
				return c
			}
			return compareStrings(a.ID, b.ID)
		})
		for _, c := range kept {
			want = append(want, c.ID)
		}
		for _, limit := range []int{1, 4, holdfast.MaxPageSize} {
			got, total := WalkPages(t, limit, func(c holdfast.DeviceCommand) string { return c.ID },
				func(p holdfast.Page) (holdfast.Paged[holdfast.DeviceCommand], error) {
					return s.PageDeviceCommands(ctx, f.acct, tc.f, p)
				})
			if got == nil {
				got = []string{}
			}
			if !slices.Equal(got, want) || total != len(want) {
				t.Errorf("%s, limit %d: listed %v (total %d), want %v", tc.name, limit, got, total, want)
			}
		}
	}
	_, err := s.PageDeviceCommands(ctx, f.acct, holdfast.DeviceCommandFilter{}, holdfast.Page{Cursor: holdfast.EncodeCursor("x")})
	if !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("PageDeviceCommands with a foreign cursor: %v, want ErrInvalid", err)
	}
}

// compareStrings orders ids as the stores do (bytewise).
func compareStrings(a, b string) int { return strings.Compare(a, b) }
