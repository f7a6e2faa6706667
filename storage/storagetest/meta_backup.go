package storagetest

import (
	"cmp"
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// backupWorld is an account with two profiles (one with a 24 h window and
// 48 h grace, one with the defaults), an active and a preserved user in
// the first, an active user in the second, and their devices.
type backupWorld struct {
	acct                  string
	strict, loose         holdfast.Profile
	ann, pat, lee         holdfast.User
	laptop, mail, old     holdfast.Device // ann's, ann's, pat's
	desktop, drive, other holdfast.Device // lee's (disabled), lee's (new), another account's
}

func newBackupWorld(t *testing.T, s holdfast.MetaStore) backupWorld {
	ctx := t.Context()
	w := backupWorld{acct: metaNewAccount(t, s).ID}
	w.strict = holdfast.Profile{AccountID: w.acct, Name: "Strict", Backup: holdfast.BackupPolicy{ComplianceHours: 24, GraceHours: 48}}
	w.loose = holdfast.Profile{AccountID: w.acct, Name: "Loose"}
	metaMust(t, s.CreateProfile(ctx, &w.strict))
	metaMust(t, s.CreateProfile(ctx, &w.loose))
	user := func(email, profile string, st holdfast.UserState) holdfast.User {
		u := holdfast.User{AccountID: w.acct, Email: email, ProfileID: profile, State: st}
		metaMust(t, s.CreateUser(ctx, &u))
		return u
	}
	w.ann = user("ann@example.com", w.strict.ID, holdfast.UserActive)
	w.pat = user("pat@example.com", w.strict.ID, holdfast.UserPreserved)
	w.lee = user("lee@example.com", w.loose.ID, holdfast.UserActive)
	device := func(acct string, u holdfast.User, name, workload, state string, created time.Time) holdfast.Device {
		d := holdfast.Device{AccountID: acct, UserID: u.ID, Name: name, Kind: holdfast.DeviceEndpoint, Workload: workload,
			State: state, CreatedAt: created, Backup: holdfast.BackupStatus{StoredBytes: 999}}
		metaMust(t, s.CreateDevice(ctx, &d))
		return d
	}
	w.laptop = device(w.acct, w.ann, "laptop", "endpoints", "enabled", metaAt(0))
	w.mail = device(w.acct, w.ann, "mail", "exchange_online", "enabled", metaAt(0))
	w.old = device(w.acct, w.pat, "old", "endpoints", "enabled", metaAt(0))
	w.desktop = device(w.acct, w.lee, "desktop", "endpoints", "disabled", metaAt(0))
	w.drive = device(w.acct, w.lee, "drive", "onedrive", "enabled", metaAt(35*time.Hour))
	f := metaNewFixture(t, s)
	w.other = device(f.account.ID, f.user, "laptop", "endpoints", "enabled", metaAt(0))
	return w
}

// record writes a run and returns the status it reports.
func (w backupWorld) record(t *testing.T, s holdfast.MetaStore, d holdfast.Device, run holdfast.BackupRun) holdfast.BackupStatus {
	t.Helper()
	st, err := s.RecordBackup(t.Context(), d.AccountID, d.ID, run)
	metaMust(t, err)
	return st
}

// backups writes the runs every test of the world starts from: the laptop
// backed up (100 bytes) at 10 h and failed at 20 h; the mail backed up at
// 1 h (50 bytes) and at 30 h (70 bytes); another account's laptop 1,000
// bytes at 1 h.
func (w backupWorld) backups(t *testing.T, s holdfast.MetaStore) {
	ok := func(at time.Duration, n int64) holdfast.BackupRun {
		return holdfast.BackupRun{At: metaAt(at), Result: holdfast.BackupSuccess, Committed: true, Bytes: n}
	}
	w.record(t, s, w.laptop, ok(10*time.Hour, 100))
	w.record(t, s, w.laptop, holdfast.BackupRun{At: metaAt(20 * time.Hour), Result: holdfast.BackupFailed, Error: "disk unreadable"})
	w.record(t, s, w.mail, ok(time.Hour, 50))
	w.record(t, s, w.mail, ok(30*time.Hour, 70))
	w.record(t, s, w.other, ok(time.Hour, 1000))
}

func testMetaBackupStatus(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	w := newBackupWorld(t, s)
	fresh := metaGet[holdfast.Device](t)(s.GetDevice(ctx, w.acct, w.laptop.ID))
	metaAssertEqual(t, "a new device's status (CreateDevice ignores one given)", fresh.Backup, holdfast.BackupStatus{})
	rev := metaRevision(t, s, w.acct)
	w.backups(t, s)
	if got := metaRevision(t, s, w.acct); got != rev {
		t.Errorf("RecordBackup moved the revision from %d to %d; it changes nothing a decision reads", rev, got)
	}
	want := holdfast.BackupStatus{LastBackupAt: metaPtr(metaMicro(metaAt(10 * time.Hour))),
		LastAttemptAt: metaPtr(metaMicro(metaAt(20 * time.Hour))), LastResult: holdfast.BackupFailed,
		LastError: "disk unreadable", StoredBytes: 100}
	metaAssertEqual(t, "GetDevice after a failed run", metaGet[holdfast.Device](t)(s.GetDevice(ctx, w.acct, w.laptop.ID)).Backup, want)
	got := w.record(t, s, w.laptop, holdfast.BackupRun{At: metaAt(40 * time.Hour), Result: holdfast.BackupPartial,
		Error: "2 files unreadable", Committed: true, Bytes: 90})
	want = holdfast.BackupStatus{LastBackupAt: metaPtr(metaMicro(metaAt(40 * time.Hour))),
		LastAttemptAt: metaPtr(metaMicro(metaAt(40 * time.Hour))), LastResult: holdfast.BackupPartial,
		LastError: "2 files unreadable", StoredBytes: 90}
	metaAssertEqual(t, "RecordBackup of a partial run", got, want)

	// UpdateDevice leaves the status alone.
	d := metaGet[holdfast.Device](t)(s.GetDevice(ctx, w.acct, w.laptop.ID))
	d.Platform, d.Backup = "macOS", holdfast.BackupStatus{}
	metaMust(t, s.UpdateDevice(ctx, &d))
	metaAssertEqual(t, "status after UpdateDevice", metaGet[holdfast.Device](t)(s.GetDevice(ctx, w.acct, w.laptop.ID)).Backup, want)

	metaAssertEqual(t, "UserStoredBytes", metaGet[int64](t)(s.UserStoredBytes(ctx, w.acct, w.ann.ID)), int64(90+70))
	metaAssertEqual(t, "UserStoredBytes without devices' backups", metaGet[int64](t)(s.UserStoredBytes(ctx, w.acct, w.pat.ID)), int64(0))
	metaAssertEqual(t, "UserStoredBytes of another account's user", metaGet[int64](t)(s.UserStoredBytes(ctx, w.acct, w.other.UserID)), int64(0))
	_, err := s.RecordBackup(ctx, w.acct, w.other.ID, holdfast.BackupRun{At: metaAt(0), Result: holdfast.BackupFailed})
	metaAssertErr(t, "RecordBackup of another account's device", err, holdfast.ErrNotFound)
	_, err = s.RecordBackup(ctx, w.acct, "missing", holdfast.BackupRun{At: metaAt(0), Result: holdfast.BackupFailed})
	metaAssertErr(t, "RecordBackup of a missing device", err, holdfast.ErrNotFound)
}

func testMetaComplianceSummary(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	w := newBackupWorld(t, s)
	w.backups(t, s)
	c := func(p holdfast.Profile, workload, state string, n int, bytes int64) holdfast.ComplianceCount {
		return holdfast.ComplianceCount{ProfileID: p.ID, Workload: workload, State: state, Devices: n, Bytes: bytes}
	}
	// At 40 h: the laptop's snapshot (10 h) is past the 24 h window but the
	// device is inside its 48 h grace; the mail's (30 h) is inside; pat is
	// preserved and lee's desktop disabled; lee's drive (35 h) is new.
	want := sortCounts([]holdfast.ComplianceCount{
		c(w.strict, "endpoints", holdfast.Pending, 1, 100), c(w.strict, "endpoints", holdfast.Excluded, 1, 0),
		c(w.strict, "exchange_online", holdfast.Compliant, 1, 70),
		c(w.loose, "endpoints", holdfast.Excluded, 1, 0), c(w.loose, "onedrive", holdfast.Pending, 1, 0),
	})
	at := metaAt(40 * time.Hour)
	got := metaGet[[]holdfast.ComplianceCount](t)(s.ComplianceSummary(ctx, w.acct, holdfast.DeviceFilter{}, at))
	metaAssertEqual(t, "ComplianceSummary at 40 h", sortCounts(got), want)
	complianceAgrees(t, s, w, at)

	// At 60 h the laptop's grace is over; at 55 h the mail's window (30 h +
	// 24 h) has closed; lee's drive keeps the default grace (168 h).
	at = metaAt(60 * time.Hour)
	want = sortCounts([]holdfast.ComplianceCount{
		c(w.strict, "endpoints", holdfast.NonCompliant, 1, 100), c(w.strict, "endpoints", holdfast.Excluded, 1, 0),
		c(w.strict, "exchange_online", holdfast.NonCompliant, 1, 70),
		c(w.loose, "endpoints", holdfast.Excluded, 1, 0), c(w.loose, "onedrive", holdfast.Pending, 1, 0),
	})
	got = metaGet[[]holdfast.ComplianceCount](t)(s.ComplianceSummary(ctx, w.acct, holdfast.DeviceFilter{}, at))
	metaAssertEqual(t, "ComplianceSummary at 60 h", sortCounts(got), want)
	complianceAgrees(t, s, w, at)
	complianceAgrees(t, s, w, metaAt(300*time.Hour))

	got = metaGet[[]holdfast.ComplianceCount](t)(s.ComplianceSummary(ctx, w.acct,
		holdfast.DeviceFilter{ProfileIDs: []string{w.loose.ID}, Workloads: []string{"onedrive", "endpoints"}}, at))
	var loose []holdfast.ComplianceCount
	for _, c := range want {
		if c.ProfileID == w.loose.ID {
			loose = append(loose, c)
		}
	}
	metaAssertEqual(t, "ComplianceSummary in a scope", sortCounts(got), loose)
	got = metaGet[[]holdfast.ComplianceCount](t)(s.ComplianceSummary(ctx, w.acct, holdfast.DeviceFilter{Workloads: []string{}}, at))
	metaAssertEqual(t, "ComplianceSummary of an empty scope", len(got), 0)
	got = metaGet[[]holdfast.ComplianceCount](t)(s.ComplianceSummary(ctx, w.acct, holdfast.DeviceFilter{UserID: w.lee.ID}, at))
	metaAssertEqual(t, "ComplianceSummary of one user", sortCounts(got), loose)
}

// complianceAgrees checks the store's summary against holdfast.Compliance
// of every device of the account at at.
func complianceAgrees(t *testing.T, s holdfast.MetaStore, w backupWorld, at time.Time) {
	t.Helper()
	ctx := t.Context()
	profiles := map[string]holdfast.Profile{w.strict.ID: w.strict, w.loose.ID: w.loose}
	count := map[[3]string]int{}
	for _, d := range metaGet[[]holdfast.Device](t)(s.ListDevices(ctx, w.acct, "")) {
		u := metaGet[holdfast.User](t)(s.GetUser(ctx, w.acct, d.UserID))
		st := holdfast.Compliance(d, u.State, profiles[u.ProfileID].Backup, at)
		count[[3]string{u.ProfileID, d.Workload, st}]++
	}
	got := map[[3]string]int{}
	for _, c := range metaGet[[]holdfast.ComplianceCount](t)(s.ComplianceSummary(ctx, w.acct, holdfast.DeviceFilter{}, at)) {
		got[[3]string{c.ProfileID, c.Workload, c.State}] = c.Devices
	}
	metaAssertEqual(t, "ComplianceSummary against holdfast.Compliance at "+at.String(), got, count)
}

// sortCounts orders counts as the store does: by profile, workload, state.
func sortCounts(cs []holdfast.ComplianceCount) []holdfast.ComplianceCount {
	out := slices.Clone(cs)
	slices.SortFunc(out, func(a, b holdfast.ComplianceCount) int {
		return cmp.Or(cmp.Compare(a.ProfileID, b.ProfileID), cmp.Compare(a.Workload, b.Workload), cmp.Compare(a.State, b.State))
	})
	return out
}

func testMetaStorageSeries(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	w := newBackupWorld(t, s)
	w.backups(t, s)
	// metaAt(0) is 14:09 UTC: the mail's first backup (1 h) is on day 0,
	// the laptop's (10 h) and the mail's second (30 h) on day 1.
	day := func(n int) time.Time { return holdfast.UsageDay(metaAt(0)).AddDate(0, 0, n) }
	series := func(f holdfast.DeviceFilter, from, to time.Time) []int64 {
		pts := metaGet[[]holdfast.UsagePoint](t)(s.StorageSeries(ctx, w.acct, f, from, to))
		out := make([]int64, len(pts))
		for i, p := range pts {
			if !p.Day.Equal(holdfast.UsageDay(from).AddDate(0, 0, i)) {
				t.Errorf("point %d is of %s, want %s", i, p.Day, holdfast.UsageDay(from).AddDate(0, 0, i))
			}
			out[i] = p.Bytes
		}
		return out
	}
	metaAssertEqual(t, "StorageSeries", series(holdfast.DeviceFilter{}, day(-1), day(2)), []int64{0, 50, 170, 170})
	metaAssertEqual(t, "StorageSeries from within", series(holdfast.DeviceFilter{}, day(1).Add(5*time.Hour), day(1)), []int64{170})
	metaAssertEqual(t, "StorageSeries of endpoints", series(holdfast.DeviceFilter{Workloads: []string{"endpoints"}}, day(-1), day(2)), []int64{0, 0, 100, 100})
	metaAssertEqual(t, "StorageSeries of another profile", series(holdfast.DeviceFilter{ProfileIDs: []string{w.loose.ID}}, day(0), day(1)), []int64{0, 0})
	metaAssertEqual(t, "StorageSeries of no scope", series(holdfast.DeviceFilter{ProfileIDs: []string{}}, day(0), day(1)), []int64{0, 0})

	// Deleting a device and purging a user take their bytes out, today.
	today := holdfast.UsageDay(time.Now())
	metaMust(t, s.DeleteDevice(ctx, w.acct, w.laptop.ID))
	metaAssertEqual(t, "StorageSeries after DeleteDevice", series(holdfast.DeviceFilter{}, today, today.AddDate(0, 0, 1)), []int64{70, 70})
	metaMust(t, s.PurgeUser(ctx, w.acct, w.ann.ID))
	metaAssertEqual(t, "StorageSeries after PurgeUser", series(holdfast.DeviceFilter{}, today, today), []int64{0})
	metaAssertEqual(t, "StorageSeries before the deletions", series(holdfast.DeviceFilter{}, day(1), day(1)), []int64{170})
}
