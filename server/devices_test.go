package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/postgres"
	"github.com/holdfast/holdfast/storage/postgres/pgtest"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// apiStores open an empty metadata store of each driver the API tests
// run on; PostgreSQL gets a database of the test's own (skipped without a
// server unless HOLDFAST_TEST_REQUIRE names postgres).
var apiStores = map[string]func(t *testing.T) holdfast.MetaStore{
	"sqlite": func(t *testing.T) holdfast.MetaStore {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "holdfast.db"), sqlstore.WithAuditKey(testAuditKey))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
	"postgres": func(t *testing.T) holdfast.MetaStore {
		dsn := pgtest.NewDatabase(t)
		s, err := postgres.Open(t.Context(), dsn, sqlstore.WithAuditKey(testAuditKey))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	},
}

// realServerOn is realServer over store with a data store on a
// temporary directory.
func realServerOn(t *testing.T, store holdfast.MetaStore) (realFixture, *storage.Store) {
	t.Helper()
	blobs, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := storage.Open(t.Context(), blobs, storage.Options{MasterKey: storage.GenerateMasterKey()})
	if err != nil {
		t.Fatal(err)
	}
	return realServer(t, store, Options{Data: data}), data
}

// TestDeviceLifecycleAPI runs decommission with a remote wipe, an upgrade
// request and the agent's side of the command queue through the API on
// SQLite and PostgreSQL, with the real engine: scope and rights decide,
// refusals carry the reason, bad input names the field, snapshots stay.
func TestDeviceLifecycleAPI(t *testing.T) {
	for name, open := range apiStores {
		t.Run(name, func(t *testing.T) { testDeviceLifecycleAPI(t, open(t)) })
	}
}

type lifecycleSeed struct {
	user, laptop, other          string
	salesAdmin, helpDesk, viewer string // tokens
}

func seedLifecycle(t *testing.T, f realFixture) lifecycleSeed {
	t.Helper()
	var s lifecycleSeed
	id := func(w *httptest.ResponseRecorder, what string) string {
		t.Helper()
		if w.Code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", what, w.Code, w.Body)
		}
		var v struct {
			ID string `json:"id"`
		}
		decode(t, w, &v)
		return v.ID
	}
	sales := id(f.do("POST", "/api/v1/profiles", map[string]any{"name": "Sales", "workloads": []string{"endpoints"}}), "profile")
	eng := id(f.do("POST", "/api/v1/profiles", map[string]any{"name": "Eng", "workloads": []string{"endpoints"}}), "profile")
	s.user = id(f.do("POST", "/api/v1/users", map[string]any{"email": "sam@example.com", "name": "Sam", "profile_id": sales}), "user")
	erin := id(f.do("POST", "/api/v1/users", map[string]any{"email": "erin@example.com", "name": "Erin", "profile_id": eng}), "user")
	s.laptop = id(f.do("POST", "/api/v1/devices", map[string]any{"user_id": s.user, "name": "laptop", "kind": "endpoint", "workload": "endpoints"}), "device")
	s.other = id(f.do("POST", "/api/v1/devices", map[string]any{"user_id": erin, "name": "laptop", "kind": "endpoint", "workload": "endpoints"}), "device")
	id(f.do("POST", "/api/v1/administrators", map[string]any{"name": "Pia", "email": "pia@example.com", "role": "profile_admin",
		"scopes": map[string]any{"profiles": []string{sales}, "all_workloads": true}}), "profile admin")
	id(f.do("POST", "/api/v1/administrators", map[string]any{"name": "Hank", "email": "hank@example.com", "role": "help_desk_admin",
		"scopes": map[string]any{"all_profiles": true, "all_workloads": true}}), "help desk")
	id(f.do("POST", "/api/v1/administrators", map[string]any{"name": "Vera", "email": "vera@example.com", "role": "view_only_admin",
		"scopes": map[string]any{"all_profiles": true, "all_workloads": true}}), "view only")
	s.salesAdmin, s.helpDesk, s.viewer = f.tokenFor("pia@example.com"), f.tokenFor("hank@example.com"), f.tokenFor("vera@example.com")
	return s
}

// commandPage is the body of the command lists.
type commandPage struct {
	Commands   []holdfast.DeviceCommand `json:"commands"`
	Total      int                      `json:"total"`
	NextCursor string                   `json:"next_cursor"`
}

func testDeviceLifecycleAPI(t *testing.T, store holdfast.MetaStore) {
	f, data := realServerOn(t, store)
	s := seedLifecycle(t, f)
	ctx := t.Context()
	snap, err := data.CommitSnapshot(ctx, storage.Snapshot{AccountID: f.account.ID, UserID: s.user, Source: storage.SourceDevice,
		Device: "laptop", DeviceID: s.laptop, Items: []storage.Item{{Path: "a.txt"}}})
	if err != nil {
		t.Fatal(err)
	}
	auth := func(tok string) []string { return []string{"Authorization", tok} }
	dev := "/api/v1/devices/" + s.laptop

	// The profile administrator queues an upgrade; outside its profile,
	// and for the help desk (no right), the engine refuses with a reason.
	w := f.do("POST", dev+"/upgrade", map[string]any{"version": "7.5.1"}, auth(s.salesAdmin)...)
	if w.Code != http.StatusCreated {
		t.Fatalf("upgrade: %d %s", w.Code, w.Body)
	}
	var up holdfast.DeviceCommand
	decode(t, w, &up)
	w = f.do("POST", "/api/v1/devices/"+s.other+"/decommission", map[string]any{}, auth(s.salesAdmin)...)
	if e := errorOf(t, w); w.Code != http.StatusForbidden || e.DecisionID == "" || len(e.Reasons) == 0 {
		t.Errorf("decommission outside the profile: %d %+v", w.Code, e)
	}
	w = f.do("POST", dev+"/decommission", map[string]any{"wipe": true}, auth(s.helpDesk)...)
	if e := errorOf(t, w); w.Code != http.StatusForbidden || e.Message != "Help Desk Administrator cannot decommission devices" {
		t.Errorf("help desk decommissions: %d %+v", w.Code, e)
	}
	before, audit := f.snapshot()
	w = f.do("POST", dev+"/decommission", `{"wipe":"yes"}`, auth(s.salesAdmin)...)
	if w.Code != http.StatusBadRequest {
		t.Errorf("decommission with a bad body: %d %s", w.Code, w.Body)
	}
	if after, audit2 := f.snapshot(); after != before || len(audit2) != len(audit) {
		t.Errorf("a bad request changed something")
	}

	// Decommission with a wipe: the device is decommissioned, the upgrade
	// cancelled, the wipe queued; the user and the snapshot stay.
	w = f.do("POST", dev+"/decommission", map[string]any{"wipe": true}, auth(s.salesAdmin)...)
	if w.Code != http.StatusOK {
		t.Fatalf("decommission: %d %s", w.Code, w.Body)
	}
	var res struct {
		Device holdfast.Device        `json:"device"`
		Wipe   holdfast.DeviceCommand `json:"wipe"`
	}
	decode(t, w, &res)
	if res.Device.State != "decommissioned" || res.Wipe.Kind != holdfast.CommandWipe || res.Wipe.State != holdfast.CommandPending {
		t.Fatalf("decommission answered %+v", res)
	}
	if rec := f.lastAudit(); rec.Action != "device.decommission" || rec.ActorEmail != "pia@example.com" || rec.ResourceID != s.laptop {
		t.Errorf("last audit = %+v", rec)
	}
	if _, err := data.Snapshot(ctx, f.account.ID, snap.ID); err != nil {
		t.Errorf("the snapshot is gone after a decommission: %v", err)
	}
	if w := f.do("GET", "/api/v1/users/"+s.user, nil); w.Code != http.StatusOK {
		t.Errorf("the user after a decommission: %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", dev+"/decommission", map[string]any{}); w.Code != http.StatusConflict {
		t.Errorf("second decommission: %d %s", w.Code, w.Body)
	}

	// The agent (backups.perform on the device) takes the wipe, confirms it.
	w = f.do("POST", dev+"/commands/take", nil, auth(s.salesAdmin)...)
	var took commandPage
	decode(t, w, &took)
	if w.Code != http.StatusOK || took.Total != 1 || took.Commands[0].ID != res.Wipe.ID || took.Commands[0].State != holdfast.CommandDelivered {
		t.Fatalf("take: %d %s", w.Code, w.Body)
	}
	ack := dev + "/commands/" + res.Wipe.ID + "/ack"
	w = f.do("POST", ack, map[string]any{"state": "wiped"}, auth(s.salesAdmin)...)
	if e := errorOf(t, w); w.Code != http.StatusUnprocessableEntity || len(e.Fields) != 1 || e.Fields[0].Field != "state" {
		t.Errorf("ack with a bad state: %d %s", w.Code, w.Body)
	}
	w = f.do("POST", ack, map[string]any{"state": "done", "result": "wiped 3 folders"}, auth(s.salesAdmin)...)
	if w.Code != http.StatusOK {
		t.Fatalf("ack: %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/v1/devices/"+s.other+"/commands/take", nil, auth(s.salesAdmin)...); w.Code != http.StatusForbidden {
		t.Errorf("take for a device outside the agent's scope: %d %s", w.Code, w.Body)
	}

	checkCommandLists(t, f, s, up.ID)
}

// checkCommandLists: both commands for the platform administrator, paged
// by one; by state, kind and device for the help desk; a bad filter names
// the field.
func checkCommandLists(t *testing.T, f realFixture, s lifecycleSeed, upgradeID string) {
	var all []string
	path := "/api/v1/device-commands?limit=1"
	for range 5 {
		w := f.do("GET", path, nil)
		var p commandPage
		decode(t, w, &p)
		if w.Code != http.StatusOK || p.Total != 2 {
			t.Fatalf("list: %d %s", w.Code, w.Body)
		}
		for _, c := range p.Commands {
			all = append(all, c.Kind+"/"+c.State)
		}
		if p.NextCursor == "" {
			break
		}
		path = "/api/v1/device-commands?limit=1&cursor=" + p.NextCursor
	}
	if want := []string{"upgrade/failed", "wipe/done"}; len(all) != 2 || all[0] != want[0] || all[1] != want[1] {
		t.Errorf("listed %v, want %v", all, want)
	}
	w := f.do("GET", "/api/v1/device-commands?kind=wipe&state=done&device_id="+s.laptop, nil, "Authorization", s.helpDesk)
	var done commandPage
	decode(t, w, &done)
	if w.Code != http.StatusOK || done.Total != 1 || done.Commands[0].Result != "wiped 3 folders" {
		t.Errorf("help desk lists done wipes: %d %s", w.Code, w.Body)
	}
	if w := f.do("GET", "/api/v1/device-commands/"+upgradeID, nil, "Authorization", s.salesAdmin); w.Code != http.StatusOK {
		t.Errorf("get command: %d %s", w.Code, w.Body)
	}
	if w := f.do("GET", "/api/v1/device-commands?state=wiped", nil); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("list with a bad state: %d %s", w.Code, w.Body)
	}
}

// TestActivationKeyAPI issues a user's activation key and a profile's
// deployment token through the API on SQLite and PostgreSQL: the secret
// is in the create answer only, the lists stay in scope, revocation
// sticks, and refusals and bad input change nothing.
func TestActivationKeyAPI(t *testing.T) {
	for name, open := range apiStores {
		t.Run(name, func(t *testing.T) { testActivationKeyAPI(t, open(t)) })
	}
}

func testActivationKeyAPI(t *testing.T, store holdfast.MetaStore) {
	f, _ := realServerOn(t, store)
	s := seedLifecycle(t, f)
	w := f.do("POST", "/api/v1/activation-keys", map[string]any{"user_id": s.user, "name": "new laptop"}, "Authorization", s.salesAdmin)
	if w.Code != http.StatusCreated {
		t.Fatalf("issue: %d %s", w.Code, w.Body)
	}
	var key struct {
		holdfast.ActivationKey
		Secret string `json:"secret"`
	}
	decode(t, w, &key)
	if key.Secret == "" || key.Kind != holdfast.ActivationUser || key.Prefix != key.Secret[:len(key.Prefix)] {
		t.Fatalf("issued %s", w.Body)
	}
	if rec := f.lastAudit(); rec.Action != "activation_key.create" || bytes.Contains(rec.Detail, []byte(key.Secret)) {
		t.Errorf("last audit = %+v", rec)
	}
	var profile struct {
		ProfileID string `json:"profile_id"`
	}
	decode(t, f.do("GET", "/api/v1/users/"+s.user, nil), &profile)
	w = f.do("POST", "/api/v1/activation-keys", map[string]any{"profile_id": profile.ProfileID, "name": "Intune", "valid_days": 90}, "Authorization", s.salesAdmin)
	if w.Code != http.StatusCreated {
		t.Fatalf("deployment token: %d %s", w.Code, w.Body)
	}
	before, audit := f.snapshot()
	for body, field := range map[string]string{`{"user_id":"` + s.user + `","valid_days":400}`: "valid_days", `{}`: "user_id"} {
		w := f.do("POST", "/api/v1/activation-keys", body, "Authorization", s.salesAdmin)
		if e := errorOf(t, w); w.Code != http.StatusUnprocessableEntity || len(e.Fields) == 0 || e.Fields[0].Field != field {
			t.Errorf("issue %s: %d %s, want 422 naming %s", body, w.Code, w.Body, field)
		}
	}
	if after, audit2 := f.snapshot(); after != before || len(audit2) != len(audit) {
		t.Errorf("bad input changed something")
	}
	w = f.do("POST", "/api/v1/activation-keys", map[string]any{"user_id": s.user}, "Authorization", s.viewer)
	if e := errorOf(t, w); w.Code != http.StatusForbidden || e.Message != "View Only Administrator cannot download users' activation keys" {
		t.Errorf("view-only administrator issues a key: %d %s", w.Code, w.Body)
	}

	var page struct {
		Keys  []map[string]any `json:"keys"`
		Total int              `json:"total"`
	}
	w = f.do("GET", "/api/v1/activation-keys?kind=deployment", nil, "Authorization", s.salesAdmin)
	decode(t, w, &page)
	if w.Code != http.StatusOK || page.Total != 1 || page.Keys[0]["secret"] != nil || page.Keys[0]["name"] != "Intune" {
		t.Errorf("list deployment tokens: %d %s", w.Code, w.Body)
	}
	w = f.do("POST", "/api/v1/activation-keys/"+key.ID+"/revoke", nil, "Authorization", s.salesAdmin)
	var revoked holdfast.ActivationKey
	decode(t, w, &revoked)
	if w.Code != http.StatusOK || revoked.RevokedAt == nil {
		t.Errorf("revoke: %d %s", w.Code, w.Body)
	}
	if _, err := f.srv.devices.CheckKey(t.Context(), key.Secret); err == nil {
		t.Error("a revoked key still activates")
	}
	if w := f.do("GET", "/api/v1/activation-keys?kind=bogus", nil); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("list with a bad kind: %d %s", w.Code, w.Body)
	}
}

// TestDeviceMappingAPI: on SQLite and PostgreSQL, a new laptop replaces
// the old one and lists the old laptop's snapshots as its own history;
// removing the mapping gives them back; refusals name the reason.
func TestDeviceMappingAPI(t *testing.T) {
	for name, open := range apiStores {
		t.Run(name, func(t *testing.T) { testDeviceMappingAPI(t, open(t)) })
	}
}

func testDeviceMappingAPI(t *testing.T, store holdfast.MetaStore) {
	f, data := realServerOn(t, store)
	s := seedLifecycle(t, f)
	w := f.do("POST", "/api/v1/devices", map[string]any{"user_id": s.user, "name": "new laptop", "kind": "endpoint", "workload": "endpoints"})
	var newer holdfast.Device
	decode(t, w, &newer)
	old, err := data.CommitSnapshot(t.Context(), storage.Snapshot{AccountID: f.account.ID, UserID: s.user, Source: storage.SourceDevice,
		Device: "laptop", DeviceID: s.laptop, Items: []storage.Item{{Path: "a.txt"}}})
	if err != nil {
		t.Fatal(err)
	}
	history := func() []string {
		t.Helper()
		w := f.do("GET", "/api/v1/snapshots?user_id="+s.user+"&device_id="+newer.ID, nil, "Authorization", s.salesAdmin)
		var p struct {
			Snapshots []storage.Snapshot `json:"snapshots"`
		}
		decode(t, w, &p)
		ids := []string{}
		for _, sn := range p.Snapshots {
			ids = append(ids, sn.ID)
		}
		return ids
	}
	if got := history(); len(got) != 0 {
		t.Fatalf("the new laptop's history before the mapping: %v", got)
	}
	body := map[string]any{"old_device_id": s.laptop, "new_device_id": newer.ID}
	w = f.do("POST", "/api/v1/device-mappings", body, "Authorization", s.viewer)
	if e := errorOf(t, w); w.Code != http.StatusForbidden || e.Message != "View Only Administrator cannot manage device mappings" {
		t.Errorf("view-only maps: %d %s", w.Code, w.Body)
	}
	w = f.do("POST", "/api/v1/device-mappings", map[string]any{"old_device_id": s.other, "new_device_id": newer.ID}, "Authorization", s.salesAdmin)
	if w.Code != http.StatusForbidden {
		t.Errorf("map from a device outside the scope: %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/v1/device-mappings", body, "Authorization", s.salesAdmin); w.Code != http.StatusCreated {
		t.Fatalf("map: %d %s", w.Code, w.Body)
	}
	if got := history(); len(got) != 1 || got[0] != old.ID {
		t.Errorf("the new laptop's history = %v, want the old laptop's snapshot %s", got, old.ID)
	}
	var page struct {
		Total int `json:"total"`
	}
	decode(t, f.do("GET", "/api/v1/device-mappings?user_id="+s.user, nil, "Authorization", s.salesAdmin), &page)
	if page.Total != 1 {
		t.Errorf("mappings listed: %d, want 1", page.Total)
	}
	if w := f.do("POST", "/api/v1/device-mappings", map[string]any{"old_device_id": newer.ID, "new_device_id": s.laptop}); w.Code != http.StatusConflict {
		t.Errorf("a loop: %d %s", w.Code, w.Body)
	}
	if w := f.do("DELETE", "/api/v1/device-mappings/"+newer.ID, nil, "Authorization", s.salesAdmin); w.Code != http.StatusNoContent {
		t.Fatalf("unmap: %d %s", w.Code, w.Body)
	}
	if got := history(); len(got) != 0 {
		t.Errorf("the new laptop's history after the unmap: %v", got)
	}
}
