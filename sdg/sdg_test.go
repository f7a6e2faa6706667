package sdg_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/sdg"
	"github.com/holdfast/holdfast/sdg/scan"
	"github.com/holdfast/holdfast/storage/postgres"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/storagetest"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// stores runs fn on SQLite and on PostgreSQL (required in CI).
func stores(t *testing.T, fn func(t *testing.T, meta holdfast.MetaStore)) {
	t.Run("sqlite", func(t *testing.T) {
		meta, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
		must(t, err)
		t.Cleanup(func() { meta.Close() })
		fn(t, meta)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("HOLDFAST_TEST_POSTGRES_URL")
		if dsn == "" {
			storagetest.SkipOrFail(t, "postgres", "HOLDFAST_TEST_POSTGRES_URL not set")
		}
		meta, err := postgres.Open(t.Context(), dsn)
		if err != nil {
			storagetest.SkipOrFail(t, "postgres", "open: "+err.Error())
		}
		t.Cleanup(func() { meta.Close() })
		fn(t, meta)
	})
}

// fixture is the service over a store and the real engine, in an account
// of the edition and add-ons given, with one administrator per role.
type fixture struct {
	meta    holdfast.MetaStore
	svc     *sdg.Service
	acct    holdfast.Account
	profile holdfast.Profile
	admins  map[string]holdfast.Principal
}

func newFixture(t *testing.T, meta holdfast.MetaStore, edition holdfast.Edition, addons []string, roles ...string) *fixture {
	t.Helper()
	ctx := t.Context()
	a := holdfast.Account{Name: "Acme", Edition: edition, Addons: addons, Settings: holdfast.DefaultAccountSettings()}
	must(t, meta.CreateAccount(ctx, &a))
	f := &fixture{meta: meta, acct: a, admins: map[string]holdfast.Principal{}}
	f.profile = holdfast.Profile{AccountID: a.ID, Name: "Sales"}
	must(t, meta.CreateProfile(ctx, &f.profile))
	for _, role := range roles {
		email := strings.ToLower(a.ID) + "-" + role + "@example.com"
		ad := holdfast.Administrator{AccountID: a.ID, Name: role, Email: email, RoleID: role,
			Scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true}, State: holdfast.AdminActive}
		must(t, meta.CreateAdmin(ctx, &ad))
		f.admins[role] = holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: a.ID, AdminID: ad.ID, Email: email}
	}
	engine, err := authz.New(ctx, authz.Options{Store: meta, CacheBytes: -1})
	must(t, err)
	f.svc = sdg.New(sdg.Options{Changes: change.New(change.Options{Store: meta, Authorizer: engine}),
		KnownWorkload: func(w string) bool { return w == "endpoints" || w == "onedrive" }})
	return f
}

func (f *fixture) audit(t *testing.T, action string) []holdfast.AuditRecord {
	t.Helper()
	recs, err := f.meta.ListAudit(t.Context(), f.acct.ID, holdfast.AuditFilter{Action: action})
	must(t, err)
	return recs
}

var employeeID = sdg.TypeInput{Name: "Employee id", Pattern: `EMP-\d{6}\b`, Keywords: []string{"employee"}, Alone: scan.Low, WithKeyword: scan.High}

// TestAddonRequired: without the add-on every SDG call is a refusal that
// says why (the edition and the add-on), audited when it is a change; with
// the add-on, or on Elite Plus, the same administrator gets through.
func TestAddonRequired(t *testing.T) {
	stores(t, func(t *testing.T, meta holdfast.MetaStore) {
		ctx := t.Context()
		for _, ed := range []holdfast.Edition{holdfast.EditionEnterprise, holdfast.EditionElite} {
			f := newFixture(t, meta, ed, []string{holdfast.AddonGovernance}, "cloud_admin")
			ca := f.admins["cloud_admin"]
			_, err := f.svc.CreateType(ctx, ca, employeeID)
			var denied *holdfast.DeniedError
			if !errors.As(err, &denied) || !strings.Contains(err.Error(), "Sensitive Data Governance is not available in the") ||
				!strings.Contains(err.Error(), "without the Sensitive Data Governance add-on") {
				t.Fatalf("%s without the add-on: %v, want the add-on refusal", ed, err)
			}
			if recs := f.audit(t, "sdg.type.create"); len(recs) != 1 || recs[0].Outcome != holdfast.OutcomeDenied {
				t.Errorf("%s: records %+v, want one denied", ed, recs)
			}
			for name, call := range map[string]func() error{
				"ListPolicies": func() error { _, err := f.svc.ListPolicies(ctx, ca, holdfast.Page{}); return err },
				"GetSettings":  func() error { _, err := f.svc.GetSettings(ctx, ca); return err },
				"TestType": func() error {
					_, err := f.svc.TestType(ctx, ca, sdg.TypeTest{ID: scan.CreditCard, Sample: "4111111111111111"})
					return err
				},
			} {
				if err := call(); !errors.Is(err, holdfast.ErrDenied) {
					t.Errorf("%s %s without the add-on: %v", ed, name, err)
				}
			}
		}
		for _, acct := range []struct {
			ed     holdfast.Edition
			addons []string
		}{{holdfast.EditionEnterprise, []string{holdfast.AddonSensitiveDataGovernance}}, {holdfast.EditionElitePlus, nil}} {
			f := newFixture(t, meta, acct.ed, acct.addons, "cloud_admin")
			if _, err := f.svc.CreateType(ctx, f.admins["cloud_admin"], employeeID); err != nil {
				t.Fatalf("%s %v: %v", acct.ed, acct.addons, err)
			}
		}
	})
}

func sdgAccount(t *testing.T, meta holdfast.MetaStore, roles ...string) *fixture {
	return newFixture(t, meta, holdfast.EditionEnterprise, []string{holdfast.AddonSensitiveDataGovernance}, roles...)
}

// TestCustomTypes: an administrator defines a type, tests it on sample
// text (masked snippets, tiers by keyword), edits and deletes it; bad
// definitions name their field and store nothing; names are unique.
func TestCustomTypes(t *testing.T) {
	stores(t, func(t *testing.T, meta holdfast.MetaStore) {
		ctx := t.Context()
		f := sdgAccount(t, meta, "sensitive_data_governance_admin")
		p := f.admins["sensitive_data_governance_admin"]
		typ, err := f.svc.CreateType(ctx, p, employeeID)
		must(t, err)
		if !strings.HasPrefix(typ.ID, "sdt_") || typ.Window != scan.DefaultWindow || typ.Validator != scan.ValidatorNone {
			t.Fatalf("created %+v", typ)
		}
		if _, err := f.svc.CreateType(ctx, p, employeeID); !errors.Is(err, holdfast.ErrConflict) {
			t.Errorf("a second type of the same name: %v", err)
		}
		for field, in := range map[string]sdg.TypeInput{
			"name":         {Pattern: `X\d`, WithKeyword: scan.Low},
			"pattern":      {Name: "No literal", Pattern: `[A-Z]\d{6}`, WithKeyword: scan.Low},
			"with_keyword": {Name: "Tiers", Pattern: `X\d`, Alone: scan.High, WithKeyword: scan.Low},
			"validator":    {Name: "Check", Pattern: `X\d`, Validator: "crc32", WithKeyword: scan.Low},
		} {
			_, err := f.svc.CreateType(ctx, p, in)
			var v *holdfast.ValidationError
			if !errors.As(err, &v) || !strings.Contains(err.Error(), field) {
				t.Errorf("bad %s: %v", field, err)
			}
		}
		got, err := f.svc.TestType(ctx, p, sdg.TypeTest{ID: typ.ID, Sample: "EMP-123456 and then " + strings.Repeat("x ", 200) + "employee EMP-654321"})
		must(t, err)
		if len(got) != 2 || got[0].Confidence != scan.Low || got[1].Confidence != scan.High {
			t.Fatalf("TestType = %+v", got)
		}
		for _, m := range got {
			if strings.Contains(m.Snippet, "123456") || strings.Contains(m.Snippet, "654321") || !strings.Contains(m.Snippet, "***-******") {
				t.Errorf("snippet %q", m.Snippet)
			}
		}
		unsaved := sdg.TypeInput{Name: "Loyalty", Pattern: `\b\d{8}\b`, Keywords: []string{"loyalty"}, Validator: scan.ValidatorLuhn, WithKeyword: scan.Medium}
		got, err = f.svc.TestType(ctx, p, sdg.TypeTest{Type: &unsaved, Sample: "loyalty 12345674, 12345675"})
		must(t, err)
		if len(got) != 1 || got[0].Start != 8 {
			t.Fatalf("TestType of an unsaved type = %+v", got)
		}
		edit := employeeID
		edit.Name, edit.Pattern = "Staff id", `STAFF-\d{4}`
		up, err := f.svc.UpdateType(ctx, p, typ.ID, edit)
		must(t, err)
		if read, _ := f.svc.GetType(ctx, p, typ.ID); read.Name != "Staff id" || read.Pattern != up.Pattern {
			t.Errorf("after the update: %+v", read)
		}
		if _, err := f.svc.UpdateType(ctx, p, scan.CreditCard, edit); !errors.Is(err, holdfast.ErrConflict) {
			t.Errorf("editing a predefined type: %v", err)
		}
		page, err := f.svc.ListTypes(ctx, p, holdfast.Page{})
		must(t, err)
		if page.Total != 1 || page.Items[0].ID != typ.ID {
			t.Errorf("ListTypes = %+v", page)
		}
		must(t, f.svc.DeleteType(ctx, p, typ.ID))
		if _, err := f.svc.GetType(ctx, p, typ.ID); !errors.Is(err, holdfast.ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
		for _, a := range []string{"sdg.type.create", "sdg.type.update", "sdg.type.delete"} {
			if recs := f.audit(t, a); len(recs) != 1 || recs[0].Outcome != holdfast.OutcomeSuccess {
				t.Errorf("%s records: %+v", a, recs)
			}
		}
	})
}

// TestTemplatesAndPolicies: templates group types with thresholds, the
// predefined ones are there and fixed; policies apply templates to
// profiles and workloads; what is in use cannot be deleted.
func TestTemplatesAndPolicies(t *testing.T) {
	stores(t, func(t *testing.T, meta holdfast.MetaStore) {
		ctx := t.Context()
		f := sdgAccount(t, meta, "sensitive_data_governance_admin")
		p := f.admins["sensitive_data_governance_admin"]
		pre, err := f.svc.ListPredefinedTemplates(ctx, p)
		must(t, err)
		if len(pre) != 3 || pre[0].Name != "PCI-DSS" || !pre[0].Predefined {
			t.Fatalf("predefined templates %+v", pre)
		}
		typ, err := f.svc.CreateType(ctx, p, employeeID)
		must(t, err)
		tpl, err := f.svc.CreateTemplate(ctx, p, sdg.TemplateInput{Name: "HR records", Rules: []sdg.Rule{
			{Type: typ.ID, MinCount: 5, MinConfidence: scan.High}, {Type: scan.USSSN, MinCount: 1, MinConfidence: scan.Medium}}})
		must(t, err)
		_, err = f.svc.CreateTemplate(ctx, p, sdg.TemplateInput{Name: "Bad", Rules: []sdg.Rule{{Type: "nope", MinCount: 0, MinConfidence: 70}}})
		for _, field := range []string{"rules[0].type", "rules[0].min_count", "rules[0].min_confidence"} {
			if !errors.Is(err, holdfast.ErrInvalid) || !strings.Contains(err.Error(), field) {
				t.Errorf("bad template: %v, want %s named", err, field)
			}
		}
		if err := f.svc.DeleteType(ctx, p, typ.ID); !errors.Is(err, holdfast.ErrConflict) {
			t.Errorf("deleting a type a template uses: %v", err)
		}
		pol, err := f.svc.CreatePolicy(ctx, p, sdg.PolicyInput{Name: "Sales PII", TemplateIDs: []string{tpl.ID, "pci_dss"},
			ProfileIDs: []string{f.profile.ID}, Workloads: []string{"onedrive"}, Action: sdg.ActionQuarantine})
		must(t, err)
		if !pol.Enabled || pol.ID == "" {
			t.Fatalf("policy %+v", pol)
		}
		_, err = f.svc.CreatePolicy(ctx, p, sdg.PolicyInput{Name: "Bad", TemplateIDs: []string{"nope"}, ProfileIDs: []string{"nope"},
			Workloads: []string{"fax"}, Action: "delete"})
		for _, field := range []string{"template_ids[0]", "profile_ids[0]", "workloads[0]", "action"} {
			if !errors.Is(err, holdfast.ErrInvalid) || !strings.Contains(err.Error(), field) {
				t.Errorf("bad policy: %v, want %s named", err, field)
			}
		}
		if err := f.svc.DeleteTemplate(ctx, p, tpl.ID); !errors.Is(err, holdfast.ErrConflict) {
			t.Errorf("deleting a template a policy applies: %v", err)
		}
		if err := f.svc.DeleteTemplate(ctx, p, "hipaa"); !errors.Is(err, holdfast.ErrConflict) {
			t.Errorf("deleting a predefined template: %v", err)
		}
		off := false
		pol2, err := f.svc.UpdatePolicy(ctx, p, pol.ID, sdg.PolicyInput{Name: "Sales PII", TemplateIDs: []string{"pci_dss"},
			ProfileIDs: []string{f.profile.ID}, Action: sdg.ActionReport, Enabled: &off})
		must(t, err)
		if read, _ := f.svc.GetPolicy(ctx, p, pol.ID); read.Enabled || read.Action != sdg.ActionReport || pol2.ID != pol.ID {
			t.Errorf("after the update: %+v", read)
		}
		must(t, f.svc.DeleteTemplate(ctx, p, tpl.ID))
		must(t, f.svc.DeletePolicy(ctx, p, pol.ID))
		ids, total := storagetest.WalkPages(t, 1, func(x sdg.Policy) string { return x.ID },
			func(pg holdfast.Page) (holdfast.Paged[sdg.Policy], error) { return f.svc.ListPolicies(ctx, p, pg) })
		if total != 0 || len(ids) != 0 {
			t.Errorf("policies after delete: %v", ids)
		}
	})
}

// TestSettings: the defaults, a change, and recipients that are not
// addresses refused by field.
func TestSettings(t *testing.T) {
	stores(t, func(t *testing.T, meta holdfast.MetaStore) {
		ctx := t.Context()
		f := sdgAccount(t, meta, "sensitive_data_governance_admin")
		p := f.admins["sensitive_data_governance_admin"]
		got, err := f.svc.GetSettings(ctx, p)
		must(t, err)
		if !got.ScanFiles || !got.ScanMail || len(got.NotificationRecipients) != 0 {
			t.Fatalf("defaults %+v", got)
		}
		in := sdg.Settings{ScanFiles: true, MaxItemBytes: 1 << 20, NotificationRecipients: []string{"dpo@example.com"}}
		_, err = f.svc.PutSettings(ctx, p, in)
		must(t, err)
		in.NotificationRecipients = []string{"dpo@example.com"}
		_, err = f.svc.PutSettings(ctx, p, in)
		must(t, err)
		if got, _ := f.svc.GetSettings(ctx, p); got.ScanMail || got.MaxItemBytes != 1<<20 || got.NotificationRecipients[0] != "dpo@example.com" {
			t.Errorf("after put: %+v", got)
		}
		in.NotificationRecipients = []string{"Dana <dpo@example.com>"}
		if _, err := f.svc.PutSettings(ctx, p, in); !errors.Is(err, holdfast.ErrInvalid) || !strings.Contains(err.Error(), "notification_recipients[0]") {
			t.Errorf("a display name: %v", err)
		}
	})
}

// TestRoles: who may do what is the catalog's (seed 002): the Profile
// Administrator configures no compliance policy, the Legal Administrator
// manages templates only, the Cloud Administrator everything.
func TestRoles(t *testing.T) {
	stores(t, func(t *testing.T, meta holdfast.MetaStore) {
		ctx := t.Context()
		f := newFixture(t, meta, holdfast.EditionEnterprise, []string{holdfast.AddonSensitiveDataGovernance, holdfast.AddonGovernance},
			"profile_admin", "legal_admin", "cloud_admin")
		in := sdg.TemplateInput{Name: "Cards", Rules: []sdg.Rule{{Type: scan.CreditCard, MinCount: 1, MinConfidence: scan.Medium}}}
		pol := sdg.PolicyInput{Name: "All", TemplateIDs: []string{"pci_dss"}, Workloads: []string{"endpoints"}, Action: sdg.ActionNotify}
		cases := []struct {
			role       string
			template   bool
			policy     bool
			createType bool
		}{
			{"profile_admin", false, false, false},
			{"legal_admin", true, false, false},
			{"cloud_admin", true, true, true},
		}
		for i, c := range cases {
			p := f.admins[c.role]
			in.Name, pol.Name = in.Name+c.role, pol.Name+c.role
			typ := employeeID
			typ.Name += c.role
			_, errT := f.svc.CreateTemplate(ctx, p, in)
			_, errP := f.svc.CreatePolicy(ctx, p, pol)
			_, errY := f.svc.CreateType(ctx, p, typ)
			for j, got := range []struct {
				err  error
				want bool
			}{{errT, c.template}, {errP, c.policy}, {errY, c.createType}} {
				if (got.err == nil) != got.want || (got.err != nil && !errors.Is(got.err, holdfast.ErrDenied)) {
					t.Errorf("case %d %s, call %d: %v, want allowed %v", i, c.role, j, got.err, got.want)
				}
			}
		}
	})
}
