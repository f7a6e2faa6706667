package server

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// DemoDomain is the email domain of every demo person. .test is reserved
// (RFC 2606), so no demo address can ever reach a real mailbox.
const DemoDomain = "demo.holdfast.test"

// DemoEngine is what Demo needs from the decision engine (authz.Engine).
type DemoEngine interface {
	// Role returns a role of the account with its effective rights.
	Role(ctx context.Context, accountID, roleID string) (holdfast.Role, error)
	// SaveRoleRights writes the grants of a stored role through tx.
	SaveRoleRights(ctx context.Context, tx holdfast.MetaStore, accountID, roleID string, rights []string) error
}

// DemoResult says what Demo did.
type DemoResult struct {
	// Bootstrap is the result of the bootstrap Demo runs first. When
	// Bootstrap.Existing is true the store already held an account and
	// Demo added nothing.
	Bootstrap BootstrapResult
	// Password is the one password of every demo administrator, the
	// platform administrator included, when Demo generated it ("" when it
	// came from BootstrapOptions.AdminPassword). Show it once.
	Password holdfast.Secret
	// Counts of what Demo created (the platform administrator included).
	Admins, Users, Devices, Profiles int
}

// Demo fills an empty store with a realistic demo account "Demo Corp":
// Elite edition with both add-ons on (so every predefined role can be
// assigned), five profiles, 40 users with laptops, desktops and SaaS data
// sources, one administrator for every predefined role plus one with the
// custom role "Backup Operator" (Help Desk Administrator's rights plus
// legal_holds.view), the predefined legal hold types plus "Regulatory", and
// the legal hold "Q3 audit" (type Legal) over three custodians. Every write
// is audited.
//
// Demo runs Bootstrap first with opts (edition and account name are the
// demo's); a store that already holds an account is left alone and Demo
// returns with Bootstrap.Existing set. All demo administrators share one
// password: opts.AdminPassword, or a generated one returned in Password.
func Demo(ctx context.Context, store holdfast.MetaStore, engine DemoEngine, opts BootstrapOptions) (DemoResult, error) {
	var res DemoResult
	accounts, err := store.ListAccounts(ctx)
	if err != nil {
		return res, fmt.Errorf("demo: list accounts: %w", err)
	}
	if len(accounts) > 0 {
		// Not an empty store: no demo, and the caller's own bootstrap
		// settings (not the demo's defaults) are checked against it.
		res.Bootstrap, err = Bootstrap(ctx, store, opts)
		return res, err
	}
	opts.Edition = holdfast.EditionElite
	if opts.AccountName == "" {
		opts.AccountName = "Demo Corp"
	}
	if opts.AdminEmail == "" {
		opts.AdminEmail = "olivia.bennett@" + DemoDomain
		if opts.AdminName == "" {
			opts.AdminName = "Olivia Bennett"
		}
	}
	opts.Clock = holdfast.ClockOrSystem(opts.Clock)
	if opts.AdminPassword == "" {
		p, err := idp.GeneratePassword()
		if err != nil {
			return res, fmt.Errorf("demo: %w", err)
		}
		opts.AdminPassword, res.Password = p, p
	}
	boot, err := Bootstrap(ctx, store, opts)
	if err != nil {
		return res, err
	}
	res.Bootstrap = boot
	if boot.Existing {
		// Another replica bootstrapped the store since the check above.
		res.Password = ""
		return res, nil
	}

	// Everything that needs the engine or takes CPU time happens before the
	// transaction: with SQLite, the engine reading through the store while
	// the transaction is open would wait for it.
	helpDesk, err := engine.Role(ctx, boot.Account.ID, "help_desk_admin")
	if err != nil {
		return res, fmt.Errorf("demo: help desk administrator role: %w", err)
	}
	hashes := make([]string, len(demoAdmins))
	for i := range demoAdmins {
		if hashes[i], err = idp.HashPassword(opts.AdminPassword.Reveal()); err != nil {
			return res, fmt.Errorf("demo: %w", err)
		}
	}

	d := &demoWriter{accountID: boot.Account.ID, now: opts.Clock.Now().UTC().Truncate(time.Microsecond)}
	err = store.Tx(ctx, func(tx holdfast.MetaStore) error {
		d.tx = tx
		return d.fill(ctx, engine, helpDesk, hashes)
	})
	if err != nil {
		return res, fmt.Errorf("demo: %w (the account %q was bootstrapped without demo data; start again on an empty data directory)",
			err, boot.Account.Name)
	}
	res.Admins = d.admins + 1
	res.Users, res.Devices, res.Profiles = d.users, d.devices, d.profiles+1
	return res, nil
}

// demoWriter creates demo rows through one transaction and audits each.
type demoWriter struct {
	tx        holdfast.MetaStore
	accountID string
	now       time.Time

	profiles, users, devices, admins int
}

// audit appends the record of one demo write. The actor is the system
// (empty actor id), and the detail says the row is demo data.
func (d *demoWriter) audit(ctx context.Context, action, resourceType, resourceID string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	detail["source"] = "demo"
	b, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit detail: %w", err)
	}
	rec := holdfast.AuditRecord{
		AccountID:    d.accountID,
		Time:         d.now,
		Action:       action,
		ResourceType: resourceType,
		ResourceID:   resourceID,
		Outcome:      holdfast.OutcomeSuccess,
		Detail:       b,
	}
	if err := d.tx.AppendAudit(ctx, &rec); err != nil {
		return fmt.Errorf("audit %s %s: %w", action, resourceID, err)
	}
	return nil
}

func (d *demoWriter) fill(ctx context.Context, engine DemoEngine, helpDesk holdfast.Role, hashes []string) error {
	acct, err := d.tx.GetAccount(ctx, d.accountID)
	if err != nil {
		return err
	}
	acct.Addons = slices.Clone(holdfast.Addons)
	acct.UpdatedAt = d.now
	if err := d.tx.UpdateAccount(ctx, &acct); err != nil {
		return fmt.Errorf("enable add-ons: %w", err)
	}
	if err := d.audit(ctx, "account.update", holdfast.ResourceAccount, acct.ID, map[string]any{"addons": acct.Addons}); err != nil {
		return err
	}

	profiles, err := d.createProfiles(ctx)
	if err != nil {
		return err
	}
	users, err := d.createUsers(ctx, profiles)
	if err != nil {
		return err
	}
	types, err := d.createHoldTypes(ctx)
	if err != nil {
		return err
	}
	backupOperator, err := d.createCustomRole(ctx, engine, helpDesk)
	if err != nil {
		return err
	}
	admins, err := d.createAdmins(ctx, profiles, types, backupOperator, hashes)
	if err != nil {
		return err
	}
	return d.createHold(ctx, types["Legal"], admins["legal_admin"], users)
}

// demoProfile is one demo profile; Default exists already (Bootstrap).
type demoProfile struct {
	name, description string
	workloads         []string
	retention         holdfast.Retention
	blockAdminAccess  bool
}

var demoProfiles = []demoProfile{
	{"Default", "", []string{"endpoints", "exchange_online", "onedrive"},
		holdfast.Retention{KeepDaily: 30, KeepWeekly: 8, KeepMonthly: 12}, false},
	{"Engineering", "Developers' laptops and workstations, Google Workspace", []string{"endpoints", "gmail", "google_drive"},
		holdfast.Retention{KeepLast: 10, KeepDaily: 14, KeepWeekly: 8, KeepMonthly: 6}, false},
	{"Sales", "Field sales: laptops, Microsoft 365 mail and files", []string{"endpoints", "exchange_online", "onedrive"},
		holdfast.Retention{KeepDaily: 30, KeepWeekly: 12, KeepMonthly: 24}, false},
	{"Legal & Compliance", "Counsel and compliance; administrators may not browse user data", []string{"endpoints", "exchange_online", "onedrive"},
		holdfast.Retention{KeepDaily: 90, KeepWeekly: 52, KeepMonthly: 84}, true},
	{"Executives", "Leadership team; administrators may not browse user data", []string{"endpoints", "exchange_online", "onedrive"},
		holdfast.Retention{KeepDaily: 60, KeepWeekly: 26, KeepMonthly: 84, KeepWithinDays: 30}, true},
}

// createProfiles updates Default and creates the others; it returns
// profiles by name.
func (d *demoWriter) createProfiles(ctx context.Context) (map[string]holdfast.Profile, error) {
	existing, err := d.tx.ListProfiles(ctx, d.accountID)
	if err != nil {
		return nil, err
	}
	out := map[string]holdfast.Profile{}
	for _, p := range existing {
		out[p.Name] = p
	}
	for _, dp := range demoProfiles {
		p, ok := out[dp.name]
		if ok {
			p.Workloads, p.Retention, p.BlockAdminAccess, p.UpdatedAt = dp.workloads, dp.retention, dp.blockAdminAccess, d.now
			if err := d.tx.UpdateProfile(ctx, &p); err != nil {
				return nil, fmt.Errorf("profile %s: %w", dp.name, err)
			}
			if err := d.audit(ctx, "profile.update", holdfast.ResourceProfile, p.ID, map[string]any{"name": p.Name}); err != nil {
				return nil, err
			}
			out[p.Name] = p
			continue
		}
		p = holdfast.Profile{
			AccountID:        d.accountID,
			Name:             dp.name,
			Description:      dp.description,
			Workloads:        dp.workloads,
			BlockAdminAccess: dp.blockAdminAccess,
			Retention:        dp.retention,
			CreatedAt:        d.now,
			UpdatedAt:        d.now,
		}
		if err := d.tx.CreateProfile(ctx, &p); err != nil {
			return nil, fmt.Errorf("profile %s: %w", dp.name, err)
		}
		if err := d.audit(ctx, "profile.create", holdfast.ResourceProfile, p.ID, map[string]any{"name": p.Name}); err != nil {
			return nil, err
		}
		d.profiles++
		out[p.Name] = p
	}
	return out, nil
}

// demoUsers are the backup users, by profile. 40 in all.
var demoUsers = map[string][]string{
	"Engineering": {
		"Aarav Patel", "Emma Johansson", "Mateo García", "Yuki Sato", "Noor Al-Amin", "Jonas Becker",
		"Chen Wei", "Ava Thompson", "Luca Bianchi", "Zara Ahmed", "Ethan Brooks", "Mia Novak",
		"Santiago Ruiz", "Ingrid Larsen",
	},
	"Sales": {
		"James Carter", "Sophie Dubois", "Rahul Mehta", "Lena Hoffmann", "Carlos Mendes",
		"Emily Walsh", "Hiroshi Nakamura", "Fatima Zahra", "Oliver Grant", "Nina Petrova",
	},
	"Legal & Compliance": {
		"Rebecca Stone", "Ahmed Farouk", "Claire Fontaine", "Michael O'Brien", "Ana Costa",
	},
	"Executives": {
		"Victoria Hayes", "Richard Lam", "Elena Moreau", "Samuel Adeyemi",
	},
	"Default": {
		"Grace Kim", "Peter Novak", "Laura Schmidt", "David Cohen", "Maria Rossi", "Tom Eriksen", "Julia Wagner",
	},
}

// demoEmail makes "Michael O'Brien" into michael.obrien@demo.holdfast.test.
func demoEmail(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r == ' ':
			b.WriteByte('.')
		case r >= 'a' && r <= 'z', r == '-':
			b.WriteRune(r)
		case r == 'á' || r == 'à':
			b.WriteByte('a')
		case r == 'é' || r == 'è':
			b.WriteByte('e')
		case r == 'í':
			b.WriteByte('i')
		case r == 'ó':
			b.WriteByte('o')
		case r == 'ú':
			b.WriteByte('u')
		}
	}
	return b.String() + "@" + DemoDomain
}

// saasDeviceNames names a user's SaaS data sources.
var saasDeviceNames = map[string]string{
	"exchange_online": "Exchange Online mailbox",
	"onedrive":        "OneDrive",
	"gmail":           "Gmail",
	"google_drive":    "Google Drive",
}

var demoEndpoints = []struct{ model, platform, prefix string }{
	{"MacBook Pro 14", "macos", "MBP"},
	{"ThinkPad X1 Carbon", "windows", "LT"},
	{"Dell Latitude 7450", "windows", "LT"},
	{"MacBook Air 13", "macos", "MBA"},
	{"Precision 3680 Tower", "windows", "WS"},
	{"Framework Laptop 13", "linux", "LT"},
}

// createUsers creates every demo user with an endpoint (engineers and
// every fifth user also a second one) and one SaaS device per SaaS workload
// of their profile. It returns users by name.
func (d *demoWriter) createUsers(ctx context.Context, profiles map[string]holdfast.Profile) (map[string]holdfast.User, error) {
	out := map[string]holdfast.User{}
	n := 0
	for _, dp := range demoProfiles {
		p := profiles[dp.name]
		for _, name := range demoUsers[dp.name] {
			n++
			u := holdfast.User{
				AccountID: d.accountID,
				Email:     demoEmail(name),
				Name:      name,
				ProfileID: p.ID,
				State:     holdfast.UserActive,
				CreatedAt: d.now,
				UpdatedAt: d.now,
			}
			if err := d.tx.CreateUser(ctx, &u); err != nil {
				return nil, fmt.Errorf("user %s: %w", u.Email, err)
			}
			if err := d.audit(ctx, "user.create", holdfast.ResourceUser, u.ID, map[string]any{"email": u.Email, "profile_id": p.ID}); err != nil {
				return nil, err
			}
			d.users++
			out[name] = u

			endpoints := 1
			if dp.name == "Engineering" && n%3 == 0 || n%5 == 0 {
				endpoints = 2
			}
			for i := range endpoints {
				e := demoEndpoints[(n+i*4)%len(demoEndpoints)]
				if err := d.createDevice(ctx, u, holdfast.DeviceEndpoint, "endpoints", e.platform,
					fmt.Sprintf("%s-%03d (%s)", e.prefix, n*10+i, e.model)); err != nil {
					return nil, err
				}
			}
			for _, w := range p.Workloads {
				if w == "endpoints" {
					continue
				}
				if err := d.createDevice(ctx, u, holdfast.DeviceSaaS, w, "", saasDeviceNames[w]); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

func (d *demoWriter) createDevice(ctx context.Context, u holdfast.User, kind, workload, platform, name string) error {
	dev := holdfast.Device{
		AccountID: d.accountID,
		UserID:    u.ID,
		Name:      name,
		Kind:      kind,
		Workload:  workload,
		Platform:  platform,
		State:     "enabled",
		CreatedAt: d.now,
		UpdatedAt: d.now,
	}
	if err := d.tx.CreateDevice(ctx, &dev); err != nil {
		return fmt.Errorf("device %s of %s: %w", name, u.Email, err)
	}
	d.devices++
	return d.audit(ctx, "device.create", holdfast.ResourceDevice, dev.ID,
		map[string]any{"user_id": u.ID, "workload": workload, "name": name})
}

// createHoldTypes adds the custom type "Regulatory" and returns every type
// by name.
func (d *demoWriter) createHoldTypes(ctx context.Context) (map[string]holdfast.LegalHoldType, error) {
	t := holdfast.LegalHoldType{AccountID: d.accountID, Name: "Regulatory", CreatedAt: d.now, UpdatedAt: d.now}
	if err := d.tx.CreateHoldType(ctx, &t); err != nil {
		return nil, fmt.Errorf("legal hold type %s: %w", t.Name, err)
	}
	if err := d.audit(ctx, "legal_hold_type.create", holdfast.ResourceLegalHoldType, t.ID, map[string]any{"name": t.Name}); err != nil {
		return nil, err
	}
	all, err := d.tx.ListHoldTypes(ctx, d.accountID)
	if err != nil {
		return nil, err
	}
	out := map[string]holdfast.LegalHoldType{}
	for _, t := range all {
		out[t.Name] = t
	}
	return out, nil
}

// createCustomRole creates "Backup Operator": imported from Help Desk
// Administrator, plus the right to view legal holds (R4.1, R4.2, R4.8).
func (d *demoWriter) createCustomRole(ctx context.Context, engine DemoEngine, helpDesk holdfast.Role) (holdfast.Role, error) {
	rights := append(slices.Clone(helpDesk.Rights), "legal_holds.view")
	slices.Sort(rights)
	rights = slices.Compact(rights)
	scope := slices.Clone(helpDesk.Scope)
	if !slices.Contains(scope, holdfast.ScopeLegalHoldType) {
		// R4.9: a role with legal hold rights is scoped by legal hold type.
		scope = append(scope, holdfast.ScopeLegalHoldType)
	}
	r := holdfast.Role{
		ID:           "role_" + strings.ReplaceAll(uuid.NewString(), "-", ""),
		AccountID:    d.accountID,
		Name:         "Backup Operator",
		Description:  "Help desk duties plus read access to legal holds of its types",
		Product:      holdfast.ProductInSync,
		Scope:        scope,
		ImportedFrom: "help_desk_admin",
		Rights:       rights,
		CreatedAt:    d.now,
		UpdatedAt:    d.now,
	}
	if err := d.tx.CreateRole(ctx, &r); err != nil {
		return r, fmt.Errorf("role %s: %w", r.Name, err)
	}
	if err := engine.SaveRoleRights(ctx, d.tx, d.accountID, r.ID, rights); err != nil {
		return r, fmt.Errorf("role %s: %w", r.Name, err)
	}
	return r, d.audit(ctx, "role.create", holdfast.ResourceRole, r.ID,
		map[string]any{"name": r.Name, "imported_from": r.ImportedFrom, "rights": rights})
}

// demoAdmin is one demo administrator. Scope names refer to demo profiles
// and legal hold types; "custom" is the Backup Operator role.
type demoAdmin struct {
	name, role, country, timeZone string
	scopes                        holdfast.Scopes
	profiles, holdTypes           []string
}

var demoAdmins = []demoAdmin{
	{name: "Marcus Chen", role: "cloud_admin", country: "US", timeZone: "America/Los_Angeles"},
	{name: "Priya Raman", role: "workload_admin", country: "IN", timeZone: "Asia/Kolkata",
		scopes: holdfast.Scopes{AllProfiles: true, Workloads: []string{"exchange_online", "endpoints"}}},
	{name: "Lukas Weber", role: "data_protection_officer", country: "DE", timeZone: "Europe/Berlin",
		scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true}},
	{name: "Sofia Alvarez", role: "help_desk_admin", country: "ES", timeZone: "Europe/Madrid",
		scopes: holdfast.Scopes{AllWorkloads: true}, profiles: []string{"Engineering", "Sales"}},
	{name: "Hannah Okafor", role: "legal_admin", country: "GB", timeZone: "Europe/London",
		scopes:    holdfast.Scopes{AllProfiles: true, AllWorkloads: true},
		holdTypes: []string{"Legal", "Human Resources"}},
	{name: "Kenji Tanaka", role: "profile_admin", country: "JP", timeZone: "Asia/Tokyo",
		scopes: holdfast.Scopes{AllWorkloads: true}, profiles: []string{"Sales"}},
	{name: "Amélie Laurent", role: "sensitive_data_governance_admin", country: "FR", timeZone: "Europe/Paris"},
	{name: "Daniel Kowalski", role: "view_only_admin", country: "PL", timeZone: "Europe/Warsaw",
		scopes: holdfast.Scopes{AllProfiles: true, AllWorkloads: true}},
	{name: "Grace Liu", role: "ew_cloud_admin", country: "SG", timeZone: "Asia/Singapore"},
	{name: "Tomás Silva", role: "ew_cloud_admin_view_only", country: "BR", timeZone: "America/Sao_Paulo"},
	{name: "Freya Nielsen", role: "ew_org_admin", country: "DK", timeZone: "Europe/Copenhagen",
		scopes: holdfast.Scopes{Organizations: []string{"org-emea"}}},
	{name: "Omar Haddad", role: "ew_org_admin_view_only", country: "AE", timeZone: "Asia/Dubai",
		scopes: holdfast.Scopes{Organizations: []string{"org-apac"}}},
	{name: "Liam O'Connor", role: "ew_group_admin", country: "IE", timeZone: "Europe/Dublin",
		scopes: holdfast.Scopes{AdminGroups: []string{"grp-dublin-servers", "grp-frankfurt-db"}}},
	{name: "Chloé Martin", role: "ew_group_admin_view_only", country: "CA", timeZone: "America/Toronto",
		scopes: holdfast.Scopes{AdminGroups: []string{"grp-toronto-servers"}}},
	{name: "Isabella Rossi", role: "ew_data_protection_officer", country: "IT", timeZone: "Europe/Rome",
		scopes: holdfast.Scopes{Organizations: []string{"org-emea", "org-apac"}}},
	{name: "Noah Fischer", role: "custom", country: "CH", timeZone: "Europe/Zurich",
		scopes: holdfast.Scopes{AllWorkloads: true}, profiles: []string{"Engineering"}, holdTypes: []string{"Legal"}},
}

// createAdmins creates one administrator per demoAdmins entry, created by
// the platform administrator, and returns them by role id.
func (d *demoWriter) createAdmins(ctx context.Context, profiles map[string]holdfast.Profile,
	types map[string]holdfast.LegalHoldType, custom holdfast.Role, hashes []string) (map[string]holdfast.Administrator, error) {
	platform, err := d.tx.ListAdmins(ctx, d.accountID, holdfast.AdminFilter{RoleID: "platform_admin"})
	if err != nil || len(platform) == 0 {
		return nil, fmt.Errorf("find the platform administrator: %w", err)
	}
	out := map[string]holdfast.Administrator{}
	for i, da := range demoAdmins {
		role := da.role
		if role == "custom" {
			role = custom.ID
		}
		scopes := da.scopes
		for _, name := range da.profiles {
			scopes.Profiles = append(scopes.Profiles, profiles[name].ID)
		}
		for _, name := range da.holdTypes {
			scopes.LegalHoldTypes = append(scopes.LegalHoldTypes, types[name].ID)
		}
		a := holdfast.Administrator{
			AccountID:    d.accountID,
			Name:         da.name,
			Email:        demoEmail(da.name),
			Country:      da.country,
			TimeZone:     da.timeZone,
			RoleID:       role,
			Scopes:       scopes,
			State:        holdfast.AdminActive,
			CreatedBy:    platform[0].ID,
			CreatedAt:    d.now,
			UpdatedAt:    d.now,
			PasswordHash: hashes[i],
		}
		if err := d.tx.CreateAdmin(ctx, &a); err != nil {
			return nil, fmt.Errorf("administrator %s: %w", a.Email, err)
		}
		if err := d.audit(ctx, "administrator.create", holdfast.ResourceAdministrator, a.ID,
			map[string]any{"email": a.Email, "role": a.RoleID}); err != nil {
			return nil, err
		}
		d.admins++
		out[da.role] = a
	}
	return out, nil
}

// createHold creates "Q3 audit" (type Legal) over three custodians, by the
// legal administrator.
func (d *demoWriter) createHold(ctx context.Context, legal holdfast.LegalHoldType, by holdfast.Administrator, users map[string]holdfast.User) error {
	h := holdfast.LegalHold{
		AccountID:   d.accountID,
		Name:        "Q3 audit",
		Description: "Preserve sales and finance records for the external Q3 audit",
		TypeID:      legal.ID,
		DataAccess:  holdfast.AccessAllData,
		CreatedBy:   by.ID,
		CreatedAt:   d.now,
		UpdatedAt:   d.now,
	}
	if err := d.tx.CreateHold(ctx, &h); err != nil {
		return fmt.Errorf("legal hold %s: %w", h.Name, err)
	}
	if err := d.audit(ctx, "legal_hold.create", holdfast.ResourceLegalHold, h.ID,
		map[string]any{"name": h.Name, "type_id": h.TypeID}); err != nil {
		return err
	}
	for _, name := range []string{"James Carter", "Nina Petrova", "Richard Lam"} {
		c := holdfast.Custodian{HoldID: h.ID, UserID: users[name].ID, AddedBy: by.ID, AddedAt: d.now}
		if err := d.tx.AddCustodian(ctx, d.accountID, &c); err != nil {
			return fmt.Errorf("custodian %s of %s: %w", name, h.Name, err)
		}
		if err := d.audit(ctx, "legal_hold.custodian_add", holdfast.ResourceLegalHold, h.ID,
			map[string]any{"user_id": c.UserID}); err != nil {
			return err
		}
	}
	return nil
}
