package devices_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/devices"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// fixture is an account on the real engine: profiles Sales and Eng, a
// laptop and a mailbox of a Sales user, a laptop of an Eng user, and
// administrators of predefined roles with different scopes.
type fixture struct {
	store                     holdfast.MetaStore
	svc                       *devices.Service
	acct                      string
	platform, salesAdmin      holdfast.Principal
	mailAdmin, helpDesk       holdfast.Principal
	salesLaptop, salesMailbox holdfast.Device
	engLaptop                 holdfast.Device
	salesUser                 holdfast.User
	heard                     []devices.Decommissioned
	clock                     *fakeClock
}

// fakeClock is a clock tests step forward and back.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	must(t, err)
	t.Cleanup(func() { store.Close() })
	res, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{AdminEmail: "root@example.com", AdminPassword: "Correct horse battery 1"})
	must(t, err)
	engine, err := authz.New(ctx, authz.Options{Store: store})
	must(t, err)
	f := &fixture{store: store, acct: res.Account.ID}
	f.platform = holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: f.acct, AdminID: res.Admin.ID, Email: res.Admin.Email}
	sales, eng := f.profile(t, "Sales"), f.profile(t, "Eng")
	f.salesUser = f.user(t, "sam@example.com", sales)
	engUser := f.user(t, "erin@example.com", eng)
	f.salesLaptop = f.device(t, f.salesUser, "Sam's laptop", holdfast.DeviceEndpoint, "endpoints")
	f.salesMailbox = f.device(t, f.salesUser, "Sam's mailbox", holdfast.DeviceSaaS, "exchange_online")
	f.engLaptop = f.device(t, engUser, "Erin's laptop", holdfast.DeviceEndpoint, "endpoints")
	f.salesAdmin = f.admin(t, "profile_admin", holdfast.Scopes{Profiles: []string{sales.ID}, AllWorkloads: true})
	f.mailAdmin = f.admin(t, "workload_admin", holdfast.Scopes{AllProfiles: true, Workloads: []string{"microsoft_365"}})
	f.helpDesk = f.admin(t, "help_desk_admin", holdfast.Scopes{AllProfiles: true, AllWorkloads: true})

	f.clock = &fakeClock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}
	runner := change.New(change.Options{Store: store, Authorizer: engine, Clock: f.clock})
	var workloads []directory.Workload
	for _, w := range engine.Catalog().Workloads {
		workloads = append(workloads, directory.Workload{ID: w.ID, Parent: w.Parent})
	}
	dir := directory.New(directory.Options{Runner: runner, Roles: engine, Workloads: workloads})
	f.svc = devices.New(devices.Options{Runner: runner, Scope: dir})
	f.svc.Subscribe(devices.ListenerFunc(func(_ context.Context, e devices.Decommissioned) { f.heard = append(f.heard, e) }))
	return f
}

func (f *fixture) profile(t *testing.T, name string) holdfast.Profile {
	p := holdfast.Profile{AccountID: f.acct, Name: name, Workloads: []string{"endpoints"}}
	must(t, f.store.CreateProfile(t.Context(), &p))
	return p
}

func (f *fixture) user(t *testing.T, email string, p holdfast.Profile) holdfast.User {
	u := holdfast.User{AccountID: f.acct, Email: email, Name: email, ProfileID: p.ID, State: holdfast.UserActive}
	must(t, f.store.CreateUser(t.Context(), &u))
	return u
}

func (f *fixture) device(t *testing.T, u holdfast.User, name, kind, workload string) holdfast.Device {
	d := holdfast.Device{AccountID: f.acct, UserID: u.ID, Name: name, Kind: kind, Workload: workload, State: "enabled"}
	must(t, f.store.CreateDevice(t.Context(), &d))
	return d
}

func (f *fixture) admin(t *testing.T, role string, scopes holdfast.Scopes) holdfast.Principal {
	a := holdfast.Administrator{AccountID: f.acct, Name: role, Email: role + "@example.com", RoleID: role,
		State: holdfast.AdminActive, Scopes: scopes, CreatedBy: f.platform.AdminID}
	must(t, f.store.CreateAdmin(t.Context(), &a))
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: f.acct, AdminID: a.ID, Email: a.Email}
}

func (f *fixture) audit(t *testing.T, action string) []holdfast.AuditRecord {
	t.Helper()
	recs, err := f.store.ListAudit(t.Context(), f.acct, holdfast.AuditFilter{Action: action})
	must(t, err)
	return recs
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDecommissionQueuesWipeAndKeepsData: decommissioning sets the state,
// queues a wipe, fails open upgrades, is audited and heard, and deletes
// neither the device, its user nor anything else; a second one conflicts.
func TestDecommissionQueuesWipeAndKeepsData(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	up, err := f.svc.RequestUpgrade(ctx, f.salesAdmin, f.salesLaptop.ID, "7.5.1")
	must(t, err)
	res, err := f.svc.Decommission(ctx, f.salesAdmin, f.salesLaptop.ID, devices.Decommission{Wipe: true})
	must(t, err)
	if res.Device.State != "decommissioned" || res.Wipe == nil || res.Wipe.Kind != holdfast.CommandWipe ||
		res.Wipe.State != holdfast.CommandPending || res.Wipe.RequestedBy != f.salesAdmin.AdminID {
		t.Fatalf("Decommission = %+v %+v", res.Device, res.Wipe)
	}
	got, err := f.store.GetDevice(ctx, f.acct, f.salesLaptop.ID)
	if err != nil || got.State != "decommissioned" {
		t.Errorf("device after decommission = %+v, %v", got, err)
	}
	if _, err := f.store.GetUser(ctx, f.acct, f.salesUser.ID); err != nil {
		t.Errorf("the user is gone after a decommission: %v", err)
	}
	cancelled, err := f.store.GetDeviceCommand(ctx, f.acct, up.ID)
	if err != nil || cancelled.State != holdfast.CommandFailed || cancelled.CompletedAt == nil {
		t.Errorf("open upgrade after decommission = %+v, %v; want failed", cancelled, err)
	}
	recs := f.audit(t, "device.decommission")
	if len(recs) != 1 || recs[0].ResourceID != f.salesLaptop.ID || recs[0].ActorID != f.salesAdmin.AdminID || recs[0].Outcome != holdfast.OutcomeSuccess {
		t.Errorf("decommission records = %+v", recs)
	}
	if len(f.heard) != 1 || f.heard[0].Device.ID != f.salesLaptop.ID || f.heard[0].Wipe == nil || f.heard[0].Wipe.ID != res.Wipe.ID {
		t.Errorf("listener heard %+v", f.heard)
	}
	if _, err := f.svc.Decommission(ctx, f.platform, f.salesLaptop.ID, devices.Decommission{}); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("second decommission: %v, want ErrConflict", err)
	}
	if _, err := f.svc.RequestUpgrade(ctx, f.platform, f.salesLaptop.ID, ""); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("upgrade of a decommissioned device: %v, want ErrConflict", err)
	}
	if len(f.heard) != 1 {
		t.Errorf("a refused decommission was heard: %+v", f.heard)
	}
}

// TestDecommissionScopeAndRights: the engine decides on the device, in
// the caller's profile and workload scope; a refusal is audited as denied
// and changes nothing.
func TestDecommissionScopeAndRights(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	cases := []struct {
		name string
		p    holdfast.Principal
		dev  holdfast.Device
	}{
		{"profile admin, other profile", f.salesAdmin, f.engLaptop},
		{"workload admin, other workload", f.mailAdmin, f.salesLaptop},
		{"help desk, no right", f.helpDesk, f.salesLaptop},
	}
	for _, tc := range cases {
		_, err := f.svc.Decommission(ctx, tc.p, tc.dev.ID, devices.Decommission{})
		if !errors.Is(err, holdfast.ErrDenied) {
			t.Errorf("%s: %v, want ErrDenied", tc.name, err)
		}
		got, _ := f.store.GetDevice(ctx, f.acct, tc.dev.ID)
		if got.State != "enabled" {
			t.Errorf("%s: refused decommission left the device %s", tc.name, got.State)
		}
	}
	if denied := f.audit(t, "device.decommission"); len(denied) != len(cases) || denied[0].Outcome != holdfast.OutcomeDenied {
		t.Errorf("denied records = %+v", denied)
	}
	// In scope: the workload admin decommissions the mailbox, without a
	// wipe; a wipe of a SaaS source is refused naming the field.
	_, err := f.svc.Decommission(ctx, f.mailAdmin, f.salesMailbox.ID, devices.Decommission{Wipe: true})
	var v *holdfast.ValidationError
	if !errors.As(err, &v) || v.Fields[0].Field != "wipe" {
		t.Errorf("wipe of a mailbox: %v, want a validation error naming wipe", err)
	}
	if _, err := f.svc.Decommission(ctx, f.mailAdmin, f.salesMailbox.ID, devices.Decommission{}); err != nil {
		t.Errorf("workload admin decommissions a mailbox in scope: %v", err)
	}
	if len(f.heard) != 1 || f.heard[0].Wipe != nil {
		t.Errorf("heard %+v, want one decommission without a wipe", f.heard)
	}
}

// TestUpgradeRequests: one open upgrade per endpoint, a valid version,
// no upgrade of a SaaS source, the right and scope decided.
func TestUpgradeRequests(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var v *holdfast.ValidationError
	if _, err := f.svc.RequestUpgrade(ctx, f.platform, f.salesLaptop.ID, "7.5; rm -rf"); !errors.As(err, &v) || v.Fields[0].Field != "version" {
		t.Errorf("bad version: %v, want a validation error naming version", err)
	}
	c, err := f.svc.RequestUpgrade(ctx, f.salesAdmin, f.salesLaptop.ID, "")
	must(t, err)
	if c.Kind != holdfast.CommandUpgrade || c.State != holdfast.CommandPending || c.DeviceID != f.salesLaptop.ID || c.UserID != f.salesUser.ID {
		t.Errorf("upgrade = %+v", c)
	}
	if _, err := f.svc.RequestUpgrade(ctx, f.salesAdmin, f.salesLaptop.ID, "7.6.0"); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("second open upgrade: %v, want ErrConflict", err)
	}
	if _, err := f.svc.RequestUpgrade(ctx, f.platform, f.salesMailbox.ID, ""); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("upgrade of a mailbox: %v, want ErrConflict", err)
	}
	if _, err := f.svc.RequestUpgrade(ctx, f.salesAdmin, f.engLaptop.ID, ""); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("upgrade outside the profile: %v, want ErrDenied", err)
	}
	if _, err := f.svc.RequestUpgrade(ctx, f.helpDesk, f.engLaptop.ID, ""); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("upgrade without the right: %v, want ErrDenied", err)
	}
	var outcomes []string
	for _, r := range f.audit(t, "device.upgrade") {
		outcomes = append(outcomes, r.Outcome)
	}
	if want := []string{holdfast.OutcomeSuccess, holdfast.OutcomeDenied, holdfast.OutcomeDenied}; !slices.Equal(outcomes, want) {
		t.Errorf("upgrade records %v, want %v (conflicts change nothing and are not recorded)", outcomes, want)
	}
}

// TestAgentTakesAndAcknowledges: the agent takes its open commands (pending
// become delivered, delivered come again), reports a result once
// (repeating the same report is harmless), and cannot touch another
// device's commands.
func TestAgentTakesAndAcknowledges(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	up, err := f.svc.RequestUpgrade(ctx, f.platform, f.salesLaptop.ID, "7.5.1")
	must(t, err)
	other, err := f.svc.RequestUpgrade(ctx, f.platform, f.engLaptop.ID, "")
	must(t, err)
	agent := f.salesAdmin // backups.perform on the laptop, as the backup client
	for round := range 2 {
		got, err := f.svc.Take(ctx, agent, f.salesLaptop.ID, holdfast.Page{})
		must(t, err)
		if len(got.Items) != 1 || got.Items[0].ID != up.ID || got.Items[0].State != holdfast.CommandDelivered || got.Items[0].DeliveredAt == nil {
			t.Fatalf("take %d = %+v", round, got.Items)
		}
	}
	if recs := f.audit(t, "device_command.deliver"); len(recs) != 1 {
		t.Errorf("deliver records = %d, want 1 (the second take delivered nothing new)", len(recs))
	}
	if _, err := f.svc.Take(ctx, agent, f.engLaptop.ID, holdfast.Page{}); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("take for a device outside the agent's scope: %v, want ErrDenied", err)
	}
	if _, err := f.svc.Acknowledge(ctx, agent, f.salesLaptop.ID, other.ID, devices.Ack{State: holdfast.CommandDone}); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("ack of another device's command: %v, want ErrNotFound", err)
	}
	var v *holdfast.ValidationError
	if _, err := f.svc.Acknowledge(ctx, agent, f.salesLaptop.ID, up.ID, devices.Ack{State: "wiped"}); !errors.As(err, &v) || v.Fields[0].Field != "state" {
		t.Errorf("ack with a bad state: %v, want a validation error naming state", err)
	}
	done := devices.Ack{State: holdfast.CommandDone, Result: "installed 7.5.1"}
	c, err := f.svc.Acknowledge(ctx, agent, f.salesLaptop.ID, up.ID, done)
	must(t, err)
	if c.State != holdfast.CommandDone || c.Result != done.Result || c.CompletedAt == nil {
		t.Errorf("ack = %+v", c)
	}
	if again, err := f.svc.Acknowledge(ctx, agent, f.salesLaptop.ID, up.ID, done); err != nil || !again.CompletedAt.Equal(*c.CompletedAt) {
		t.Errorf("the same ack again: %+v %v, want it unchanged", again, err)
	}
	if _, err := f.svc.Acknowledge(ctx, agent, f.salesLaptop.ID, up.ID, devices.Ack{State: holdfast.CommandFailed}); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("another ack of a final command: %v, want ErrConflict", err)
	}
	if got, err := f.svc.Take(ctx, agent, f.salesLaptop.ID, holdfast.Page{}); err != nil || len(got.Items) != 0 {
		t.Errorf("take after the ack = %+v %v, want nothing open", got.Items, err)
	}
}

// TestListCommandsInScope: the list pages inside the caller's profile and
// workload scope (totals count only those), filters by device, kind and
// state, and refuses a device outside the scope.
func TestListCommandsInScope(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, err := f.svc.RequestUpgrade(ctx, f.platform, f.salesLaptop.ID, "")
	must(t, err)
	_, err = f.svc.RequestUpgrade(ctx, f.platform, f.engLaptop.ID, "")
	must(t, err)
	_, err = f.svc.Decommission(ctx, f.platform, f.engLaptop.ID, devices.Decommission{Wipe: true})
	must(t, err)
	ids := func(p holdfast.Principal, flt devices.CommandFilter) ([]string, int) {
		return storagetest.WalkPages(t, 1, func(c holdfast.DeviceCommand) string { return c.DeviceID + "/" + c.Kind + "/" + c.State },
			func(pg holdfast.Page) (holdfast.Paged[holdfast.DeviceCommand], error) {
				return f.svc.ListCommands(ctx, p, flt, pg)
			})
	}
	all, total := ids(f.platform, devices.CommandFilter{})
	if total != 3 || len(all) != 3 {
		t.Errorf("platform lists %v (total %d), want 3", all, total)
	}
	sales, total := ids(f.salesAdmin, devices.CommandFilter{})
	if want := []string{f.salesLaptop.ID + "/upgrade/pending"}; !slices.Equal(sales, want) || total != 1 {
		t.Errorf("sales admin lists %v (total %d), want %v", sales, total, want)
	}
	if mail, total := ids(f.mailAdmin, devices.CommandFilter{}); len(mail) != 0 || total != 0 {
		t.Errorf("mailbox admin lists %v (total %d), want none", mail, total)
	}
	wipes, _ := ids(f.platform, devices.CommandFilter{Kind: holdfast.CommandWipe, State: holdfast.CommandPending})
	if want := []string{f.engLaptop.ID + "/wipe/pending"}; !slices.Equal(wipes, want) {
		t.Errorf("pending wipes %v, want %v", wipes, want)
	}
	if _, err := f.svc.ListCommands(ctx, f.salesAdmin, devices.CommandFilter{DeviceID: f.engLaptop.ID}, holdfast.Page{}); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("list of a device outside the scope: %v, want ErrDenied", err)
	}
	var v *holdfast.ValidationError
	if _, err := f.svc.ListCommands(ctx, f.platform, devices.CommandFilter{State: "wiped"}, holdfast.Page{}); !errors.As(err, &v) || v.Fields[0].Field != "state" {
		t.Errorf("bad state filter: %v, want a validation error naming state", err)
	}
}

// TestDeviceMappings: a replacement needs the right on both devices (in
// scope), one user, one kind and workload, no loop, and one successor
// and predecessor each; the list stays in scope; removal is audited.
func TestDeviceMappings(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	newer := f.device(t, f.salesUser, "Sam's new laptop", holdfast.DeviceEndpoint, "endpoints")
	var v *holdfast.ValidationError
	for _, tc := range []struct {
		old, new, field string
	}{
		{"", newer.ID, "old_device_id"},
		{newer.ID, newer.ID, "new_device_id"},
		{f.salesMailbox.ID, newer.ID, "new_device_id"}, // another kind
	} {
		if _, err := f.svc.MapDevice(ctx, f.platform, tc.old, tc.new); !errors.As(err, &v) || v.Fields[0].Field != tc.field {
			t.Errorf("MapDevice(%q, %q) = %v, want a validation error naming %s", tc.old, tc.new, err, tc.field)
		}
	}
	if _, err := f.svc.MapDevice(ctx, f.salesAdmin, f.engLaptop.ID, newer.ID); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("map from a device outside the scope: %v, want ErrDenied", err)
	}
	if _, err := f.svc.MapDevice(ctx, f.helpDesk, f.salesLaptop.ID, newer.ID); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("map without the right: %v, want ErrDenied", err)
	}
	m, err := f.svc.MapDevice(ctx, f.salesAdmin, f.salesLaptop.ID, newer.ID)
	must(t, err)
	if m.OldDeviceID != f.salesLaptop.ID || m.NewDeviceID != newer.ID || m.UserID != f.salesUser.ID {
		t.Errorf("MapDevice = %+v", m)
	}
	if _, err := f.svc.MapDevice(ctx, f.platform, newer.ID, f.salesLaptop.ID); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("a loop: %v, want ErrConflict", err)
	}
	third := f.device(t, f.salesUser, "Sam's third laptop", holdfast.DeviceEndpoint, "endpoints")
	if _, err := f.svc.MapDevice(ctx, f.platform, f.salesLaptop.ID, third.ID); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("a second successor: %v, want ErrConflict", err)
	}
	_, err = f.svc.MapDevice(ctx, f.platform, newer.ID, third.ID)
	must(t, err)
	lineage, err := holdfast.DeviceLineage(ctx, f.store, f.acct, third.ID)
	if want := []string{third.ID, newer.ID, f.salesLaptop.ID}; err != nil || !slices.Equal(lineage, want) {
		t.Errorf("lineage = %v %v, want %v", lineage, err, want)
	}
	if got, err := f.svc.ListMappings(ctx, f.mailAdmin, "", holdfast.Page{}); err != nil || got.Total != 0 {
		t.Errorf("mailbox admin lists %+v %v, want none", got, err)
	}
	if got, err := f.svc.ListMappings(ctx, f.salesAdmin, f.salesUser.ID, holdfast.Page{}); err != nil || got.Total != 2 {
		t.Errorf("sales admin lists %+v %v, want 2", got, err)
	}
	must(t, f.svc.UnmapDevice(ctx, f.salesAdmin, third.ID))
	if err := f.svc.UnmapDevice(ctx, f.salesAdmin, third.ID); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("unmap twice: %v, want ErrNotFound", err)
	}
	if recs := f.audit(t, "device.unmap"); len(recs) != 1 || recs[0].Outcome != holdfast.OutcomeSuccess {
		t.Errorf("unmap records = %+v", recs)
	}
}
