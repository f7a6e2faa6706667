// Package demo loads the demo account "Demo Corp" (demo.yaml) into an
// empty store, for `holdfast serve --demo`: an Elite account with both
// add-ons, five profiles, 40 users with laptops, desktops and SaaS data
// sources, an administrator for every predefined role and one with a
// custom role, a custom legal hold type and a legal hold over three
// custodians.
//
// The data is data: demo.yaml names the people, the roles they hold (by
// catalog id, or by name for the custom roles it defines) and their
// scopes. Every row goes through the domain services (directory, admins,
// legalhold) as the platform administrator Bootstrap created, so the
// engine decides each write and each is audited as one made in the
// console would be.
package demo

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/setup"
)

// Domain is the email domain of every demo person. .test is reserved
// (RFC 2606), so no demo address can ever reach a real mailbox.
const Domain = "demo.holdfast.test"

//go:embed demo.yaml
var demoYAML []byte

// Engine is what the demo needs from the decision engine (*authz.Engine):
// decisions, and the roles and catalog the domain services read.
type Engine interface {
	holdfast.Authorizer
	admins.Engine
}

// Result says what Load did.
type Result struct {
	// Bootstrap is the result of the bootstrap Load runs first. When
	// Bootstrap.Existing is true the store already held an account and
	// Load added nothing.
	Bootstrap setup.BootstrapResult
	// Password is the one password of every demo administrator, the
	// platform administrator included, when Load generated it ("" when it
	// came from BootstrapOptions.AdminPassword). Show it once.
	Password holdfast.Secret
	// Counts of what Load created (the platform administrator and the
	// Default profile included).
	Admins, Users, Devices, Profiles int
}

// Load fills an empty store with the demo account. It runs
// setup.Bootstrap first with opts (edition, add-ons and account name are
// the demo's; the platform administrator is the demo's unless
// opts.AdminEmail names another); a store that already holds an account is
// left alone and Load returns with Bootstrap.Existing set. All demo
// administrators share one password: opts.AdminPassword, or a generated
// one returned in Password.
//
// Each row is its own change: a failure part way leaves the account with
// part of the demo, and the error says so.
func Load(ctx context.Context, store holdfast.MetaStore, engine Engine, opts setup.BootstrapOptions) (Result, error) {
	var res Result
	d, err := parse(demoYAML)
	if err != nil {
		return res, err
	}
	accounts, err := store.ListAccounts(ctx)
	if err != nil {
		return res, fmt.Errorf("demo: list accounts: %w", err)
	}
	if len(accounts) > 0 {
		// Not an empty store: no demo, and the caller's own bootstrap
		// settings (not the demo's defaults) are checked against it.
		res.Bootstrap, err = setup.Bootstrap(ctx, store, opts)
		return res, err
	}
	if opts, res.Password, err = d.bootstrapOptions(opts); err != nil {
		return res, err
	}
	boot, err := setup.Bootstrap(ctx, store, opts)
	if err != nil {
		return res, err
	}
	res.Bootstrap = boot
	if boot.Existing {
		// Another replica bootstrapped the store since the check above.
		res.Password = ""
		return res, nil
	}
	l, err := newLoader(store, engine, opts, boot.Admin)
	if err != nil {
		return res, err
	}
	if err := l.load(ctx, d, opts.AdminPassword); err != nil {
		return res, fmt.Errorf("demo: %w (the account %q holds part of the demo data; start again on an empty data directory)",
			err, boot.Account.Name)
	}
	res.Admins, res.Users, res.Devices, res.Profiles = l.admins+1, l.users, l.devices, l.profiles+1
	return res, nil
}

// bootstrapOptions are opts with the demo's account: Elite with every
// add-on (so every predefined role can be assigned), the demo's name and
// platform administrator unless opts names them, and a generated password
// unless opts has one (returned, to be shown once).
func (d *data) bootstrapOptions(opts setup.BootstrapOptions) (setup.BootstrapOptions, holdfast.Secret, error) {
	opts.Edition = holdfast.EditionElite
	opts.Addons = holdfast.Addons
	if opts.AccountName == "" {
		opts.AccountName = d.Account
	}
	if opts.AdminEmail == "" {
		opts.AdminEmail = Email(d.PlatformAdmin)
		if opts.AdminName == "" {
			opts.AdminName = d.PlatformAdmin
		}
	}
	opts.Clock = holdfast.ClockOrSystem(opts.Clock)
	if opts.AdminPassword != "" {
		return opts, "", nil
	}
	p, err := idp.GeneratePassword()
	if err != nil {
		return opts, "", fmt.Errorf("demo: %w", err)
	}
	opts.AdminPassword = p
	return opts, p, nil
}

// Email makes "Michael O'Brien" into michael.obrien@demo.holdfast.test.
func Email(name string) string {
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
	return b.String() + "@" + Domain
}

// data is demo.yaml.
type data struct {
	Account       string    `yaml:"account"`
	PlatformAdmin string    `yaml:"platform_administrator"`
	Profiles      []profile `yaml:"profiles"`
	// SecondEndpointEvery: every nth user has a second endpoint.
	SecondEndpointEvery int               `yaml:"second_endpoint_every"`
	Endpoints           []endpoint        `yaml:"endpoints"`
	SaaSDevices         map[string]string `yaml:"saas_devices"` // workload -> device name
	HoldTypes           []string          `yaml:"hold_types"`
	Roles               []role            `yaml:"roles"`
	Administrators      []admin           `yaml:"administrators"`
	Holds               []hold            `yaml:"holds"`
}

type profile struct {
	Name                string    `yaml:"name"`
	Description         string    `yaml:"description"`
	Workloads           []string  `yaml:"workloads"`
	Retention           retention `yaml:"retention"`
	BlockAdminAccess    bool      `yaml:"block_admin_access"`
	SecondEndpointEvery int       `yaml:"second_endpoint_every"`
	Users               []string  `yaml:"users"`
}

type retention struct {
	KeepLast       int `yaml:"keep_last"`
	KeepDaily      int `yaml:"keep_daily"`
	KeepWeekly     int `yaml:"keep_weekly"`
	KeepMonthly    int `yaml:"keep_monthly"`
	KeepWithinDays int `yaml:"keep_within_days"`
}

type endpoint struct {
	Model    string `yaml:"model"`
	Platform string `yaml:"platform"`
	Prefix   string `yaml:"prefix"`
}

type role struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	ImportFrom  string   `yaml:"import_from"`
	Rights      []string `yaml:"rights"`
}

type admin struct {
	Name     string `yaml:"name"`
	Role     string `yaml:"role"` // catalog role id, or the name of a role of Roles
	Country  string `yaml:"country"`
	TimeZone string `yaml:"time_zone"`
	Scopes   scopes `yaml:"scopes"`
}

// scopes are holdfast.Scopes with profiles and legal hold types by name.
type scopes struct {
	AllProfiles       bool     `yaml:"all_profiles"`
	Profiles          []string `yaml:"profiles"`
	AllWorkloads      bool     `yaml:"all_workloads"`
	Workloads         []string `yaml:"workloads"`
	AllLegalHoldTypes bool     `yaml:"all_legal_hold_types"`
	LegalHoldTypes    []string `yaml:"legal_hold_types"`
	Organizations     []string `yaml:"organizations"`
	AdminGroups       []string `yaml:"admin_groups"`
}

type hold struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	Type        string   `yaml:"type"` // legal hold type name
	DataAccess  string   `yaml:"data_access"`
	CreatedBy   string   `yaml:"created_by"` // administrator name
	Custodians  []string `yaml:"custodians"` // user names
}

// parse decodes demo data, refusing unknown keys.
func parse(b []byte) (*data, error) {
	var d data
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("demo: demo.yaml: %w", err)
	}
	if d.SecondEndpointEvery <= 0 || len(d.Endpoints) == 0 {
		return nil, fmt.Errorf("demo: demo.yaml: second_endpoint_every and endpoints are required")
	}
	return &d, nil
}

// loader writes demo data through the domain services.
type loader struct {
	dir   *directory.Service
	adm   *admins.Service
	holds *legalhold.Service
	// platform is the platform administrator Bootstrap created, who
	// makes every row but the holds.
	platform holdfast.Principal

	profiles, users, devices, admins int
}

func newLoader(store holdfast.MetaStore, engine Engine, opts setup.BootstrapOptions, platform holdfast.Administrator) (*loader, error) {
	runner := change.New(change.Options{Store: store, Authorizer: engine, Clock: opts.Clock})
	var workloads []directory.Workload
	for _, w := range engine.Catalog().Workloads {
		workloads = append(workloads, directory.Workload{ID: w.ID, Parent: w.Parent})
	}
	dir := directory.New(directory.Options{Runner: runner, Roles: engine, Workloads: workloads})
	adm, err := admins.New(admins.Options{Changes: runner, Engine: engine})
	if err != nil {
		return nil, err
	}
	holds := legalhold.New(store, legalhold.Options{Now: opts.Clock.Now, Changes: runner, KnownSource: dir.KnownWorkload})
	return &loader{dir: dir, adm: adm, holds: holds, platform: principal(platform)}, nil
}

// principal is a as a signed-in caller.
func principal(a holdfast.Administrator) holdfast.Principal {
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: a.AccountID, AdminID: a.ID, Email: a.Email}
}

func (l *loader) load(ctx context.Context, d *data, password holdfast.Secret) error {
	profiles, err := l.loadProfiles(ctx, d.Profiles)
	if err != nil {
		return err
	}
	users, err := l.loadUsers(ctx, d, profiles)
	if err != nil {
		return err
	}
	types, err := l.loadHoldTypes(ctx, d.HoldTypes)
	if err != nil {
		return err
	}
	roles, err := l.loadRoles(ctx, d.Roles)
	if err != nil {
		return err
	}
	admins, err := l.loadAdmins(ctx, d.Administrators, password, names{profiles: profiles, types: types, roles: roles})
	if err != nil {
		return err
	}
	return l.loadHolds(ctx, d.Holds, types, admins, users)
}
