package demo_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/demo"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/policies"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

var auditKey = []byte("demo test audit key, 32 bytes!!!")

type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC) }

const testToken = "hf_demo-token-for-tests-0123456789"

// newStore returns an empty SQLite store and the real engine over it.
func newStore(tb testing.TB) (*sqlstore.Store, *authz.Engine) {
	tb.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "holdfast.db"), sqlstore.WithAuditKey(auditKey))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	engine, err := authz.New(ctx, authz.Options{Store: s, CacheBytes: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return s, engine
}

// TestLoad loads the demo with the real engine deciding every write and
// checks what an operator would see: the account, its profiles, users,
// devices, an administrator of every predefined role of the catalog, the
// custom role, the hold types and the legal hold, each write audited.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	store, engine := newStore(t)
	res, err := demo.Load(ctx, store, engine, setup.BootstrapOptions{Token: testToken, Clock: fixedClock{}})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if res.Bootstrap.Existing || res.Password == "" || res.Bootstrap.TokenID == "" {
		t.Fatalf("Load result = %+v, want a new account, a generated password and the token", res)
	}
	acctID := res.Bootstrap.Account.ID
	acct, err := store.GetAccount(ctx, acctID)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Name != "Demo Corp" || acct.Edition != holdfast.EditionElite ||
		!acct.HasAddon(holdfast.AddonGovernance) || !acct.HasAddon(holdfast.AddonSensitiveDataGovernance) {
		t.Errorf("account = %+v, want Demo Corp, elite, both add-ons", acct)
	}

	profiles, _ := store.ListProfiles(ctx, acctID)
	var profileNames []string
	for _, p := range profiles {
		profileNames = append(profileNames, p.Name)
		if len(p.Workloads) == 0 || p.Retention == (holdfast.Retention{}) {
			t.Errorf("profile %s has no workloads or retention", p.Name)
		}
		if (p.Name == "Executives") != p.BlockAdminAccess && p.Name != "Legal & Compliance" {
			t.Errorf("profile %s blocks administrator access: %v", p.Name, p.BlockAdminAccess)
		}
	}
	slices.Sort(profileNames)
	if want := []string{"Default", "Engineering", "Executives", "Legal & Compliance", "Sales"}; !slices.Equal(profileNames, want) ||
		res.Profiles != len(want) {
		t.Errorf("profiles = %v (result %d), want %v", profileNames, res.Profiles, want)
	}

	users, _ := store.ListUsers(ctx, acctID, holdfast.UserFilter{})
	if len(users) != 40 || res.Users != 40 {
		t.Errorf("users = %d (result %d), want 40", len(users), res.Users)
	}
	devices, _ := store.ListDevices(ctx, acctID, "")
	kinds := map[string]int{}
	for _, d := range devices {
		kinds[d.Kind]++
		if d.Kind == holdfast.DeviceSaaS && !slices.Contains([]string{"exchange_online", "onedrive", "gmail", "google_drive"}, d.Workload) {
			t.Errorf("SaaS device %q has workload %q", d.Name, d.Workload)
		}
	}
	if kinds[holdfast.DeviceEndpoint] <= 40 || kinds[holdfast.DeviceSaaS] != 80 || len(devices) != res.Devices {
		t.Errorf("devices = %v (result %d), want more than 40 endpoints (some users have two) and 80 SaaS sources", kinds, res.Devices)
	}

	admins, _ := store.ListAdmins(ctx, acctID, holdfast.AdminFilter{})
	if len(admins) != res.Admins {
		t.Errorf("administrators = %d, result says %d", len(admins), res.Admins)
	}
	byRole := map[string]holdfast.Administrator{}
	for _, a := range admins {
		byRole[a.RoleID] = a
		if !strings.HasSuffix(a.Email, "@"+demo.Domain) {
			t.Errorf("administrator email %q is not in %s", a.Email, demo.Domain)
		}
		if a.ID != res.Bootstrap.Admin.ID && (a.Country == "" || a.TimeZone == "" || a.CreatedBy != res.Bootstrap.Admin.ID) {
			t.Errorf("administrator %s lacks country or time zone, or was not created by the platform administrator", a.Email)
		}
		if ok, _ := idp.VerifyPassword(a.PasswordHash, res.Password.Reveal()); !ok {
			t.Errorf("the demo password does not open %s", a.Email)
		}
	}
	cat, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range cat.RoleList() {
		if _, ok := byRole[r.ID]; !ok && r.ID != policies.CustomRoleID {
			t.Errorf("no demo administrator holds the catalog role %s", r.ID)
		}
	}
	if got := byRole["ew_org_admin"].Scopes.Organizations; !slices.Equal(got, []string{"org-emea"}) {
		t.Errorf("ew_org_admin organizations = %v, want [org-emea]", got)
	}
	if got := byRole["help_desk_admin"].Scopes.Profiles; len(got) != 2 {
		t.Errorf("help desk administrator profiles = %v, want Engineering and Sales", got)
	}
	if got := byRole["legal_admin"].Scopes.LegalHoldTypes; len(got) != 2 {
		t.Errorf("legal administrator types = %v, want Legal and Human Resources", got)
	}

	roles, _ := store.ListRoles(ctx, acctID)
	if len(roles) != 1 || roles[0].Name != "Backup Operator" || roles[0].ImportedFrom != "help_desk_admin" {
		t.Fatalf("stored roles = %+v, want Backup Operator imported from help_desk_admin", roles)
	}
	custom, err := engine.Role(ctx, acctID, roles[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	helpDesk, _ := engine.Role(ctx, acctID, "help_desk_admin")
	want := append(slices.Clone(helpDesk.Rights), "legal_holds.view")
	slices.Sort(want)
	if !slices.Equal(custom.Rights, slices.Compact(want)) {
		t.Errorf("Backup Operator rights = %v, want %v", custom.Rights, want)
	}
	if _, ok := byRole[custom.ID]; !ok {
		t.Error("no administrator holds the Backup Operator role")
	}

	types, _ := store.ListHoldTypes(ctx, acctID)
	typeByName := map[string]holdfast.LegalHoldType{}
	for _, ty := range types {
		typeByName[ty.Name] = ty
	}
	if len(types) != 4 || typeByName["Regulatory"].Predefined || !typeByName["Legal"].Predefined {
		t.Errorf("legal hold types = %+v, want the 3 predefined plus custom Regulatory", types)
	}
	holds, _ := store.ListHolds(ctx, acctID)
	if len(holds) != 1 || holds[0].Name != "Q3 audit" || holds[0].TypeID != typeByName["Legal"].ID ||
		holds[0].CreatedBy != byRole["legal_admin"].ID {
		t.Fatalf("holds = %+v, want Q3 audit of type Legal by the legal administrator", holds)
	}
	custodians, _ := store.ListCustodians(ctx, acctID, holds[0].ID)
	if len(custodians) != 3 {
		t.Errorf("custodians = %d, want 3", len(custodians))
	}

	// One record per change, each by the administrator who made it, in an
	// unbroken chain: bootstrap, the profiles, users, devices, the hold
	// type, the role, the administrators and the hold (its custodians in
	// its record).
	audit, _ := store.ListAudit(ctx, acctID, holdfast.AuditFilter{})
	writes := 1 + len(profiles) + len(users) + len(devices) + 1 + 1 + (len(admins) - 1) + 1
	if len(audit) != writes {
		t.Errorf("audit records = %d, want one per write (%d)", len(audit), writes)
	}
	for _, rec := range audit {
		if rec.Action != "account.bootstrap" && rec.ActorID == "" {
			t.Errorf("audit record %s has no actor", rec.Action)
		}
		if rec.Outcome != holdfast.OutcomeSuccess {
			t.Errorf("audit record %s: outcome %s, want success (the engine allowed every demo write)", rec.Action, rec.Outcome)
		}
	}
	chain := holdfast.AuditChain{Key: auditKey}
	if b := chain.Verify(audit); b != nil {
		t.Errorf("audit chain broken: %+v", b)
	}

	// A second run leaves the store alone.
	again, err := demo.Load(ctx, store, engine, setup.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Bootstrap.Existing || again.Password != "" || len(again.Bootstrap.Warnings) != 0 {
		t.Errorf("second Load = %+v, want Existing, no password, no warnings", again)
	}
	if after, _ := store.ListAdmins(ctx, acctID, holdfast.AdminFilter{}); len(after) != len(admins) {
		t.Errorf("second Load changed administrators: %d -> %d", len(admins), len(after))
	}
}

func TestLoadGivenPassword(t *testing.T) {
	ctx := context.Background()
	store, engine := newStore(t)
	res, err := demo.Load(ctx, store, engine, setup.BootstrapOptions{AdminPassword: "Operator chosen pw 1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Password != "" {
		t.Error("Load reports a generated password although one was given")
	}
	a, err := store.GetAdminByEmail(ctx, "hannah.okafor@"+demo.Domain)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := idp.VerifyPassword(a.PasswordHash, "Operator chosen pw 1"); !ok {
		t.Error("demo administrators do not use the given password")
	}
}

// TestLoadAuditDetail: the bootstrap record of a demo account names its
// add-ons, and no record holds the password or its hash.
func TestLoadAuditDetail(t *testing.T) {
	ctx := context.Background()
	store, engine := newStore(t)
	res, err := demo.Load(ctx, store, engine, setup.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	audit, _ := store.ListAudit(ctx, res.Bootstrap.Account.ID, holdfast.AuditFilter{Action: "account.bootstrap"})
	if len(audit) != 1 {
		t.Fatalf("bootstrap records = %d, want 1", len(audit))
	}
	var detail struct {
		Addons []string `json:"addons"`
	}
	if err := json.Unmarshal(audit[0].Detail, &detail); err != nil || !slices.Equal(detail.Addons, holdfast.Addons) {
		t.Errorf("bootstrap detail = %s, want every add-on", audit[0].Detail)
	}
	all, _ := store.ListAudit(ctx, res.Bootstrap.Account.ID, holdfast.AuditFilter{})
	for _, rec := range all {
		if strings.Contains(string(rec.Detail), res.Password.Reveal()) || strings.Contains(string(rec.Detail), "argon2id") {
			t.Errorf("audit record %s leaks the password or its hash: %s", rec.Action, rec.Detail)
		}
	}
}
