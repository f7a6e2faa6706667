package reports_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/reports"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage"
	blobfs "github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// clock is a settable holdfast.Clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// fixture is an account on SQLite with the real engine: a platform
// administrator (root), two profiles, users and devices in both, and
// backups in the dedup store.
type fixture struct {
	t       *testing.T
	store   holdfast.MetaStore
	data    *storage.Store
	svc     *reports.Service
	adm     *admins.Service
	clock   *clock
	acct    string
	root    holdfast.Principal
	sales   holdfast.Profile // the second profile
	devices map[string]holdfast.Device
	users   map[string]holdfast.User
}

var t0 = time.Date(2026, 5, 20, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, mailer holdfast.Mailer) *fixture {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, ":memory:")
	must(t, err)
	t.Cleanup(func() { store.Close() })
	res, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{AdminEmail: "root@example.com", AdminPassword: "Correct horse battery 1"})
	must(t, err)
	engine, err := authz.New(ctx, authz.Options{Store: store})
	must(t, err)
	f := &fixture{t: t, store: store, clock: &clock{t: t0}, acct: res.Account.ID,
		root:    holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: res.Account.ID, AdminID: res.Admin.ID, Email: res.Admin.Email},
		devices: map[string]holdfast.Device{}, users: map[string]holdfast.User{}}
	runner := change.New(change.Options{Store: store, Authorizer: engine, Clock: f.clock})
	var workloads []directory.Workload
	for _, w := range engine.Catalog().Workloads {
		workloads = append(workloads, directory.Workload{ID: w.ID, Parent: w.Parent})
	}
	adm, err := admins.New(admins.Options{Changes: runner, Engine: engine})
	must(t, err)
	f.adm = adm
	blobs, err := blobfs.New(t.TempDir())
	must(t, err)
	f.data, err = storage.Open(ctx, blobs, storage.Options{MasterKey: storage.GenerateMasterKey()})
	must(t, err)
	f.svc = reports.New(reports.Options{Changes: runner, Directory: directory.New(directory.Options{Runner: runner, Roles: engine, Workloads: workloads}),
		Holds: legalhold.New(store, legalhold.Options{Changes: runner}), Admins: adm, Backups: f.data, Mailer: mailer, Clock: f.clock})
	f.seed()
	return f
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// seed: ana (Default) has laptop (backed up an hour ago, two sources) and
// old-desk (five days ago); bo (Default) has phone (never); cy (Sales,
// named like a formula) has sales-pc (ten days ago) and a decommissioned
// tablet (never).
func (f *fixture) seed() {
	ctx := f.t.Context()
	profiles, err := f.store.ListProfiles(ctx, f.acct)
	must(f.t, err)
	def := profiles[0]
	f.sales = holdfast.Profile{AccountID: f.acct, Name: "Sales"}
	must(f.t, f.store.CreateProfile(ctx, &f.sales))
	for _, u := range []holdfast.User{{Email: "ana@example.com", Name: "Ana", ProfileID: def.ID}, {Email: "bo@example.com", Name: "Bo", ProfileID: def.ID},
		{Email: "cy@example.com", Name: "=HYPERLINK(\"http://x\")", ProfileID: f.sales.ID}} {
		u.AccountID, u.State = f.acct, holdfast.UserActive
		must(f.t, f.store.CreateUser(ctx, &u))
		f.users[u.Email] = u
	}
	for _, d := range []struct{ user, name, state string }{{"ana", "laptop", "enabled"}, {"ana", "old-desk", "enabled"},
		{"bo", "phone", "enabled"}, {"cy", "sales-pc", "enabled"}, {"cy", "tablet", "decommissioned"}} {
		dev := holdfast.Device{AccountID: f.acct, UserID: f.users[d.user+"@example.com"].ID, Name: d.name, Kind: holdfast.DeviceEndpoint,
			Workload: "endpoints", State: d.state}
		must(f.t, f.store.CreateDevice(ctx, &dev))
		f.devices[d.name] = dev
	}
	f.backup("laptop", storage.SourceDevice, t0.Add(-26*time.Hour), 100)
	f.backup("laptop", storage.SourceDevice, t0.Add(-time.Hour), 300)
	f.backup("laptop", storage.SourceFiles, t0.Add(-2*time.Hour), 50)
	f.backup("old-desk", storage.SourceDevice, t0.Add(-5*24*time.Hour), 70)
	f.backup("sales-pc", storage.SourceDevice, t0.Add(-10*24*time.Hour), 900)
}

func (f *fixture) backup(device string, src storage.Source, at time.Time, size int64) {
	ctx := f.t.Context()
	d := f.devices[device]
	key, err := f.data.ChunkerKey(ctx, f.acct)
	must(f.t, err)
	content := bytes.Repeat([]byte{byte(size)}, int(size))
	ref := storage.NewChunker(key).Ref(content)
	must(f.t, f.data.PutChunk(ctx, f.acct, ref, content))
	_, err = f.data.CommitSnapshot(ctx, storage.Snapshot{AccountID: f.acct, UserID: d.UserID, Source: src, Device: d.Name,
		DeviceID: d.ID, Time: at, Items: []storage.Item{{Path: "x", Size: size, Chunks: []holdfast.ChunkRef{ref}}}})
	must(f.t, err)
}

// admin adds an administrator of role with scopes.
func (f *fixture) admin(email, role string, scopes holdfast.Scopes) holdfast.Principal {
	a := holdfast.Administrator{AccountID: f.acct, Name: email, Email: email, RoleID: role, Scopes: scopes, State: holdfast.AdminActive}
	must(f.t, f.store.CreateAdmin(f.t.Context(), &a))
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: f.acct, AdminID: a.ID, Email: a.Email}
}

// walk runs report id page by page (limit rows a page) and returns every
// row, checking each page's total.
func (f *fixture) walk(p holdfast.Principal, id string, q reports.Query, limit int) ([]reports.Row, int, *reports.Chart) {
	f.t.Helper()
	var rows []reports.Row
	var chart *reports.Chart
	pg := holdfast.Page{Limit: limit}
	total := -1
	for range 100 {
		res, err := f.svc.Run(f.t.Context(), p, id, q, pg)
		must(f.t, err)
		if len(res.Rows) > limit {
			f.t.Fatalf("%s: a page of %d rows, limit %d", id, len(res.Rows), limit)
		}
		if total >= 0 && res.Total != total {
			f.t.Errorf("%s: total moved from %d to %d between pages", id, total, res.Total)
		}
		if pg.Cursor == "" {
			chart = res.Chart
		} else if res.Chart != nil {
			f.t.Errorf("%s: a later page carries the chart", id)
		}
		total = res.Total
		rows = append(rows, res.Rows...)
		if res.Next == "" {
			return rows, total, chart
		}
		pg.Cursor = res.Next
	}
	f.t.Fatalf("%s: no last page", id)
	return nil, 0, nil
}

func column(rows []reports.Row, id string) []string {
	var out []string
	for _, r := range rows {
		s, _ := r[id].(string)
		out = append(out, s)
	}
	return out
}

func TestLastBackupAndNonCompliant(t *testing.T) {
	f := newFixture(t, nil)
	rows, total, chart := f.walk(f.root, "last_backup", nil, 2)
	if total != 5 || !slices.Equal(column(rows, "device"), []string{"laptop", "old-desk", "phone", "sales-pc", "tablet"}) {
		t.Fatalf("last_backup: total %d, devices %v", total, column(rows, "device"))
	}
	laptop := rows[0]
	if laptop["status"] != reports.StatusBackedUp || !laptop["last_backup"].(time.Time).Equal(t0.Add(-time.Hour)) || laptop["age_days"] != 0 {
		t.Errorf("laptop row %v", laptop)
	}
	if rows[2]["status"] != reports.StatusNever || rows[2]["last_backup"] != nil {
		t.Errorf("phone row %v", rows[2])
	}
	if rows[1]["age_days"] != 5 || rows[3]["user_email"] != "cy@example.com" || rows[3]["profile"] != "Sales" {
		t.Errorf("old-desk %v, sales-pc %v", rows[1], rows[3])
	}
	// within 1 day: laptop; 3 to 7: old-desk; over 7: sales-pc; never: phone, tablet.
	if want := []int64{1, 0, 1, 1, 2}; chart == nil || !slices.Equal(ys(chart.Series[0]), want) {
		t.Errorf("chart %+v, want %v", chart, want)
	}

	// Enabled devices without a backup in 3 days: old-desk, phone,
	// sales-pc (the decommissioned tablet is not counted), a row a page.
	rows, total, _ = f.walk(f.root, "non_compliant", nil, 1)
	if total != 3 || !slices.Equal(column(rows, "device"), []string{"old-desk", "phone", "sales-pc"}) {
		t.Errorf("non_compliant: total %d, %v", total, column(rows, "device"))
	}
	rows, total, _ = f.walk(f.root, "non_compliant", reports.Query{"days": "7"}, 10)
	if total != 2 || !slices.Equal(column(rows, "device"), []string{"phone", "sales-pc"}) {
		t.Errorf("non_compliant within 7 days: total %d, %v", total, column(rows, "device"))
	}
	f.clock.t = t0.Add(30 * 24 * time.Hour) // a month later, nobody is compliant
	if _, total, _ = f.walk(f.root, "non_compliant", nil, 10); total != 4 {
		t.Errorf("a month later %d non-compliant, want 4", total)
	}
}

func ys(s reports.Series) []int64 {
	var out []int64
	for _, p := range s.Points {
		out = append(out, p.Y)
	}
	return out
}

func TestBackupActivityByDay(t *testing.T) {
	f := newFixture(t, nil)
	rows, total, chart := f.walk(f.root, "backup_activity", reports.Query{"since": "2026-05-19", "until": "2026-05-21"}, 2)
	// In range: laptop at t0-26h (05-19 10:00), t0-2h and t0-1h (05-20).
	if total != 3 || len(rows) != 3 || rows[0]["device"] != "laptop" || !rows[0]["time"].(time.Time).Equal(t0.Add(-26*time.Hour)) {
		t.Fatalf("activity: total %d, rows %v", total, rows)
	}
	if rows[0]["user_email"] != "ana@example.com" {
		t.Errorf("activity row %v", rows[0])
	}
	if chart == nil || chart.Kind != "line" || len(chart.Series) != 2 {
		t.Fatalf("chart %+v", chart)
	}
	if got := chart.Series[0].Points; len(got) != 2 || got[0] != (reports.Point{X: "2026-05-19", Y: 1}) || got[1] != (reports.Point{X: "2026-05-20", Y: 2}) {
		t.Errorf("backups by day %v", got)
	}
	for q, field := range map[string]reports.Query{"since": {"since": "yesterday"}, "until": {"until": "2026-13-01"}} {
		if _, err := f.svc.Run(t.Context(), f.root, "backup_activity", field, holdfast.Page{}); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", q, err)
		}
	}
}

// TestReportsScopedByProfile: a View Only Administrator confined to the
// Sales profile sees only its user and devices, in rows, totals and
// charts; one without reports.view is refused.
func TestReportsScopedByProfile(t *testing.T) {
	f := newFixture(t, nil)
	viewer := f.admin("viewer@example.com", "view_only_admin", holdfast.Scopes{Profiles: []string{f.sales.ID}, AllWorkloads: true})
	rows, total, chart := f.walk(viewer, "last_backup", nil, 10)
	if total != 2 || !slices.Equal(column(rows, "device"), []string{"sales-pc", "tablet"}) {
		t.Errorf("scoped last_backup: total %d, %v", total, column(rows, "device"))
	}
	if want := []int64{0, 0, 0, 1, 1}; chart == nil || !slices.Equal(ys(chart.Series[0]), want) {
		t.Errorf("scoped chart %+v", chart)
	}
	if rows, total, _ := f.walk(viewer, "users", nil, 10); total != 1 || rows[0]["email"] != "cy@example.com" || rows[0]["devices"] != 2 {
		t.Errorf("scoped users: %d %v", total, rows)
	}
	if _, total, _ := f.walk(viewer, "backup_activity", reports.Query{"since": "2026-05-01"}, 10); total != 1 {
		t.Errorf("scoped activity: %d backups, want sales-pc's 1", total)
	}
	helpdesk := f.admin("hd@example.com", "help_desk_admin", holdfast.Scopes{AllProfiles: true, AllWorkloads: true})
	if _, err := f.svc.Run(t.Context(), helpdesk, "users", nil, holdfast.Page{}); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("without reports.view: %v, want ErrDenied", err)
	}
	if err := f.svc.WriteCSV(t.Context(), &bytes.Buffer{}, helpdesk, "users", nil); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("CSV without reports.view: %v, want ErrDenied", err)
	}
	// reports.view alone: every report runs, and shows nothing the
	// caller could not list.
	role, err := f.adm.CreateRole(t.Context(), f.root, admins.NewRole{Name: "Reports only", Rights: []string{"reports.view"}})
	must(t, err)
	only := f.admin("only@example.com", role.ID, holdfast.Scopes{AllProfiles: true, AllWorkloads: true})
	for _, id := range []string{"last_backup", "users", "backup_activity", "legal_holds", "audit_trail"} {
		if rows, total, _ := f.walk(only, id, nil, 10); total != 0 || len(rows) != 0 {
			t.Errorf("%s with reports.view alone: %d rows", id, total)
		}
	}
	// The trail needs admins.view, which a View Only Administrator lacks:
	// the report is empty, not an error.
	if rows, total, _ := f.walk(viewer, "audit_trail", nil, 10); total != 0 || len(rows) != 0 {
		t.Errorf("viewer's audit trail: %d rows", total)
	}
}

func TestReportInputRefused(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	if _, err := f.svc.Run(ctx, f.root, "no_such_report", nil, holdfast.Page{}); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("unknown report: %v", err)
	}
	var v *holdfast.ValidationError
	_, err := f.svc.Run(ctx, f.root, "users", reports.Query{"colour": "red"}, holdfast.Page{})
	if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != "colour" {
		t.Errorf("unknown filter: %v", err)
	}
	for _, q := range []reports.Query{{"days": "0"}, {"days": "x"}} {
		if _, err := f.svc.Run(ctx, f.root, "non_compliant", q, holdfast.Page{}); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("%v: %v", q, err)
		}
	}
	if _, err := f.svc.Run(ctx, f.root, "users", reports.Query{"state": "asleep"}, holdfast.Page{}); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("bad state: %v", err)
	}
}

// TestCSVWholeAndSafe: the CSV has every row over several pages, and a
// cell that a spreadsheet would run as a formula is neutralized.
func TestCSVWholeAndSafe(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	for i := range 1100 { // more than one page of the CSV's 1,000
		u := holdfast.User{AccountID: f.acct, Email: "bulk" + string(rune('a'+i%26)) + "-" + time.Duration(i).String() + "@example.com",
			Name: "Bulk", ProfileID: f.sales.ID, State: holdfast.UserActive}
		must(t, f.store.CreateUser(ctx, &u))
	}
	var b bytes.Buffer
	must(t, f.svc.WriteCSV(ctx, &b, f.root, "users", nil))
	recs, err := csv.NewReader(&b).ReadAll()
	must(t, err)
	if len(recs) != 1+1103 || !slices.Equal(recs[0], []string{"User ID", "Email", "Name", "Profile", "State", "Devices", "Created"}) {
		t.Fatalf("%d records, header %v", len(recs), recs[0])
	}
	found := false
	for _, r := range recs[1:] {
		if r[1] == "cy@example.com" {
			found = true
			if r[2] != `'=HYPERLINK("http://x")` || r[3] != "Sales" || r[5] != "2" {
				t.Errorf("cy's row %q", r)
			}
		}
	}
	if !found {
		t.Error("cy is not in the CSV")
	}
}

// TestStorageUse: a device's use is the newest backup of each of its
// sources (laptop: 300 of the device, 50 of files), by workload in the
// chart.
func TestStorageUse(t *testing.T) {
	f := newFixture(t, nil)
	rows, _, chart := f.walk(f.root, "storage", nil, 10)
	want := map[string]int64{"laptop": 350, "old-desk": 70, "phone": 0, "sales-pc": 900, "tablet": 0}
	for _, r := range rows {
		if r["used_bytes"] != want[r["device"].(string)] {
			t.Errorf("%s uses %v, want %d", r["device"], r["used_bytes"], want[r["device"].(string)])
		}
	}
	if chart == nil || len(chart.Series[0].Points) != 1 || chart.Series[0].Points[0] != (reports.Point{X: "endpoints", Y: 1320}) {
		t.Errorf("chart %+v", chart)
	}
}

func TestLegalHoldsAndAuditReports(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	h := holdfast.LegalHold{AccountID: f.acct, Name: "Case 7", DataAccess: holdfast.AccessAllData, CreatedAt: t0}
	must(t, f.store.CreateHold(ctx, &h))
	must(t, f.store.AddCustodian(ctx, f.acct, &holdfast.Custodian{HoldID: h.ID, UserID: f.users["ana@example.com"].ID, AddedAt: t0}))
	rows, total, _ := f.walk(f.root, "legal_holds", nil, 10)
	if total != 1 || rows[0]["name"] != "Case 7" || rows[0]["custodians"] != 1 || rows[0]["devices"] != 2 {
		t.Errorf("legal holds: %d %v", total, rows)
	}
	viewer := f.admin("viewer@example.com", "view_only_admin", holdfast.Scopes{AllProfiles: true, AllWorkloads: true})
	if _, total, _ := f.walk(viewer, "legal_holds", nil, 10); total != 0 {
		t.Errorf("a viewer without a legal hold right sees %d holds", total)
	}
	rows, total, _ = f.walk(f.root, "audit_trail", reports.Query{"action": "account.bootstrap"}, 10)
	if total != 1 || rows[0]["action"] != "account.bootstrap" {
		t.Errorf("audit trail of account.bootstrap: %d %v", total, rows)
	}
}
