package server_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/server"
)

// fakeEngine answers Role with fixed rights and records SaveRoleRights.
type fakeEngine struct {
	saved map[string][]string // role id -> rights
}

var helpDeskRights = []string{"users.view", "users.manage", "devices.view", "restore.run"}

func (f *fakeEngine) Role(_ context.Context, accountID, roleID string) (holdfast.Role, error) {
	return holdfast.Role{ID: roleID, Name: "Help Desk Administrator", Product: holdfast.ProductInSync,
		Scope: []string{holdfast.ScopeProfile, holdfast.ScopeWorkload}, Predefined: true, Rights: helpDeskRights}, nil
}

func (f *fakeEngine) SaveRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string, rights []string) error {
	// Like the engine: the write goes through tx, so it must see the role.
	if _, err := tx.GetRole(ctx, accountID, roleID); err != nil {
		return err
	}
	if f.saved == nil {
		f.saved = map[string][]string{}
	}
	f.saved[roleID] = rights
	return nil
}

var predefinedRoles = []string{
	"platform_admin", "cloud_admin", "workload_admin", "data_protection_officer", "help_desk_admin", "legal_admin",
	"profile_admin", "sensitive_data_governance_admin", "view_only_admin",
	"ew_cloud_admin", "ew_cloud_admin_view_only", "ew_org_admin", "ew_org_admin_view_only",
	"ew_group_admin", "ew_group_admin_view_only", "ew_data_protection_officer",
}

func TestDemo(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	engine := &fakeEngine{}
	res, err := server.Demo(ctx, store, engine, server.BootstrapOptions{Token: testToken, Clock: clock})
	if err != nil {
		t.Fatalf("Demo: %v", err)
	}
	if res.Bootstrap.Existing || res.Password == "" || res.Bootstrap.TokenID == "" {
		t.Fatalf("Demo result = %+v, want a new account, a generated password and the token", res)
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
	}
	slices.Sort(profileNames)
	if want := []string{"Default", "Engineering", "Executives", "Legal & Compliance", "Sales"}; !slices.Equal(profileNames, want) {
		t.Errorf("profiles = %v, want %v", profileNames, want)
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
	if kinds[holdfast.DeviceEndpoint] < 40 || kinds[holdfast.DeviceSaaS] < 40 || len(devices) != res.Devices {
		t.Errorf("devices = %v (result %d), want at least 40 endpoints and 40 SaaS sources", kinds, res.Devices)
	}

	admins, _ := store.ListAdmins(ctx, acctID, holdfast.AdminFilter{})
	if len(admins) != res.Admins {
		t.Errorf("administrators = %d, result says %d", len(admins), res.Admins)
	}
	byRole := map[string]holdfast.Administrator{}
	for _, a := range admins {
		byRole[a.RoleID] = a
		if !strings.HasSuffix(a.Email, "@"+server.DemoDomain) {
			t.Errorf("administrator email %q is not in %s", a.Email, server.DemoDomain)
		}
		if a.RoleID != "platform_admin" && (a.Country == "" || a.TimeZone == "" || a.CreatedBy == "") {
			t.Errorf("administrator %s lacks country, time zone or creator", a.Email)
		}
	}
	for _, r := range predefinedRoles {
		if _, ok := byRole[r]; !ok {
			t.Errorf("no demo administrator with role %s", r)
		}
	}
	if ok, _ := idp.VerifyPassword(byRole["view_only_admin"].PasswordHash, res.Password.Reveal()); !ok {
		t.Error("the demo password does not open a demo administrator")
	}
	if ok, _ := idp.VerifyPassword(byRole["platform_admin"].PasswordHash, res.Password.Reveal()); !ok {
		t.Error("the demo password does not open the platform administrator")
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
	custom := roles[0]
	want := append(slices.Clone(helpDeskRights), "legal_holds.view")
	slices.Sort(want)
	if !slices.Equal(engine.saved[custom.ID], want) || !slices.Equal(custom.Rights, want) {
		t.Errorf("Backup Operator rights: saved %v, stored %v, want %v", engine.saved[custom.ID], custom.Rights, want)
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
	if len(holds) != 1 || holds[0].Name != "Q3 audit" || holds[0].TypeID != typeByName["Legal"].ID {
		t.Fatalf("holds = %+v, want Q3 audit of type Legal", holds)
	}
	custodians, _ := store.ListCustodians(ctx, acctID, holds[0].ID)
	if len(custodians) != 3 {
		t.Errorf("custodians = %d, want 3", len(custodians))
	}

	audit, _ := store.ListAudit(ctx, acctID, holdfast.AuditFilter{})
	writes := 1 + 1 + len(profiles) + len(users) + len(devices) + 1 + 1 + (len(admins) - 1) + 1 + len(custodians)
	if len(audit) != writes {
		t.Errorf("audit records = %d, want one per write (%d)", len(audit), writes)
	}
	chain := holdfast.AuditChain{Key: testAuditKey}
	if b := chain.Verify(audit); b != nil {
		t.Errorf("audit chain broken: %+v", b)
	}

	// A second run leaves the store alone.
	again, err := server.Demo(ctx, store, engine, server.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Bootstrap.Existing || again.Password != "" || len(again.Bootstrap.Warnings) != 0 {
		t.Errorf("second Demo = %+v, want Existing, no password, no warnings", again)
	}
	if after, _ := store.ListAdmins(ctx, acctID, holdfast.AdminFilter{}); len(after) != len(admins) {
		t.Errorf("second Demo changed administrators: %d -> %d", len(admins), len(after))
	}
}

func TestDemoGivenPassword(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	res, err := server.Demo(ctx, store, &fakeEngine{}, server.BootstrapOptions{AdminPassword: "Operator chosen pw 1"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Password != "" {
		t.Error("Demo reports a generated password although one was given")
	}
	a, err := store.GetAdminByEmail(ctx, "hannah.okafor@"+server.DemoDomain)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := idp.VerifyPassword(a.PasswordHash, "Operator chosen pw 1"); !ok {
		t.Error("demo administrators do not use the given password")
	}
}
