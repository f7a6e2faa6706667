package authz_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// fixture is an account with one administrator per role and the profiles,
// users, devices and holds the scope and legal-hold rules need. Ids are
// fixed, so decision tables can name them.
type fixture struct {
	store   holdfast.MetaStore
	engine  *authz.Engine // the default evaluator (Wasm)
	topdown *authz.Engine // the same policies in OPA's interpreter
	acct    holdfast.Account
}

// Fixture ids.
const (
	profEng     = "prof_eng"     // endpoints + microsoft_365
	profSales   = "prof_sales"   // endpoints + exchange_online
	profPrivate = "prof_private" // blocks administrator access to user data
	typeHR      = "lht_hr"
	typeLegal   = "lht_legal"
	typeReg     = "lht_regulatory" // custom type
	holdQ3      = "hold_q3"        // type Legal: 'Q3 audit'
	holdHR      = "hold_hr"        // type Human Resources: 'HR case 7'
	holdUntyped = "hold_untyped"   // no type: 'Board inquiry'
	userEng     = "usr_eng"        // prof_eng, laptop + exchange + onedrive, not held
	userSales   = "usr_sales"      // prof_sales, laptop + exchange, not held
	userHeld    = "usr_held"       // prof_eng, on holds Q3 audit and HR case 7
	userPrivate = "usr_private"    // prof_private, on hold Q3 audit
	userPrivNo  = "usr_private_free"
	userUntyped = "usr_untyped" // prof_sales, on the untyped hold
	devEngLap   = "dev_eng_laptop"
	devEngMail  = "dev_eng_exchange"
	devEngDrive = "dev_eng_onedrive"
	devSalesLap = "dev_sales_laptop"
	devHeldLap  = "dev_held_laptop"
	roleCustom  = "role_backup_operator"
	roleLegalHD = "role_legal_helpdesk" // custom role holding legal hold rights
)

// fixtureAdmins maps administrator ids to their role and scopes.
var fixtureAdmins = []holdfast.Administrator{
	{ID: "adm_platform_admin", RoleID: "platform_admin"},
	{ID: "adm_platform_admin_2", RoleID: "platform_admin"},
	{ID: "adm_cloud_admin", RoleID: "cloud_admin", Scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true, AllLegalHoldTypes: true}},
	{ID: "adm_cloud_admin_2", RoleID: "cloud_admin", Scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true, AllLegalHoldTypes: true}},
	{ID: "adm_workload_admin", RoleID: "workload_admin", Scopes: holdfast.Scopes{AllProfiles: true, Workloads: []string{"exchange_online"}}},
	{ID: "adm_workload_admin_m365", RoleID: "workload_admin", Scopes: holdfast.Scopes{AllProfiles: true, Workloads: []string{"microsoft_365"}}},
	{ID: "adm_data_protection_officer", RoleID: "data_protection_officer", Scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true}},
	{ID: "adm_help_desk_admin", RoleID: "help_desk_admin", Scopes: holdfast.Scopes{Profiles: []string{profEng}, AllWorkloads: true}},
	{ID: "adm_legal_admin", RoleID: "legal_admin", Scopes: holdfast.Scopes{LegalHoldTypes: []string{typeLegal}, AllProfiles: true, AllWorkloads: true}},
	{ID: "adm_legal_admin_all", RoleID: "legal_admin", Scopes: holdfast.Scopes{AllLegalHoldTypes: true, AllProfiles: true, AllWorkloads: true}},
	{ID: "adm_profile_admin", RoleID: "profile_admin", Scopes: holdfast.Scopes{Profiles: []string{profEng}, AllWorkloads: true}},
	{ID: "adm_sensitive_data_governance_admin", RoleID: "sensitive_data_governance_admin"},
	{ID: "adm_view_only_admin", RoleID: "view_only_admin", Scopes: holdfast.Scopes{Profiles: []string{profSales}, AllWorkloads: true}},
	{ID: "adm_ew_cloud_admin", RoleID: "ew_cloud_admin"},
	{ID: "adm_ew_cloud_admin_view_only", RoleID: "ew_cloud_admin_view_only"},
	{ID: "adm_ew_org_admin", RoleID: "ew_org_admin", Scopes: holdfast.Scopes{Organizations: []string{"org-emea"}}},
	{ID: "adm_ew_org_admin_apac", RoleID: "ew_org_admin", Scopes: holdfast.Scopes{Organizations: []string{"org-apac"}}},
	{ID: "adm_ew_org_admin_view_only", RoleID: "ew_org_admin_view_only", Scopes: holdfast.Scopes{Organizations: []string{"org-emea"}}},
	{ID: "adm_ew_group_admin", RoleID: "ew_group_admin", Scopes: holdfast.Scopes{Organizations: []string{"org-emea"}, AdminGroups: []string{"grp-emea-db"}}},
	{ID: "adm_ew_group_admin_view_only", RoleID: "ew_group_admin_view_only", Scopes: holdfast.Scopes{Organizations: []string{"org-emea"}, AdminGroups: []string{"grp-emea-db"}}},
	{ID: "adm_ew_data_protection_officer", RoleID: "ew_data_protection_officer"},
	{ID: "adm_custom", RoleID: roleCustom, Scopes: holdfast.Scopes{Profiles: []string{profEng, profSales}, AllWorkloads: true, LegalHoldTypes: []string{typeLegal}}},
	{ID: "adm_legal_helpdesk", RoleID: roleLegalHD, Scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true, LegalHoldTypes: []string{typeHR}}},
	{ID: "adm_disabled", RoleID: "cloud_admin", State: holdfast.AdminDisabled, Scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true, AllLegalHoldTypes: true}},
}

// newFixture builds the fixture account on a fresh SQLite store.
func newFixture(tb testing.TB, edition holdfast.Edition, addons ...string) *fixture {
	tb.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "holdfast.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() })
	engine, err := authz.New(ctx, authz.Options{Store: store})
	if err != nil {
		tb.Fatal(err)
	}
	topdown, err := authz.New(ctx, authz.Options{Store: store, Evaluator: authz.EvaluatorTopdown})
	if err != nil {
		tb.Fatal(err)
	}
	f := &fixture{store: store, engine: engine, topdown: topdown}
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	f.acct = holdfast.Account{ID: "acct_" + string(edition), Name: "Fixture " + string(edition), Edition: edition,
		Addons: addons, Settings: holdfast.DefaultAccountSettings(), CreatedAt: now, UpdatedAt: now}
	err = store.Tx(ctx, func(tx holdfast.MetaStore) error {
		must := func(err error) {
			if err != nil {
				tb.Fatal(err)
			}
		}
		must(tx.CreateAccount(ctx, &f.acct))
		id := f.acct.ID
		for _, p := range []holdfast.Profile{
			{ID: profEng, Name: "Engineering", Workloads: []string{"endpoints", "microsoft_365"}},
			{ID: profSales, Name: "Sales", Workloads: []string{"endpoints", "exchange_online"}},
			{ID: profPrivate, Name: "Private", Workloads: []string{"endpoints"}, BlockAdminAccess: true},
		} {
			p.AccountID, p.CreatedAt, p.UpdatedAt = id, now, now
			must(tx.CreateProfile(ctx, &p))
		}
		for _, t := range []holdfast.LegalHoldType{
			{ID: typeHR, Name: "Human Resources", Predefined: true},
			{ID: "lht_infosec", Name: "Information Security", Predefined: true},
			{ID: typeLegal, Name: "Legal", Predefined: true},
			{ID: typeReg, Name: "Regulatory"},
		} {
			t.AccountID, t.CreatedAt, t.UpdatedAt = id, now, now
			must(tx.CreateHoldType(ctx, &t))
		}
		for _, u := range []holdfast.User{
			{ID: userEng, Email: "eng@fixture.test", Name: "Eve Engineer", ProfileID: profEng},
			{ID: userSales, Email: "sales@fixture.test", Name: "Sam Sales", ProfileID: profSales},
			{ID: userHeld, Email: "held@fixture.test", Name: "Hal Held", ProfileID: profEng},
			{ID: userPrivate, Email: "private@fixture.test", Name: "Pia Private", ProfileID: profPrivate},
			{ID: userPrivNo, Email: "private2@fixture.test", Name: "Pat Private", ProfileID: profPrivate},
			{ID: userUntyped, Email: "untyped@fixture.test", Name: "Uma Untyped", ProfileID: profSales},
		} {
			u.AccountID, u.State, u.CreatedAt, u.UpdatedAt = id, holdfast.UserActive, now, now
			must(tx.CreateUser(ctx, &u))
		}
		for _, d := range []holdfast.Device{
			{ID: devEngLap, UserID: userEng, Name: "eve-laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints"},
			{ID: devEngMail, UserID: userEng, Name: "Exchange Online", Kind: holdfast.DeviceSaaS, Workload: "exchange_online"},
			{ID: devEngDrive, UserID: userEng, Name: "OneDrive", Kind: holdfast.DeviceSaaS, Workload: "onedrive"},
			{ID: devSalesLap, UserID: userSales, Name: "sam-laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints"},
			{ID: devHeldLap, UserID: userHeld, Name: "hal-laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints"},
		} {
			d.AccountID, d.State, d.CreatedAt, d.UpdatedAt = id, "enabled", now, now
			must(tx.CreateDevice(ctx, &d))
		}
		for _, h := range []holdfast.LegalHold{
			{ID: holdQ3, Name: "Q3 audit", TypeID: typeLegal},
			{ID: holdHR, Name: "HR case 7", TypeID: typeHR},
			{ID: holdUntyped, Name: "Board inquiry"},
		} {
			h.AccountID, h.DataAccess, h.CreatedAt, h.UpdatedAt = id, holdfast.AccessAllData, now, now
			must(tx.CreateHold(ctx, &h))
		}
		for _, c := range []holdfast.Custodian{
			{HoldID: holdQ3, UserID: userHeld}, {HoldID: holdHR, UserID: userHeld},
			{HoldID: holdQ3, UserID: userPrivate}, {HoldID: holdUntyped, UserID: userUntyped},
		} {
			c.AddedAt = now
			must(tx.AddCustodian(ctx, id, &c))
		}
		for _, r := range []struct {
			id, name string
			rights   []string
		}{
			{roleCustom, "Backup Operator", append(f.engine.Catalog().RightsOf("help_desk_admin"), "legal_holds.view")},
			{roleLegalHD, "Legal Help Desk", []string{"users.view", "legal_holds.view", "legal_holds.create_manage", "user_data.download"}},
		} {
			role := holdfast.Role{ID: r.id, AccountID: id, Name: r.name, Product: holdfast.ProductInSync, Rights: r.rights, CreatedAt: now, UpdatedAt: now}
			must(tx.CreateRole(ctx, &role))
			must(f.engine.SaveRoleRights(ctx, tx, id, r.id, r.rights))
		}
		for i, a := range fixtureAdmins {
			a.AccountID = id
			a.Name = a.ID
			a.Email = a.ID + "@" + string(edition) + ".fixture.test"
			if a.State == "" {
				a.State = holdfast.AdminActive
			}
			if i > 0 {
				a.CreatedBy = fixtureAdmins[0].ID
			}
			a.CreatedAt, a.UpdatedAt = now, now
			must(tx.CreateAdmin(ctx, &a))
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
