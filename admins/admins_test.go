package admins_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// fixture is the service over a real SQLite store and the real engine, with
// an account, its platform administrator (root), a Cloud administrator and
// a Help Desk administrator.
type fixture struct {
	t        *testing.T
	store    holdfast.MetaStore
	svc      *admins.Service
	acct     string
	root     holdfast.Principal
	cloud    holdfast.Principal
	helpdesk holdfast.Principal
}

// auditKey chains the test store's audit trail.
var auditKey = []byte("admins test audit key, 32 bytes!")

func newFixture(t *testing.T) *fixture {
	return newFixtureOver(t, func(s holdfast.MetaStore) holdfast.MetaStore { return s })
}

// newFixtureOver builds the fixture with the service writing through
// wrap(store).
func newFixtureOver(t *testing.T, wrap func(holdfast.MetaStore) holdfast.MetaStore) *fixture {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "holdfast.db"), sqlstore.WithAuditKey(auditKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	acct := holdfast.Account{ID: "acct_admins", Name: "Admins test", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}
	must(t, store.CreateAccount(ctx, &acct))
	f := &fixture{t: t, store: store, acct: acct.ID}
	all := holdfast.Scopes{AllProfiles: true, AllWorkloads: true, AllLegalHoldTypes: true}
	f.root = f.seedAdmin("Root", "root@example.com", "platform_admin", all)
	f.cloud = f.seedAdmin("Cloud", "cloud@example.com", "cloud_admin", all)
	f.helpdesk = f.seedAdmin("Help", "help@example.com", "help_desk_admin", all)
	engine, err := authz.New(ctx, authz.Options{Store: store, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	runner := change.New(change.Options{Store: wrap(store), Authorizer: engine})
	if f.svc, err = admins.New(admins.Options{Changes: runner, Engine: engine}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) seedAdmin(name, email, role string, scopes holdfast.Scopes) holdfast.Principal {
	f.t.Helper()
	a := holdfast.Administrator{AccountID: f.acct, Name: name, Email: email, RoleID: role, Scopes: scopes, State: holdfast.AdminActive}
	must(f.t, f.store.CreateAdmin(f.t.Context(), &a))
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: f.acct, AdminID: a.ID, Email: a.Email}
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// audits returns the account's audit records of action, oldest first.
func (f *fixture) audits(action string) []holdfast.AuditRecord {
	f.t.Helper()
	recs, err := f.store.ListAudit(f.t.Context(), f.acct, holdfast.AuditFilter{Action: action})
	must(f.t, err)
	return recs
}

// revision is the account's data revision: it moves with every change.
func (f *fixture) revision() int64 {
	f.t.Helper()
	rev, err := f.store.Revision(f.t.Context(), f.acct)
	must(f.t, err)
	return rev
}

// refused checks that err is want, that the account did not change since
// rev, and that no success record of action was written.
func (f *fixture) refused(err, want error, rev int64, action string, successesBefore int) {
	f.t.Helper()
	if !errors.Is(err, want) {
		f.t.Fatalf("error = %v, want %v", err, want)
	}
	if got := f.revision(); got != rev {
		f.t.Errorf("revision %d -> %d: a refused change changed the account", rev, got)
	}
	if n := successes(f.audits(action)); n != successesBefore {
		f.t.Errorf("%d success records of %s, want %d", n, action, successesBefore)
	}
}

func successes(recs []holdfast.AuditRecord) int {
	n := 0
	for _, r := range recs {
		if r.Outcome == holdfast.OutcomeSuccess {
			n++
		}
	}
	return n
}

func fields(err error) []string {
	var v *holdfast.ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	var out []string
	for _, fe := range v.Fields {
		out = append(out, fe.Field)
	}
	return out
}

func TestCreateAdmin(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, err := f.svc.Create(ctx, f.root, admins.NewAdmin{Name: " Ann ", Email: "Ann@Example.com", Role: "cloud_admin", TimeZone: "Europe/Berlin"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "Ann" || a.Email != "ann@example.com" || a.State != holdfast.AdminActive || a.CreatedBy != f.root.AdminID {
		t.Errorf("created %+v", a)
	}
	recs := f.audits("administrator.create")
	if len(recs) != 1 || recs[0].ResourceID != a.ID || recs[0].ActorID != f.root.AdminID || recs[0].Outcome != holdfast.OutcomeSuccess {
		t.Fatalf("audit = %+v, want one success record of %s by root", recs, a.ID)
	}

	rev := f.revision()
	_, err = f.svc.Create(ctx, f.root, admins.NewAdmin{Name: "", Email: "Bo <bo@example.com>", Role: "no_such_role", Country: "XX"})
	f.refused(err, holdfast.ErrInvalid, rev, "administrator.create", 1)
	if got := fields(err); !slices.Equal(got, []string{"name", "email", "country", "role"}) {
		t.Errorf("invalid fields = %q", got)
	}
	_, err = f.svc.Create(ctx, f.root, admins.NewAdmin{Name: "Ann again", Email: "ann@example.com", Role: "cloud_admin"})
	f.refused(err, holdfast.ErrConflict, rev, "administrator.create", 1)
}

func TestAdminHierarchy(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	rev := f.revision()
	// A Help Desk administrator manages no administrators at all.
	_, err := f.svc.Create(ctx, f.helpdesk, admins.NewAdmin{Name: "X", Email: "x@example.com", Role: "help_desk_admin"})
	f.refused(err, holdfast.ErrDenied, rev, "administrator.create", 0)
	// A Cloud administrator may create a Help Desk administrator, but not
	// a Platform administrator, nor change or delete one.
	_, err = f.svc.Create(ctx, f.cloud, admins.NewAdmin{Name: "P", Email: "p@example.com", Role: "platform_admin"})
	f.refused(err, holdfast.ErrDenied, rev, "administrator.create", 0)
	disabled := holdfast.AdminDisabled
	_, err = f.svc.Update(ctx, f.cloud, f.root.AdminID, admins.AdminPatch{State: &disabled})
	f.refused(err, holdfast.ErrDenied, rev, "administrator.update", 0)
	err = f.svc.Delete(ctx, f.cloud, f.root.AdminID)
	f.refused(err, holdfast.ErrDenied, rev, "administrator.delete", 0)
	denied := 0
	for _, action := range []string{"administrator.create", "administrator.update", "administrator.delete"} {
		for _, r := range f.audits(action) {
			if r.Outcome == holdfast.OutcomeDenied {
				denied++
			}
		}
	}
	if denied != 4 {
		t.Errorf("%d denied records, want one per refusal (4)", denied)
	}
	if _, err := f.svc.Create(ctx, f.cloud, admins.NewAdmin{Name: "H", Email: "h@example.com", Role: "help_desk_admin",
		Scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true}}); err != nil {
		t.Fatalf("Cloud administrator creating a Help Desk administrator: %v", err)
	}
}

func TestAdminLockout(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	rev := f.revision()
	disabled := holdfast.AdminDisabled
	_, err := f.svc.Update(ctx, f.root, f.root.AdminID, admins.AdminPatch{State: &disabled})
	f.refused(err, holdfast.ErrConflict, rev, "administrator.update", 0)
	// Demoting oneself is refused by the policies before the lockout rule.
	demoted := "cloud_admin"
	_, err = f.svc.Update(ctx, f.root, f.root.AdminID, admins.AdminPatch{Role: &demoted})
	f.refused(err, holdfast.ErrDenied, rev, "administrator.update", 0)
	err = f.svc.Delete(ctx, f.root, f.root.AdminID)
	f.refused(err, holdfast.ErrDenied, rev, "administrator.delete", 0)
	if a, err := f.store.GetAdmin(ctx, f.acct, f.root.AdminID); err != nil || a.State != holdfast.AdminActive || a.RoleID != "platform_admin" {
		t.Errorf("root after refusals = %+v, %v", a, err)
	}
}

func TestDisableVoidsTokens(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	tok, _, err := f.svc.CreateToken(ctx, f.cloud, admins.NewToken{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	disabled := holdfast.AdminDisabled
	a, err := f.svc.Update(ctx, f.root, f.cloud.AdminID, admins.AdminPatch{State: &disabled})
	if err != nil || a.State != holdfast.AdminDisabled {
		t.Fatalf("disable = %+v, %v", a, err)
	}
	toks, err := f.store.ListTokens(ctx, f.acct, f.cloud.AdminID)
	must(t, err)
	if len(toks) != 1 || toks[0].ID != tok.ID || toks[0].RevokedAt == nil {
		t.Errorf("tokens of the disabled administrator = %+v, want %s revoked", toks, tok.ID)
	}
	recs := f.audits("administrator.update")
	if len(recs) != 1 || recs[0].ResourceID != f.cloud.AdminID {
		t.Errorf("audit = %+v", recs)
	}
}

func TestListPaging(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for i := range 109 { // with the fixture's three: 112
		f.seedAdmin(fmt.Sprintf("Admin %03d", i), fmt.Sprintf("a%03d@example.com", i), "help_desk_admin", holdfast.Scopes{})
	}
	first, err := f.svc.List(ctx, f.root, admins.Query{}, holdfast.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Items) != holdfast.DefaultPageSize || first.Total != 112 || first.Next == "" {
		t.Fatalf("first page: %d items, total %d, next %q", len(first.Items), first.Total, first.Next)
	}
	second, err := f.svc.List(ctx, f.root, admins.Query{}, holdfast.Page{Cursor: first.Next})
	if err != nil {
		t.Fatal(err)
	}
	if len(second.Items) != 12 || second.Total != 112 || second.Next != "" {
		t.Fatalf("second page: %d items, total %d, next %q", len(second.Items), second.Total, second.Next)
	}
	seen := map[string]bool{}
	for _, a := range append(first.Items, second.Items...) {
		if seen[a.ID] {
			t.Errorf("%s listed twice", a.Email)
		}
		seen[a.ID] = true
	}
	// Filters count in the query: the total is of the matches.
	helpdesk, err := f.svc.List(ctx, f.root, admins.Query{RoleID: "help_desk_admin"}, holdfast.Page{Limit: 5})
	if err != nil || helpdesk.Total != 110 || len(helpdesk.Items) != 5 {
		t.Errorf("help desk page = %d items, total %d, %v; want 5 of 110", len(helpdesk.Items), helpdesk.Total, err)
	}
	_, err = f.svc.List(ctx, f.root, admins.Query{State: "gone", LastLoginDays: 45, Product: "toaster"}, holdfast.Page{})
	if got := fields(err); !slices.Equal(got, []string{"state", "last_login_before", "product"}) {
		t.Errorf("bad filters: fields %q, error %v", got, err)
	}
	if _, err := f.svc.List(ctx, f.helpdesk, admins.Query{}, holdfast.Page{}); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("Help Desk listing administrators: %v, want ErrDenied", err)
	}
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	role, err := f.svc.CreateRole(ctx, f.root, admins.NewRole{Name: "Ops", ImportFrom: "help_desk_admin", Rights: []string{"reports.view"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(role.Rights, "reports.view") || !slices.Contains(role.Rights, "users.manage") || role.Predefined {
		t.Errorf("created role %+v", role.Role)
	}
	name := "Ops team"
	if role, err = f.svc.UpdateRole(ctx, f.root, role.ID, admins.RolePatch{Name: &name, Rights: []string{"users.view"}}); err != nil {
		t.Fatal(err)
	}
	if role.Name != name || !slices.Equal(role.Rights, []string{"users.view"}) {
		t.Errorf("updated role %+v", role.Role)
	}
	rev := f.revision()
	renamed := "Not the Cloud Administrator"
	_, err = f.svc.UpdateRole(ctx, f.root, "cloud_admin", admins.RolePatch{Name: &renamed})
	f.refused(err, holdfast.ErrInvalid, rev, "role.update", 1)
	_, err = f.svc.CreateRole(ctx, f.root, admins.NewRole{Name: "R", Rights: []string{"users.fly"}, Categories: []string{"magic"}})
	f.refused(err, holdfast.ErrInvalid, rev, "role.create", 1)
	_, err = f.svc.CreateRole(ctx, f.helpdesk, admins.NewRole{Name: "R", Rights: []string{"users.view"}})
	f.refused(err, holdfast.ErrDenied, rev, "role.create", 1)

	// A role in use cannot go (the policies refuse it first).
	f.seedAdmin("Opsy", "opsy@example.com", role.ID, holdfast.Scopes{AllProfiles: true})
	rev = f.revision()
	err = f.svc.DeleteRole(ctx, f.root, role.ID)
	f.refused(err, holdfast.ErrDenied, rev, "role.delete", 0)
	// A predefined role without edits has nothing to delete.
	err = f.svc.DeleteRole(ctx, f.root, "view_only_admin")
	f.refused(err, holdfast.ErrConflict, rev, "role.delete", 0)

	page, err := f.svc.Roles(ctx, f.root, holdfast.Page{Limit: 2})
	if err != nil || len(page.Items) != 2 || page.Next == "" {
		t.Fatalf("roles page = %d items, next %q, %v", len(page.Items), page.Next, err)
	}
	var ids []string
	for p := (holdfast.Page{Limit: 2}); ; {
		got, err := f.svc.Roles(ctx, f.root, p)
		must(t, err)
		for _, r := range got.Items {
			ids = append(ids, r.ID)
		}
		if got.Total != page.Total {
			t.Errorf("total moved: %d, then %d", page.Total, got.Total)
		}
		if got.Next == "" {
			break
		}
		p.Cursor = got.Next
	}
	if len(ids) != page.Total || !slices.Contains(ids, role.ID) || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
		t.Errorf("paged roles %q, total %d", ids, page.Total)
	}
}

func TestSettings(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	days := 30
	a, err := f.svc.UpdateSettings(ctx, f.root, admins.SettingsPatch{RollbackDays: &days})
	if err != nil || a.Settings.RollbackDays != 30 {
		t.Fatalf("settings = %+v, %v", a.Settings, err)
	}
	if recs := f.audits("account.settings.update"); len(recs) != 1 {
		t.Errorf("audit = %+v", recs)
	}
	rev := f.revision()
	bad, few := 91, 14
	_, err = f.svc.UpdateSettings(ctx, f.root, admins.SettingsPatch{RollbackDays: &bad, InactiveAdminDays: &few})
	f.refused(err, holdfast.ErrInvalid, rev, "account.settings.update", 1)
	if got := fields(err); !slices.Equal(got, []string{"rollback_days", "inactive_admin_days"}) {
		t.Errorf("fields %q", got)
	}
	_, err = f.svc.UpdateSettings(ctx, f.helpdesk, admins.SettingsPatch{RollbackDays: &days})
	f.refused(err, holdfast.ErrDenied, rev, "account.settings.update", 1)
}

func TestTokens(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var made []string
	for i := range 5 {
		tok, secret, err := f.svc.CreateToken(ctx, f.root, admins.NewToken{Name: fmt.Sprintf("t%d", i), ExpiresInDays: 30})
		if err != nil || secret == "" {
			t.Fatalf("create token: %v", err)
		}
		made = append(made, tok.ID)
	}
	var listed []string
	for p := (holdfast.Page{Limit: 2}); ; {
		got, err := f.svc.Tokens(ctx, f.root, p)
		must(t, err)
		if got.Total != 5 {
			t.Errorf("total %d, want 5", got.Total)
		}
		for _, tok := range got.Items {
			listed = append(listed, tok.ID)
		}
		if got.Next == "" {
			break
		}
		p.Cursor = got.Next
	}
	if !slices.Equal(listed, made) {
		t.Errorf("paged tokens %q, want %q", listed, made)
	}
	// A token never mints one that outlives it.
	child := f.root
	child.TokenID = made[0]
	rev := f.revision()
	_, _, err := f.svc.CreateToken(ctx, child, admins.NewToken{Name: "forever"})
	f.refused(err, holdfast.ErrInvalid, rev, "api_token.create", 5)
	// Another administrator's token is not found, and stays.
	err = f.svc.RevokeToken(ctx, f.cloud, made[1])
	f.refused(err, holdfast.ErrNotFound, rev, "api_token.revoke", 0)
	must(t, f.svc.RevokeToken(ctx, f.root, made[1]))
	if recs := f.audits("api_token.revoke"); len(recs) != 1 || recs[0].ResourceID != made[1] {
		t.Errorf("revoke audit = %+v", recs)
	}
	if err := f.svc.RevokeToken(ctx, f.root, made[1]); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("revoking twice: %v, want ErrNotFound", err)
	}
}

// failingAudit is a store whose transactions cannot write audit records.
type failingAudit struct{ holdfast.MetaStore }

func (s failingAudit) Tx(ctx context.Context, fn func(tx holdfast.MetaStore) error) error {
	return s.MetaStore.Tx(ctx, func(tx holdfast.MetaStore) error { return fn(failingAudit{tx}) })
}

func (failingAudit) AppendAudit(context.Context, *holdfast.AuditRecord) error {
	return errors.New("audit table refuses inserts")
}

func TestChangeRefusedWithoutAudit(t *testing.T) {
	f := newFixtureOver(t, func(s holdfast.MetaStore) holdfast.MetaStore { return failingAudit{s} })
	ctx := t.Context()
	rev := f.revision()
	_, err := f.svc.Create(ctx, f.root, admins.NewAdmin{Name: "Ann", Email: "ann@example.com", Role: "cloud_admin"})
	f.refused(err, holdfast.ErrUnavailable, rev, "administrator.create", 0)
	if _, err := f.store.GetAdminByEmail(ctx, "ann@example.com"); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("administrator stored without its audit record: %v", err)
	}
	days := 30
	_, err = f.svc.UpdateSettings(ctx, f.root, admins.SettingsPatch{RollbackDays: &days})
	f.refused(err, holdfast.ErrUnavailable, rev, "account.settings.update", 0)
	_, _, err = f.svc.CreateToken(ctx, f.root, admins.NewToken{Name: "t"})
	f.refused(err, holdfast.ErrUnavailable, rev, "api_token.create", 0)
}

func TestIssueToken(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tok, secret, err := admins.IssueToken(ctx, f.store, admins.IssueOptions{AdminEmail: " Root@Example.com ", Name: "script", Clock: fixed(at)})
	if err != nil || secret == "" || tok.AdminID != f.root.AdminID || !tok.CreatedAt.Equal(at) {
		t.Fatalf("IssueToken = %+v, %v", tok, err)
	}
	recs := f.audits("api_token.create")
	if len(recs) != 1 || recs[0].ResourceID != tok.ID || !recs[0].Time.Equal(at) {
		t.Errorf("audit = %+v", recs)
	}
	if _, _, err := admins.IssueToken(ctx, f.store, admins.IssueOptions{AdminEmail: "nobody@example.com", Name: "x"}); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("unknown administrator: %v", err)
	}
}

type fixed time.Time

func (c fixed) Now() time.Time { return time.Time(c) }

// TestExportAudit: the export is every matching record, oldest first, as
// CSV with a header, across pages; a cell a spreadsheet would run as a
// formula is quoted with an apostrophe; the time window narrows it; a
// window that ends before it starts is a field error; an administrator
// who may not read the trail gets the refusal and not one byte.
func TestExportAudit(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	base := time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)
	n := holdfast.MaxPageSize + 5
	for i := range n {
		r := holdfast.AuditRecord{AccountID: f.acct, Time: base.Add(time.Duration(i) * time.Minute), ActorID: f.root.AdminID,
			ActorEmail: f.root.Email, Action: "user.update", ResourceType: "user", ResourceID: fmt.Sprint("u", i), Outcome: holdfast.OutcomeSuccess}
		if i == 1 {
			r.ResourceID = "=HYPERLINK(\"x\")"
		}
		must(t, f.store.AppendAudit(ctx, &r))
	}
	var out strings.Builder
	must(t, f.svc.ExportAudit(ctx, f.root, holdfast.AuditFilter{Action: "user.update"}, &out))
	rows, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
	must(t, err)
	if len(rows) != n+1 || rows[0][0] != "seq" || rows[0][4] != "action" {
		t.Fatalf("%d rows (header %q), want the header and %d records", len(rows), rows[0], n)
	}
	if rows[1][6] != "u0" || rows[n][6] != fmt.Sprint("u", n-1) || rows[1][3] != f.root.Email {
		t.Errorf("first and last rows %q, %q: want oldest first with the actor's email", rows[1], rows[n])
	}
	if rows[2][6] != `'=HYPERLINK("x")` {
		t.Errorf("a formula cell is written %q", rows[2][6])
	}

	out.Reset()
	must(t, f.svc.ExportAudit(ctx, f.root, holdfast.AuditFilter{Since: base.Add(10 * time.Minute), Before: base.Add(13 * time.Minute)}, &out))
	if rows, _ := csv.NewReader(strings.NewReader(out.String())).ReadAll(); len(rows) != 4 || rows[1][6] != "u10" || rows[3][6] != "u12" {
		t.Errorf("the window 10 to 13 minutes exported %q", rows)
	}
	var bad *holdfast.ValidationError
	if err := f.svc.ExportAudit(ctx, f.root, holdfast.AuditFilter{Since: base, Before: base}, &out); !errors.As(err, &bad) || bad.Fields[0].Field != "before" {
		t.Errorf("an empty window: %v, want a field error on before", err)
	}

	out.Reset()
	if err := f.svc.ExportAudit(ctx, f.helpdesk, holdfast.AuditFilter{}, &out); !errors.Is(err, holdfast.ErrDenied) || out.Len() != 0 {
		t.Errorf("help desk export: %v with %d bytes, want the refusal and nothing", err, out.Len())
	}
}
