package server

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/storage"
)

// backupOnce backs up size random bytes (seeded by seed) from the device
// through the API and returns the response of the commit.
func backupOnce(t *testing.T, f *fixture, deviceID string, size int, seed byte) (int, string) {
	t.Helper()
	content := make([]byte, size)
	rand.NewChaCha8([32]byte{seed}).Read(content)
	key, err := f.srv.data.ChunkerKey(context.Background(), f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	var refs []holdfast.ChunkRef
	base := "/api/v1/backups/" + deviceID
	if err := storage.NewChunker(key).Split(bytes.NewReader(content), func(ref holdfast.ChunkRef, data []byte) error {
		refs = append(refs, ref)
		if w := f.putRaw(base+"/chunks/"+ref.String(), data, int64(len(data))); w.Code != 204 {
			t.Fatalf("put = %d %s", w.Code, w.Body)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	item := storage.Item{Path: "docs/a.bin", Size: int64(size), Chunks: refs}
	w := f.do("POST", base+"/snapshots", map[string]any{"items": []storage.Item{item}})
	return w.Code, w.Body.String()
}

// clockedDataFixture is dataFixture whose server reads the fixture's
// clock (f.now).
func clockedDataFixture(t *testing.T) (*fixture, *storage.Store, seed) {
	f, data, sd := dataFixture(t)
	srv, err := New(Options{Store: f.store, Engine: f.engine, Logger: slog.New(slog.NewJSONHandler(f.logs, nil)), Data: data,
		Clock: clockFunc(func() time.Time { return f.now })})
	if err != nil {
		t.Fatal(err)
	}
	f.srv, f.handler = srv, srv.Handler()
	return f, data, sd
}

// dashboard reads GET /api/v1/dashboard.
func dashboard(t *testing.T, f *fixture, query string) directory.Dashboard {
	t.Helper()
	w := f.do("GET", "/api/v1/dashboard"+query, nil)
	if w.Code != 200 {
		t.Fatalf("dashboard = %d %s", w.Code, w.Body)
	}
	var d directory.Dashboard
	decode(t, w, &d)
	return d
}

// TestBackupStatusAndCompliance: a commit records a successful run, a
// client's report a failed one (neither moves the last backup back), the
// device's compliance follows the profile's window as the clock moves,
// and the dashboard counts it.
func TestBackupStatusAndCompliance(t *testing.T) {
	f, _, sd := clockedDataFixture(t)
	ctx := context.Background()
	pr, err := f.store.GetProfile(ctx, f.account.ID, sd.profile)
	if err != nil {
		t.Fatal(err)
	}
	pr.Backup = holdfast.BackupPolicy{ComplianceHours: 24, GraceHours: 48}
	if err := f.store.UpdateProfile(ctx, &pr); err != nil {
		t.Fatal(err)
	}
	status := func() directory.DeviceStatus {
		t.Helper()
		w := f.do("GET", "/api/v1/devices/"+sd.device+"/backup-status", nil)
		if w.Code != 200 {
			t.Fatalf("backup-status = %d %s", w.Code, w.Body)
		}
		var st directory.DeviceStatus
		decode(t, w, &st)
		return st
	}
	if st := status(); st.Compliance != holdfast.Pending || st.Backup.LastResult != "" {
		t.Errorf("a new device = %+v, want pending without a run", st)
	}
	if d := dashboard(t, f, ""); d.Devices != 2 || d.States[holdfast.Pending] != 2 || len(d.Storage) != directory.DefaultDashboardDays {
		t.Errorf("dashboard of new devices = %+v", d)
	}
	if code, body := backupOnce(t, f, sd.device, 300_000, 1); code != 201 {
		t.Fatalf("commit = %d %s", code, body)
	}
	committed := f.now
	st := status()
	if st.Compliance != holdfast.Compliant || st.Backup.LastResult != holdfast.BackupSuccess ||
		!st.Backup.LastBackupAt.Equal(committed) || st.Backup.StoredBytes != 300_000 {
		t.Errorf("after a commit = %+v", st)
	}

	f.now = f.now.Add(20 * time.Hour)
	w := f.do("POST", "/api/v1/backups/"+sd.device+"/runs", map[string]any{"result": "failed", "error": "disk unreadable"})
	if w.Code != 200 {
		t.Fatalf("report = %d %s", w.Code, w.Body)
	}
	if rec := f.lastAudit(); rec.Action != "backup.failed" || rec.ResourceID != sd.device {
		t.Errorf("audit of a report = %+v", rec)
	}
	st = status()
	if st.Backup.LastResult != holdfast.BackupFailed || st.Backup.LastError != "disk unreadable" ||
		!st.Backup.LastBackupAt.Equal(committed) || st.Compliance != holdfast.Compliant {
		t.Errorf("after a failed run inside the window = %+v", st)
	}
	f.now = f.now.Add(5 * time.Hour) // 25 h after the snapshot, 25 h after creation: inside the grace
	if st := status(); st.Compliance != holdfast.Pending {
		t.Errorf("past the window inside the grace = %s, want pending", st.Compliance)
	}
	f.now = f.now.Add(24 * time.Hour)
	if st := status(); st.Compliance != holdfast.NonCompliant {
		t.Errorf("past the window and the grace = %s, want noncompliant", st.Compliance)
	}
	d := dashboard(t, f, "?days=3")
	if d.States[holdfast.NonCompliant] != 2 || d.Bytes != 300_000 || len(d.Storage) != 3 ||
		d.Storage[2].Bytes != 300_000 || len(d.ByProfile) != 1 || d.ByProfile[0].ID != sd.profile {
		t.Errorf("dashboard after 49 h = %+v", d)
	}

	for _, tt := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"result": "success", "error": "x"}, "result"},
		{map[string]any{"result": "failed", "error": " "}, "error"},
	} {
		w := f.do("POST", "/api/v1/backups/"+sd.device+"/runs", tt.body)
		if e := errorOf(t, w); w.Code != 422 || len(e.Fields) != 1 || e.Fields[0].Field != tt.field {
			t.Errorf("report %v = %d %s, want 422 naming %s", tt.body, w.Code, w.Body, tt.field)
		}
	}
	w = f.do("POST", "/api/v1/backups/"+sd.heldDevice+"/runs", map[string]any{"result": "partial", "error": "2 files"})
	if w.Code != 409 {
		t.Errorf("partial of a device without a snapshot = %d %s, want 409", w.Code, w.Body)
	}
	if w := f.do("GET", "/api/v1/dashboard?days=367", nil); w.Code != 422 || errorOf(t, w).Fields[0].Field != "days" {
		t.Errorf("days=367 = %d %s", w.Code, w.Body)
	}
	f.engine.denyRight("users.view", "cannot view users")
	if d := dashboard(t, f, ""); d.Devices != 0 || len(d.Counts) != 0 || len(d.Storage) != 0 {
		t.Errorf("dashboard without users.view = %+v, want empty", d)
	}
	f.engine.denyRight("backups.perform", "cannot perform backups")
	w = f.do("POST", "/api/v1/backups/"+sd.device+"/runs", map[string]any{"result": "failed", "error": "x"})
	if w.Code != 403 {
		t.Errorf("report without backups.perform = %d %s", w.Code, w.Body)
	}
}

// TestQuotaRefusesSnapshot: a snapshot that would take its user past the
// profile's quota is 409 quota_exceeded, stores nothing and records a
// failed run; a smaller one replaces the device's bytes and passes.
func TestQuotaRefusesSnapshot(t *testing.T) {
	f, data, sd := dataFixture(t)
	ctx := context.Background()
	pr, err := f.store.GetProfile(ctx, f.account.ID, sd.profile)
	if err != nil {
		t.Fatal(err)
	}
	pr.Backup.QuotaBytes = 500_000
	if err := f.store.UpdateProfile(ctx, &pr); err != nil {
		t.Fatal(err)
	}
	if code, body := backupOnce(t, f, sd.device, 400_000, 1); code != 201 {
		t.Fatalf("commit under the quota = %d %s", code, body)
	}
	// The device's next snapshot replaces its 400,000 bytes: 450,000 fits.
	if code, body := backupOnce(t, f, sd.device, 450_000, 2); code != 201 {
		t.Fatalf("a larger snapshot that still fits = %d %s", code, body)
	}
	code, body := backupOnce(t, f, sd.device, 600_000, 3)
	if code != 409 || !bytes.Contains([]byte(body), []byte(`"quota_exceeded"`)) {
		t.Fatalf("over the quota = %d %s, want 409 quota_exceeded", code, body)
	}
	snaps, err := data.Snapshots(ctx, storage.SnapshotFilter{AccountID: f.account.ID, UserID: sd.user})
	if err != nil || len(snaps) != 2 {
		t.Errorf("snapshots after the refusal = %d %v, want 2", len(snaps), err)
	}
	d, err := f.store.GetDevice(ctx, f.account.ID, sd.device)
	if err != nil || d.Backup.LastResult != holdfast.BackupFailed || d.Backup.StoredBytes != 450_000 {
		t.Errorf("status after the refusal = %+v %v", d.Backup, err)
	}
	if n, _ := f.store.UserStoredBytes(ctx, f.account.ID, sd.user); n != 450_000 {
		t.Errorf("stored bytes = %d, want 450000", n)
	}
}

// TestComplianceAPI runs the profile policy, data privacy, backup status
// and the dashboard through the API on SQLite and PostgreSQL with the
// real engine: a profile-scoped administrator sees and counts only its
// profile's devices, the Data Protection Officer changes the privacy
// setting alone, and the quota refuses a commit.
func TestComplianceAPI(t *testing.T) {
	for name, open := range apiStores {
		t.Run(name, func(t *testing.T) { testComplianceAPI(t, open(t)) })
	}
}

func testComplianceAPI(t *testing.T, store holdfast.MetaStore) {
	f, _ := realServerOn(t, store)
	s := seedLifecycle(t, f)
	auth := func(tok string) []string { return []string{"Authorization", tok} }
	var laptop holdfast.Device
	decode(t, f.do("GET", "/api/v1/devices/"+s.laptop, nil), &laptop)
	var user holdfast.User
	decode(t, f.do("GET", "/api/v1/users/"+s.user, nil), &user)
	sales := user.ProfileID

	if code, body := backupOnce(t, f.fixture, s.laptop, 200_000, 1); code != 201 {
		t.Fatalf("commit = %d %s", code, body)
	}
	if w := f.do("POST", "/api/v1/backups/"+s.other+"/runs", map[string]any{"result": "failed", "error": "no network"}); w.Code != 200 {
		t.Fatalf("report = %d %s", w.Code, w.Body)
	}
	var st directory.DeviceStatus
	decode(t, f.do("GET", "/api/v1/devices/"+s.other+"/backup-status", nil), &st)
	if st.Backup.LastResult != holdfast.BackupFailed || st.Compliance != holdfast.Pending {
		t.Errorf("status after a failed run = %+v", st)
	}
	all := dashboard(t, f.fixture, "")
	if all.Devices != 2 || all.States[holdfast.Compliant] != 1 || all.States[holdfast.Pending] != 1 || all.Bytes != 200_000 {
		t.Errorf("platform administrator's dashboard = %+v", all)
	}
	w := f.do("GET", "/api/v1/dashboard", nil, auth(s.salesAdmin)...)
	var mine directory.Dashboard
	decode(t, w, &mine)
	if w.Code != 200 || mine.Devices != 1 || len(mine.ByProfile) != 1 || mine.ByProfile[0].ID != sales || mine.States[holdfast.Compliant] != 1 {
		t.Errorf("Sales administrator's dashboard = %d %+v", w.Code, mine)
	}

	// Profiles: the profile administrator sets the policy; the DPO the
	// privacy setting, and nothing else.
	w = f.do("PATCH", "/api/v1/profiles/"+sales, map[string]any{"backup": map[string]any{"quota_bytes": 250_000, "folders": []string{"Documents"}}}, auth(s.salesAdmin)...)
	if w.Code != 200 {
		t.Fatalf("profile administrator sets the policy: %d %s", w.Code, w.Body)
	}
	w = f.do("PATCH", "/api/v1/profiles/"+sales, map[string]any{"backup": map[string]any{"folders": []string{"../etc"}}}, auth(s.salesAdmin)...)
	if e := errorOf(t, w); w.Code != 422 || len(e.Fields) == 0 || e.Fields[0].Field != "backup.folders[0]" {
		t.Errorf("a relative folder: %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/v1/administrators", map[string]any{"name": "Dora", "email": "dora@example.com", "role": "data_protection_officer",
		"scopes": map[string]any{"all_profiles": true, "all_workloads": true}}); w.Code != 201 {
		t.Fatalf("create DPO: %d %s", w.Code, w.Body)
	}
	dpo := f.tokenFor("dora@example.com")
	if w := f.do("PATCH", "/api/v1/profiles/"+sales, map[string]any{"block_admin_access": true}, auth(dpo)...); w.Code != 200 {
		t.Errorf("DPO sets data privacy: %d %s", w.Code, w.Body)
	}
	if w := f.do("PATCH", "/api/v1/profiles/"+sales, map[string]any{"name": "Renamed"}, auth(dpo)...); w.Code != 403 || len(errorOf(t, w).Reasons) == 0 {
		t.Errorf("DPO renames: %d %s", w.Code, w.Body)
	}
	if w := f.do("PATCH", "/api/v1/profiles/"+sales, map[string]any{"block_admin_access": false}, auth(s.salesAdmin)...); w.Code != 403 {
		t.Errorf("profile administrator changes data privacy: %d %s", w.Code, w.Body)
	}
	var pol holdfast.BackupPolicy
	decode(t, f.do("GET", "/api/v1/backups/"+s.laptop+"/policy", nil), &pol)
	if pol.QuotaBytes != 250_000 || pol.IntervalMinutes != holdfast.DefaultIntervalMinutes || len(pol.Folders) != 1 {
		t.Errorf("effective policy = %+v", pol)
	}
	code, body := backupOnce(t, f.fixture, s.laptop, 300_000, 2)
	if code != 409 || !bytes.Contains([]byte(body), []byte("quota_exceeded")) {
		t.Errorf("commit over the quota = %d %s", code, body)
	}
}
