package storagetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

func testMetaAccount(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	in := holdfast.Account{
		ID:        metaUniq("acct"),
		Name:      "Acme",
		Edition:   holdfast.EditionElite,
		Addons:    []string{holdfast.AddonGovernance},
		Settings:  holdfast.AccountSettings{RollbackDays: 7, InactiveAdminDays: 30, AuditRetentionDays: 365, SSOEnforced: true},
		CreatedAt: metaAt(0),
		UpdatedAt: metaAt(time.Hour),
	}
	want := in
	want.CreatedAt, want.UpdatedAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt)
	a := in
	metaMust(t, s.CreateAccount(ctx, &a))
	metaAssertEqual(t, "CreateAccount writes back", a, want)
	metaAssertEqual(t, "GetAccount", metaGet[holdfast.Account](t)(s.GetAccount(ctx, in.ID)), want)
	if rev := metaRevision(t, s, in.ID); rev < 1 {
		t.Errorf("Revision of a new account = %d, want >= 1", rev)
	}

	other := metaNewAccount(t, s)
	list := metaGet[[]holdfast.Account](t)(s.ListAccounts(ctx))
	if len(list) != 2 || !slices.ContainsFunc(list, func(x holdfast.Account) bool { return x.ID == other.ID }) {
		t.Errorf("ListAccounts = %+v, want %s and %s", list, in.ID, other.ID)
	}

	rev := metaRevision(t, s, in.ID)
	a.Name, a.Edition, a.Addons = "Acme Corp", holdfast.EditionBusiness, nil
	a.Settings.SSOEnforced = false
	a.UpdatedAt = metaAt(2 * time.Hour)
	metaMust(t, s.UpdateAccount(ctx, &a))
	want = a
	want.UpdatedAt = metaMicro(metaAt(2 * time.Hour))
	metaAssertEqual(t, "GetAccount after update", metaGet[holdfast.Account](t)(s.GetAccount(ctx, in.ID)), want)
	if got := metaRevision(t, s, in.ID); got <= rev {
		t.Errorf("Revision after UpdateAccount = %d, want > %d", got, rev)
	}

	dup := holdfast.Account{ID: in.ID, Name: "Dup"}
	metaAssertErr(t, "CreateAccount with a taken ID", s.CreateAccount(ctx, &dup), holdfast.ErrConflict)
	metaAssertEqual(t, "account after a conflict", metaGet[holdfast.Account](t)(s.GetAccount(ctx, in.ID)), want)

	_, err := s.GetAccount(ctx, "missing")
	metaAssertErr(t, "GetAccount missing", err, holdfast.ErrNotFound)
	metaAssertErr(t, "UpdateAccount missing", s.UpdateAccount(ctx, &holdfast.Account{ID: "missing"}), holdfast.ErrNotFound)
	_, err = s.Revision(ctx, "missing")
	metaAssertErr(t, "Revision missing", err, holdfast.ErrNotFound)

	gen := holdfast.Account{Name: "Generated"}
	metaMust(t, s.CreateAccount(ctx, &gen))
	if gen.ID == "" || gen.CreatedAt.IsZero() || gen.UpdatedAt.IsZero() {
		t.Errorf("CreateAccount did not fill ID and times: %+v", gen)
	}
}

func testMetaAdmin(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	email := metaUniq("Bob.Smith") + "@Example.COM"
	in := holdfast.Administrator{
		ID:        metaUniq("adm"),
		AccountID: acct,
		Name:      "Bob Smith",
		Email:     email,
		Country:   "FR",
		TimeZone:  "Europe/Paris",
		RoleID:    "role-legal",
		Scopes: holdfast.Scopes{Profiles: []string{"p1", "p2"}, AllWorkloads: true,
			LegalHoldTypes: []string{"t1"}, Organizations: []string{"o1"}, AdminGroups: []string{"g1"}},
		State:        holdfast.AdminDisabled,
		CreatedBy:    f.admin.ID,
		CreatedAt:    metaAt(0),
		UpdatedAt:    metaAt(time.Minute),
		LastLoginAt:  metaPtr(metaAt(time.Hour)),
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
	}
	want := in
	want.Email = strings.ToLower(email)
	want.CreatedAt, want.UpdatedAt, want.LastLoginAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt), metaMicroPtr(in.LastLoginAt)
	a := in
	metaMust(t, s.CreateAdmin(ctx, &a))
	metaAssertEqual(t, "CreateAdmin writes back", a, want)
	metaAssertEqual(t, "GetAdmin", metaGet[holdfast.Administrator](t)(s.GetAdmin(ctx, acct, in.ID)), want)
	metaAssertEqual(t, "GetAdminByEmail in another case", metaGet[holdfast.Administrator](t)(s.GetAdminByEmail(ctx, strings.ToUpper(email))), want)
	metaAssertEqual(t, "ListAdmins", len(metaGet[[]holdfast.Administrator](t)(s.ListAdmins(ctx, acct, holdfast.AdminFilter{}))), 2)
	metaAssertEqual(t, "CountAdminsWithRole", metaGet[int](t)(s.CountAdminsWithRole(ctx, acct, "role-legal")), 1)
	metaAssertEqual(t, "CountAdminsWithRole of an unused role", metaGet[int](t)(s.CountAdminsWithRole(ctx, acct, "nobody")), 0)

	// Emails are unique across accounts, whatever their case.
	other := metaNewAccount(t, s)
	rev, otherRev := metaRevision(t, s, acct), metaRevision(t, s, other.ID)
	dup := holdfast.Administrator{AccountID: other.ID, Name: "Other Bob", Email: strings.ToUpper(email), State: holdfast.AdminActive}
	err := s.CreateAdmin(ctx, &dup)
	metaAssertErr(t, "CreateAdmin with a taken email in another account", err, holdfast.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), strings.ToLower(email)) {
		t.Errorf("conflict message %q does not name the email", err)
	}
	metaUnchanged(t, s, other.ID, otherRev, "CreateAdmin conflict")
	metaAssertEqual(t, "admins of the other account", len(metaGet[[]holdfast.Administrator](t)(s.ListAdmins(ctx, other.ID, holdfast.AdminFilter{}))), 0)
	dupID := holdfast.Administrator{ID: in.ID, AccountID: acct, Name: "Same ID", Email: metaUniq("x") + "@example.com"}
	metaAssertErr(t, "CreateAdmin with a taken ID", s.CreateAdmin(ctx, &dupID), holdfast.ErrConflict)
	metaUnchanged(t, s, acct, rev, "CreateAdmin ID conflict")

	// Update replaces fields but keeps the last sign-in RecordLogin set.
	metaMust(t, s.RecordLogin(ctx, acct, in.ID, metaAt(3*time.Hour)))
	a.Name, a.Email, a.Country, a.TimeZone, a.RoleID = "Robert Smith", metaUniq("ROBERT")+"@example.com", "DE", "UTC", "helpdesk"
	a.Scopes = holdfast.Scopes{AllProfiles: true}
	a.State, a.PasswordHash = holdfast.AdminActive, "new-hash"
	a.UpdatedAt = metaAt(4 * time.Hour)
	a.LastLoginAt = nil
	metaMust(t, s.UpdateAdmin(ctx, &a))
	want = a
	want.Email = strings.ToLower(a.Email)
	want.UpdatedAt = metaMicro(metaAt(4 * time.Hour))
	want.LastLoginAt = metaPtr(metaMicro(metaAt(3 * time.Hour)))
	metaAssertEqual(t, "GetAdmin after update", metaGet[holdfast.Administrator](t)(s.GetAdmin(ctx, acct, in.ID)), want)
	_, err = s.GetAdminByEmail(ctx, email)
	metaAssertErr(t, "GetAdminByEmail of the old email", err, holdfast.ErrNotFound)

	rev = metaRevision(t, s, acct)
	taken := a
	taken.Email = f.admin.Email
	metaAssertErr(t, "UpdateAdmin to a taken email", s.UpdateAdmin(ctx, &taken), holdfast.ErrConflict)
	metaUnchanged(t, s, acct, rev, "UpdateAdmin conflict")
	metaAssertEqual(t, "GetAdmin after a conflict", metaGet[holdfast.Administrator](t)(s.GetAdmin(ctx, acct, in.ID)), want)

	metaMust(t, s.DeleteAdmin(ctx, acct, in.ID))
	_, err = s.GetAdmin(ctx, acct, in.ID)
	metaAssertErr(t, "GetAdmin after delete", err, holdfast.ErrNotFound)
	// The email is free again.
	reuse := holdfast.Administrator{AccountID: other.ID, Name: "Bob", Email: email, State: holdfast.AdminActive}
	metaMust(t, s.CreateAdmin(ctx, &reuse))

	missing := holdfast.Administrator{ID: "missing", AccountID: acct, Email: metaUniq("m") + "@example.com"}
	metaAssertErr(t, "UpdateAdmin missing", s.UpdateAdmin(ctx, &missing), holdfast.ErrNotFound)
	metaAssertErr(t, "DeleteAdmin missing", s.DeleteAdmin(ctx, acct, "missing"), holdfast.ErrNotFound)
	metaAssertErr(t, "RecordLogin missing", s.RecordLogin(ctx, acct, "missing", metaAt(0)), holdfast.ErrNotFound)
	_, err = s.GetAdminByEmail(ctx, "nobody@example.com")
	metaAssertErr(t, "GetAdminByEmail missing", err, holdfast.ErrNotFound)
	noAcct := holdfast.Administrator{AccountID: "missing", Name: "X", Email: metaUniq("y") + "@example.com"}
	metaAssertErr(t, "CreateAdmin in a missing account", s.CreateAdmin(ctx, &noAcct), holdfast.ErrNotFound)
}

func testMetaRole(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	in := holdfast.Role{
		ID:           "helpdesk",
		AccountID:    acct,
		Name:         "Helpdesk",
		Description:  "Resets things",
		Product:      holdfast.ProductInSync,
		Scope:        []string{holdfast.ScopeProfile, holdfast.ScopeWorkload},
		Predefined:   true,
		OverrideOf:   "helpdesk",
		ImportedFrom: "elite",
		Rights:       []string{"user.view", "device.view"},
		CreatedBy:    "adm-1",
		CreatedAt:    metaAt(0),
		UpdatedAt:    metaAt(time.Second),
	}
	want := in
	want.CreatedAt, want.UpdatedAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt)
	r := in
	metaMust(t, s.CreateRole(ctx, &r))
	metaAssertEqual(t, "GetRole", metaGet[holdfast.Role](t)(s.GetRole(ctx, acct, in.ID)), want)
	metaAssertEqual(t, "ListRoles", metaGet[[]holdfast.Role](t)(s.ListRoles(ctx, acct)), []holdfast.Role{want})

	// An override keeps the predefined role's ID in every account.
	other := metaNewAccount(t, s).ID
	same := in
	same.AccountID = other
	metaMust(t, s.CreateRole(ctx, &same))

	rev := metaRevision(t, s, acct)
	dupName := holdfast.Role{AccountID: acct, Name: "Helpdesk", Product: holdfast.ProductPlatform}
	metaAssertErr(t, "CreateRole with a taken name", s.CreateRole(ctx, &dupName), holdfast.ErrConflict)
	dupID := holdfast.Role{ID: "helpdesk", AccountID: acct, Name: "Other"}
	metaAssertErr(t, "CreateRole with a taken ID", s.CreateRole(ctx, &dupID), holdfast.ErrConflict)
	metaUnchanged(t, s, acct, rev, "CreateRole conflicts")

	custom := holdfast.Role{AccountID: acct, Name: "Auditor", Product: holdfast.ProductPlatform, Rights: []string{}}
	metaMust(t, s.CreateRole(ctx, &custom))
	r.Name, r.Description, r.Rights, r.Scope, r.Predefined = "Help Desk", "", nil, nil, false
	r.UpdatedAt = metaAt(time.Hour)
	metaMust(t, s.UpdateRole(ctx, &r))
	want = r
	want.UpdatedAt = metaMicro(metaAt(time.Hour))
	metaAssertEqual(t, "GetRole after update", metaGet[holdfast.Role](t)(s.GetRole(ctx, acct, in.ID)), want)
	custom.UpdatedAt = metaMicro(custom.UpdatedAt)
	metaAssertEqual(t, "ListRoles by name", metaGet[[]holdfast.Role](t)(s.ListRoles(ctx, acct)), []holdfast.Role{custom, want})

	taken := r
	taken.Name = "Auditor"
	metaAssertErr(t, "UpdateRole to a taken name", s.UpdateRole(ctx, &taken), holdfast.ErrConflict)
	metaAssertEqual(t, "GetRole after a conflict", metaGet[holdfast.Role](t)(s.GetRole(ctx, acct, in.ID)), want)

	metaMust(t, s.DeleteRole(ctx, acct, in.ID))
	_, err := s.GetRole(ctx, acct, in.ID)
	metaAssertErr(t, "GetRole after delete", err, holdfast.ErrNotFound)
	metaGet[holdfast.Role](t)(s.GetRole(ctx, other, in.ID)) // the other account's override stays
	metaAssertErr(t, "DeleteRole missing", s.DeleteRole(ctx, acct, in.ID), holdfast.ErrNotFound)
	metaAssertErr(t, "UpdateRole missing", s.UpdateRole(ctx, &holdfast.Role{ID: "missing", AccountID: acct}), holdfast.ErrNotFound)
}

func testMetaProfile(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	in := holdfast.Profile{
		ID:                      metaUniq("prof"),
		AccountID:               acct,
		Name:                    "Engineering",
		Description:             "Laptops and mail",
		Default:                 true,
		Workloads:               []string{"endpoints", "exchange_online"},
		BlockAdminAccess:        true,
		Retention:               holdfast.Retention{KeepLast: 10, KeepDaily: 7, KeepWeekly: 4, KeepMonthly: 12, KeepWithinDays: 30},
		AutoDeletePreservedDays: 90,
		Backup: holdfast.BackupPolicy{Folders: []string{"Desktop", "/srv/data"}, ExcludeTypes: []string{"mp4"},
			MaxFileBytes: 1 << 30, IntervalMinutes: 60, QuotaBytes: 5 << 30, ComplianceHours: 24, GraceHours: 48},
		MaxUsers:  500,
		CreatedAt: metaAt(0),
		UpdatedAt: metaAt(time.Millisecond),
	}
	want := in
	want.CreatedAt, want.UpdatedAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt)
	p := in
	metaMust(t, s.CreateProfile(ctx, &p))
	metaAssertEqual(t, "GetProfile", metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, in.ID)), want)
	metaAssertEqual(t, "ListProfiles", metaGet[[]holdfast.Profile](t)(s.ListProfiles(ctx, acct)), []holdfast.Profile{want})

	rev := metaRevision(t, s, acct)
	dup := holdfast.Profile{AccountID: acct, Name: "Engineering"}
	err := s.CreateProfile(ctx, &dup)
	metaAssertErr(t, "CreateProfile with a taken name", err, holdfast.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), "Engineering") {
		t.Errorf("conflict message %q does not name the profile", err)
	}
	metaUnchanged(t, s, acct, rev, "CreateProfile conflict")
	// Names are unique per account only.
	elsewhere := holdfast.Profile{AccountID: metaNewAccount(t, s).ID, Name: "Engineering"}
	metaMust(t, s.CreateProfile(ctx, &elsewhere))

	p.Name, p.Default, p.Workloads, p.BlockAdminAccess = "Eng", false, nil, false
	p.Retention, p.AutoDeletePreservedDays = holdfast.Retention{KeepLast: 1}, 0
	p.Backup, p.MaxUsers = holdfast.BackupPolicy{Folders: []string{"Documents"}, ComplianceHours: 12}, 0
	p.UpdatedAt = metaAt(time.Hour)
	metaMust(t, s.UpdateProfile(ctx, &p))
	want = p
	want.UpdatedAt = metaMicro(metaAt(time.Hour))
	metaAssertEqual(t, "GetProfile after update", metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, in.ID)), want)

	second := holdfast.Profile{AccountID: acct, Name: "Sales"}
	metaMust(t, s.CreateProfile(ctx, &second))
	taken := p
	taken.Name = "Sales"
	metaAssertErr(t, "UpdateProfile to a taken name", s.UpdateProfile(ctx, &taken), holdfast.ErrConflict)

	u := holdfast.User{AccountID: acct, Email: "u@example.com", ProfileID: in.ID, State: holdfast.UserDeleted}
	metaMust(t, s.CreateUser(ctx, &u))
	metaAssertEqual(t, "CountUsersInProfile", metaGet[int](t)(s.CountUsersInProfile(ctx, acct, in.ID)), 1)
	metaAssertEqual(t, "CountUsersInProfile of an empty profile", metaGet[int](t)(s.CountUsersInProfile(ctx, acct, second.ID)), 0)
	rev = metaRevision(t, s, acct)
	metaAssertErr(t, "DeleteProfile with users", s.DeleteProfile(ctx, acct, in.ID), holdfast.ErrConflict)
	metaUnchanged(t, s, acct, rev, "DeleteProfile conflict")
	metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, in.ID))

	metaMust(t, s.PurgeUser(ctx, acct, u.ID))
	metaMust(t, s.DeleteProfile(ctx, acct, in.ID))
	_, err = s.GetProfile(ctx, acct, in.ID)
	metaAssertErr(t, "GetProfile after delete", err, holdfast.ErrNotFound)
	metaAssertErr(t, "DeleteProfile missing", s.DeleteProfile(ctx, acct, in.ID), holdfast.ErrNotFound)
	metaAssertErr(t, "UpdateProfile missing", s.UpdateProfile(ctx, &p), holdfast.ErrNotFound)
}

func testMetaUser(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	in := holdfast.User{
		ID:          metaUniq("user"),
		AccountID:   acct,
		Email:       "Vera.Volkova@Example.com",
		Name:        "Vera Volkova",
		ProfileID:   f.profile.ID,
		State:       holdfast.UserDeleted,
		ExternalID:  "scim-42",
		DeletedAt:   metaPtr(metaAt(time.Hour)),
		PurgeAfter:  metaPtr(metaAt(30 * 24 * time.Hour)),
		PreservedAt: metaPtr(metaAt(time.Minute)),
		CreatedAt:   metaAt(0),
		UpdatedAt:   metaAt(time.Second),
	}
	want := in
	want.Email = "vera.volkova@example.com"
	want.DeletedAt, want.PurgeAfter, want.PreservedAt = metaMicroPtr(in.DeletedAt), metaMicroPtr(in.PurgeAfter), metaMicroPtr(in.PreservedAt)
	want.CreatedAt, want.UpdatedAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt)
	u := in
	metaMust(t, s.CreateUser(ctx, &u))
	metaAssertEqual(t, "CreateUser writes back", u, want)
	metaAssertEqual(t, "GetUser", metaGet[holdfast.User](t)(s.GetUser(ctx, acct, in.ID)), want)
	metaAssertEqual(t, "GetUserByEmail in another case", metaGet[holdfast.User](t)(s.GetUserByEmail(ctx, acct, "VERA.volkova@example.COM")), want)

	rev := metaRevision(t, s, acct)
	dup := holdfast.User{AccountID: acct, Email: "vera.VOLKOVA@example.com", ProfileID: f.profile.ID}
	metaAssertErr(t, "CreateUser with a taken email", s.CreateUser(ctx, &dup), holdfast.ErrConflict)
	dupID := holdfast.User{ID: in.ID, AccountID: acct, Email: "x@example.com", ProfileID: f.profile.ID}
	metaAssertErr(t, "CreateUser with a taken ID", s.CreateUser(ctx, &dupID), holdfast.ErrConflict)
	noProfile := holdfast.User{AccountID: acct, Email: "np@example.com", ProfileID: "missing"}
	metaAssertErr(t, "CreateUser in a missing profile", s.CreateUser(ctx, &noProfile), holdfast.ErrNotFound)
	metaUnchanged(t, s, acct, rev, "failed CreateUser")
	// Emails are unique per account only.
	other := metaNewFixture(t, s)
	elsewhere := holdfast.User{AccountID: other.account.ID, Email: in.Email, ProfileID: other.profile.ID}
	metaMust(t, s.CreateUser(ctx, &elsewhere))

	u.Email, u.Name, u.State, u.ExternalID = "vv@example.com", "V. Volkova", holdfast.UserActive, ""
	u.DeletedAt, u.PurgeAfter, u.PreservedAt = nil, nil, nil
	u.UpdatedAt = metaAt(2 * time.Hour)
	metaMust(t, s.UpdateUser(ctx, &u))
	want = u
	want.UpdatedAt = metaMicro(metaAt(2 * time.Hour))
	metaAssertEqual(t, "GetUser after update", metaGet[holdfast.User](t)(s.GetUser(ctx, acct, in.ID)), want)
	taken := u
	taken.Email = strings.ToUpper(f.user.Email)
	metaAssertErr(t, "UpdateUser to a taken email", s.UpdateUser(ctx, &taken), holdfast.ErrConflict)
	metaAssertEqual(t, "GetUser after a conflict", metaGet[holdfast.User](t)(s.GetUser(ctx, acct, in.ID)), want)

	// PurgeUser takes the user's devices and custodian rows with it.
	d := holdfast.Device{AccountID: acct, UserID: in.ID, Name: "laptop", Kind: holdfast.DeviceEndpoint}
	metaMust(t, s.CreateDevice(ctx, &d))
	metaMust(t, s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: f.hold.ID, UserID: in.ID}))
	metaMust(t, s.PurgeUser(ctx, acct, in.ID))
	_, err := s.GetUser(ctx, acct, in.ID)
	metaAssertErr(t, "GetUser after purge", err, holdfast.ErrNotFound)
	_, err = s.GetDevice(ctx, acct, d.ID)
	metaAssertErr(t, "GetDevice of a purged user", err, holdfast.ErrNotFound)
	metaAssertEqual(t, "ListCustodians after purge", len(metaGet[[]holdfast.Custodian](t)(s.ListCustodians(ctx, acct, f.hold.ID))), 0)
	metaGet[holdfast.User](t)(s.GetUser(ctx, acct, f.user.ID))

	metaAssertErr(t, "PurgeUser missing", s.PurgeUser(ctx, acct, in.ID), holdfast.ErrNotFound)
	metaAssertErr(t, "UpdateUser missing", s.UpdateUser(ctx, &u), holdfast.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, acct, "nobody@example.com")
	metaAssertErr(t, "GetUserByEmail missing", err, holdfast.ErrNotFound)
}

func testMetaDevice(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	second := holdfast.User{AccountID: acct, Email: "second@example.com", Name: "Second", ProfileID: f.profile.ID}
	metaMust(t, s.CreateUser(ctx, &second))
	in := holdfast.Device{
		ID:        metaUniq("dev"),
		AccountID: acct,
		UserID:    f.user.ID,
		Name:      "Mailbox",
		Kind:      holdfast.DeviceSaaS,
		Workload:  "exchange_online",
		Platform:  "m365",
		State:     "enabled",
		CreatedAt: metaAt(0),
		UpdatedAt: metaAt(time.Second),
	}
	want := in
	want.CreatedAt, want.UpdatedAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt)
	d := in
	metaMust(t, s.CreateDevice(ctx, &d))
	metaAssertEqual(t, "GetDevice", metaGet[holdfast.Device](t)(s.GetDevice(ctx, acct, in.ID)), want)
	laptop := holdfast.Device{AccountID: acct, UserID: second.ID, Name: "Laptop", Kind: holdfast.DeviceEndpoint,
		Workload: "endpoints", State: "enabled"}
	metaMust(t, s.CreateDevice(ctx, &laptop))
	metaAssertEqual(t, "ListDevices of the account", len(metaGet[[]holdfast.Device](t)(s.ListDevices(ctx, acct, ""))), 2)
	metaAssertEqual(t, "ListDevices of a user", metaGet[[]holdfast.Device](t)(s.ListDevices(ctx, acct, f.user.ID)), []holdfast.Device{want})

	rev := metaRevision(t, s, acct)
	dupID := holdfast.Device{ID: in.ID, AccountID: acct, UserID: f.user.ID}
	metaAssertErr(t, "CreateDevice with a taken ID", s.CreateDevice(ctx, &dupID), holdfast.ErrConflict)
	noUser := holdfast.Device{AccountID: acct, UserID: "missing", Name: "x"}
	metaAssertErr(t, "CreateDevice of a missing user", s.CreateDevice(ctx, &noUser), holdfast.ErrNotFound)
	sameName := holdfast.Device{AccountID: acct, UserID: f.user.ID, Name: "Mailbox", Kind: holdfast.DeviceEndpoint, Workload: "endpoints"}
	err := s.CreateDevice(ctx, &sameName)
	metaAssertErr(t, "CreateDevice with a name the user's device has", err, holdfast.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), `"Mailbox"`) {
		t.Errorf("CreateDevice with a taken name: %q does not name the name", err)
	}
	metaUnchanged(t, s, acct, rev, "failed CreateDevice")
	// Another user may use the name.
	other := holdfast.Device{AccountID: acct, UserID: second.ID, Name: "Mailbox", Kind: holdfast.DeviceSaaS, Workload: "exchange_online"}
	metaMust(t, s.CreateDevice(ctx, &other))
	renamed := laptop
	renamed.Name = "Mailbox"
	metaAssertErr(t, "UpdateDevice to a name the user's device has", s.UpdateDevice(ctx, &renamed), holdfast.ErrConflict)
	metaMust(t, s.DeleteDevice(ctx, acct, other.ID))

	d.UserID, d.Name, d.Kind, d.Workload, d.Platform, d.State = second.ID, "Old mailbox", holdfast.DeviceEndpoint, "onedrive", "", "decommissioned"
	d.UpdatedAt = metaAt(time.Hour)
	metaMust(t, s.UpdateDevice(ctx, &d))
	want = d
	want.UpdatedAt = metaMicro(metaAt(time.Hour))
	metaAssertEqual(t, "GetDevice after update", metaGet[holdfast.Device](t)(s.GetDevice(ctx, acct, in.ID)), want)

	metaMust(t, s.DeleteDevice(ctx, acct, in.ID))
	_, err = s.GetDevice(ctx, acct, in.ID)
	metaAssertErr(t, "GetDevice after delete", err, holdfast.ErrNotFound)
	metaAssertErr(t, "DeleteDevice missing", s.DeleteDevice(ctx, acct, in.ID), holdfast.ErrNotFound)
	metaAssertErr(t, "UpdateDevice missing", s.UpdateDevice(ctx, &d), holdfast.ErrNotFound)
}

func testMetaHoldType(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	in := holdfast.LegalHoldType{ID: metaUniq("ht"), AccountID: acct, Name: "Legal", Predefined: true,
		CreatedAt: metaAt(0), UpdatedAt: metaAt(time.Second)}
	want := in
	want.CreatedAt, want.UpdatedAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt)
	ht := in
	metaMust(t, s.CreateHoldType(ctx, &ht))
	metaAssertEqual(t, "GetHoldType", metaGet[holdfast.LegalHoldType](t)(s.GetHoldType(ctx, acct, in.ID)), want)
	hr := holdfast.LegalHoldType{AccountID: acct, Name: "Human Resources"}
	metaMust(t, s.CreateHoldType(ctx, &hr))
	metaAssertEqual(t, "ListHoldTypes by name", metaGet[[]holdfast.LegalHoldType](t)(s.ListHoldTypes(ctx, acct)), []holdfast.LegalHoldType{hr, want})

	rev := metaRevision(t, s, acct)
	dup := holdfast.LegalHoldType{AccountID: acct, Name: "Legal"}
	metaAssertErr(t, "CreateHoldType with a taken name", s.CreateHoldType(ctx, &dup), holdfast.ErrConflict)
	metaUnchanged(t, s, acct, rev, "CreateHoldType conflict")

	ht.Name, ht.Predefined, ht.UpdatedAt = "Litigation", false, metaAt(time.Hour)
	metaMust(t, s.UpdateHoldType(ctx, &ht))
	want = ht
	want.UpdatedAt = metaMicro(metaAt(time.Hour))
	metaAssertEqual(t, "GetHoldType after update", metaGet[holdfast.LegalHoldType](t)(s.GetHoldType(ctx, acct, in.ID)), want)
	taken := ht
	taken.Name = "Human Resources"
	metaAssertErr(t, "UpdateHoldType to a taken name", s.UpdateHoldType(ctx, &taken), holdfast.ErrConflict)

	metaMust(t, s.DeleteHoldType(ctx, acct, in.ID))
	_, err := s.GetHoldType(ctx, acct, in.ID)
	metaAssertErr(t, "GetHoldType after delete", err, holdfast.ErrNotFound)
	metaAssertErr(t, "DeleteHoldType missing", s.DeleteHoldType(ctx, acct, in.ID), holdfast.ErrNotFound)
	metaAssertErr(t, "UpdateHoldType missing", s.UpdateHoldType(ctx, &ht), holdfast.ErrNotFound)
}

func testMetaHold(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	in := holdfast.LegalHold{
		ID:               metaUniq("hold"),
		AccountID:        acct,
		Name:             "Acme v. Initech",
		Description:      "Preserve everything",
		TypeID:           "ht-legal",
		DataAccess:       holdfast.AccessDateRange,
		From:             metaPtr(metaAt(-24 * time.Hour)),
		To:               metaPtr(metaAt(24 * time.Hour)),
		DeletedFilesOnly: true,
		Sources:          []string{"exchange_online"},
		CreatedBy:        f.admin.ID,
		CreatedAt:        metaAt(0),
		UpdatedAt:        metaAt(time.Second),
	}
	want := in
	want.From, want.To = metaMicroPtr(in.From), metaMicroPtr(in.To)
	want.CreatedAt, want.UpdatedAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt)
	h := in
	metaMust(t, s.CreateHold(ctx, &h))
	metaAssertEqual(t, "GetHold", metaGet[holdfast.LegalHold](t)(s.GetHold(ctx, acct, in.ID)), want)
	fixtureHold := metaGet[holdfast.LegalHold](t)(s.GetHold(ctx, acct, f.hold.ID))
	metaAssertEqual(t, "ListHolds by name", metaGet[[]holdfast.LegalHold](t)(s.ListHolds(ctx, acct)), []holdfast.LegalHold{want, fixtureHold})
	dupID := holdfast.LegalHold{ID: in.ID, AccountID: acct}
	metaAssertErr(t, "CreateHold with a taken ID", s.CreateHold(ctx, &dupID), holdfast.ErrConflict)

	h.Name, h.Description, h.TypeID, h.DataAccess = "Renamed", "", "", holdfast.AccessAllData
	h.From, h.To, h.DeletedFilesOnly, h.Sources = nil, nil, false, nil
	h.UpdatedAt = metaAt(time.Hour)
	metaMust(t, s.UpdateHold(ctx, &h))
	want = h
	want.UpdatedAt = metaMicro(metaAt(time.Hour))
	metaAssertEqual(t, "GetHold after update", metaGet[holdfast.LegalHold](t)(s.GetHold(ctx, acct, in.ID)), want)

	// Custodians.
	c := holdfast.Custodian{HoldID: in.ID, UserID: f.user.ID, AddedBy: f.admin.ID, AddedAt: metaAt(time.Minute)}
	metaMust(t, s.AddCustodian(ctx, acct, &c))
	wantC := holdfast.Custodian{HoldID: in.ID, UserID: f.user.ID, AddedBy: f.admin.ID, AddedAt: metaMicro(metaAt(time.Minute))}
	metaAssertEqual(t, "ListCustodians", metaGet[[]holdfast.Custodian](t)(s.ListCustodians(ctx, acct, in.ID)), []holdfast.Custodian{wantC})
	rev := metaRevision(t, s, acct)
	err := s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: in.ID, UserID: f.user.ID})
	metaAssertErr(t, "AddCustodian twice", err, holdfast.ErrConflict)
	err = s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: in.ID, UserID: "missing"})
	metaAssertErr(t, "AddCustodian of a missing user", err, holdfast.ErrNotFound)
	err = s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: "missing", UserID: f.user.ID})
	metaAssertErr(t, "AddCustodian to a missing hold", err, holdfast.ErrNotFound)
	metaUnchanged(t, s, acct, rev, "failed AddCustodian")
	metaAssertEqual(t, "ListCustodians of a missing hold", len(metaGet[[]holdfast.Custodian](t)(s.ListCustodians(ctx, acct, "missing"))), 0)

	metaMust(t, s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: f.hold.ID, UserID: f.user.ID}))
	holds := metaGet[[]holdfast.LegalHold](t)(s.HoldsForUser(ctx, acct, f.user.ID))
	metaAssertEqual(t, "HoldsForUser", holds, []holdfast.LegalHold{fixtureHold, want})
	other := holdfast.User{AccountID: acct, Email: "free@example.com", ProfileID: f.profile.ID}
	metaMust(t, s.CreateUser(ctx, &other))
	metaAssertEqual(t, "HoldsForUser of a user on no hold", len(metaGet[[]holdfast.LegalHold](t)(s.HoldsForUser(ctx, acct, other.ID))), 0)

	metaMust(t, s.RemoveCustodian(ctx, acct, f.hold.ID, f.user.ID))
	metaAssertErr(t, "RemoveCustodian twice", s.RemoveCustodian(ctx, acct, f.hold.ID, f.user.ID), holdfast.ErrNotFound)
	metaAssertEqual(t, "HoldsForUser after RemoveCustodian", metaGet[[]holdfast.LegalHold](t)(s.HoldsForUser(ctx, acct, f.user.ID)), []holdfast.LegalHold{want})

	// DeleteHold takes its custodians along.
	metaMust(t, s.DeleteHold(ctx, acct, in.ID))
	_, err = s.GetHold(ctx, acct, in.ID)
	metaAssertErr(t, "GetHold after delete", err, holdfast.ErrNotFound)
	metaAssertEqual(t, "HoldsForUser after DeleteHold", len(metaGet[[]holdfast.LegalHold](t)(s.HoldsForUser(ctx, acct, f.user.ID))), 0)
	metaAssertEqual(t, "ListCustodians after DeleteHold", len(metaGet[[]holdfast.Custodian](t)(s.ListCustodians(ctx, acct, in.ID))), 0)
	// A new hold with the same ID starts with no custodians.
	again := holdfast.LegalHold{ID: in.ID, AccountID: acct, Name: "Again"}
	metaMust(t, s.CreateHold(ctx, &again))
	metaAssertEqual(t, "custodians of a recreated hold", len(metaGet[[]holdfast.Custodian](t)(s.ListCustodians(ctx, acct, in.ID))), 0)
	metaMust(t, s.DeleteHold(ctx, acct, in.ID))

	metaAssertErr(t, "DeleteHold missing", s.DeleteHold(ctx, acct, in.ID), holdfast.ErrNotFound)
	metaAssertErr(t, "UpdateHold missing", s.UpdateHold(ctx, &h), holdfast.ErrNotFound)
}

func testMetaToken(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	in := holdfast.APIToken{
		ID:         metaUniq("tok"),
		AccountID:  acct,
		AdminID:    f.admin.ID,
		Name:       "CI",
		Hash:       []byte(metaUniq("hash-of-the-secret-0123456789abcdef")),
		Prefix:     "hf_ab12",
		CreatedAt:  metaAt(0),
		ExpiresAt:  metaPtr(metaAt(90 * 24 * time.Hour)),
		LastUsedAt: metaPtr(metaAt(time.Minute)),
	}
	want := in
	want.CreatedAt, want.ExpiresAt, want.LastUsedAt = metaMicro(in.CreatedAt), metaMicroPtr(in.ExpiresAt), metaMicroPtr(in.LastUsedAt)
	tok := in
	metaMust(t, s.CreateToken(ctx, &tok))
	metaAssertEqual(t, "GetTokenByHash", metaGet[holdfast.APIToken](t)(s.GetTokenByHash(ctx, in.Hash)), want)
	_, err := s.GetTokenByHash(ctx, []byte("unknown"))
	metaAssertErr(t, "GetTokenByHash missing", err, holdfast.ErrNotFound)

	second := holdfast.Administrator{AccountID: acct, Name: "Zed", Email: metaUniq("zed") + "@example.com"}
	metaMust(t, s.CreateAdmin(ctx, &second))
	other := holdfast.APIToken{AccountID: acct, AdminID: second.ID, Name: "Other", Hash: []byte(metaUniq("other")), CreatedAt: metaAt(time.Hour)}
	metaMust(t, s.CreateToken(ctx, &other))
	metaAssertEqual(t, "ListTokens of the account", len(metaGet[[]holdfast.APIToken](t)(s.ListTokens(ctx, acct, ""))), 2)
	metaAssertEqual(t, "ListTokens of an administrator", metaGet[[]holdfast.APIToken](t)(s.ListTokens(ctx, acct, f.admin.ID)), []holdfast.APIToken{want})

	rev := metaRevision(t, s, acct)
	dupHash := holdfast.APIToken{AccountID: acct, AdminID: f.admin.ID, Hash: in.Hash}
	metaAssertErr(t, "CreateToken with a taken hash", s.CreateToken(ctx, &dupHash), holdfast.ErrConflict)
	noAdmin := holdfast.APIToken{AccountID: acct, AdminID: "missing", Hash: []byte(metaUniq("x"))}
	metaAssertErr(t, "CreateToken of a missing administrator", s.CreateToken(ctx, &noAdmin), holdfast.ErrNotFound)
	metaUnchanged(t, s, acct, rev, "failed CreateToken")

	metaMust(t, s.TouchToken(ctx, acct, in.ID, metaAt(2*time.Hour)))
	metaUnchanged(t, s, acct, rev, "TouchToken")
	metaMust(t, s.RevokeToken(ctx, acct, in.ID, metaAt(3*time.Hour)))
	if got := metaRevision(t, s, acct); got <= rev {
		t.Errorf("Revision after RevokeToken = %d, want > %d", got, rev)
	}
	want.LastUsedAt, want.RevokedAt = metaPtr(metaMicro(metaAt(2*time.Hour))), metaPtr(metaMicro(metaAt(3*time.Hour)))
	metaAssertEqual(t, "revoked token, still found by hash", metaGet[holdfast.APIToken](t)(s.GetTokenByHash(ctx, in.Hash)), want)
	metaAssertErr(t, "TouchToken missing", s.TouchToken(ctx, acct, "missing", metaAt(0)), holdfast.ErrNotFound)
	metaAssertErr(t, "RevokeToken missing", s.RevokeToken(ctx, acct, "missing", metaAt(0)), holdfast.ErrNotFound)

	// An administrator's tokens go with it.
	metaMust(t, s.DeleteAdmin(ctx, acct, second.ID))
	_, err = s.GetTokenByHash(ctx, other.Hash)
	metaAssertErr(t, "GetTokenByHash of a deleted administrator's token", err, holdfast.ErrNotFound)
}
