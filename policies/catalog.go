// Package policies holds Holdfast's authorization policies as data: the
// rights catalog (catalog.yaml), the Casbin model and the default grants
// generated from the catalog (casbin/), and the Rego rules (*.rego). The
// authz package compiles them once at startup; `holdfast bundle` ships them
// to OPA. README.md is the contract between the engine and the policies.
package policies

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// FS holds every policy file. Production code loads Rego through Modules,
// which skips the *_test.rego files.
//
//go:embed catalog.yaml casbin/model.conf casbin/policy.csv *.rego
var FS embed.FS

// Products a role or right belongs to.
const (
	ProductPlatform            = "platform"
	ProductInSync              = "insync"
	ProductEnterpriseWorkloads = "enterprise_workloads"
)

// CustomRoleID is the catalog's pseudo-role that describes every custom
// role: the editions where custom roles exist and the scope kinds they use.
const CustomRoleID = "custom"

// Edition is a licence edition.
type Edition struct {
	ID     string `yaml:"id" json:"id"`
	Name   string `yaml:"name" json:"name"`
	Status string `yaml:"status" json:"status"`
}

// Addon is a per-account licence flag that opens roles or categories.
type Addon struct {
	ID                string   `yaml:"id" json:"id"`
	Name              string   `yaml:"name" json:"name"`
	EnablesRoles      []string `yaml:"enables_roles" json:"enables_roles"`
	EnablesCategories []string `yaml:"enables_categories" json:"enables_categories"`
}

// Scope is a kind of access control a role can be bound to.
type Scope struct {
	ID      string `yaml:"id" json:"id"`
	Meaning string `yaml:"meaning" json:"meaning"`
}

// Category groups rights. Rights of a category that is not assignable never
// go into a custom role.
type Category struct {
	ID         string `yaml:"id" json:"id"`
	Name       string `yaml:"name" json:"name"`
	Product    string `yaml:"product" json:"product"`
	Assignable bool   `yaml:"assignable" json:"assignable"`
}

// Right is a granular right; its id is the action name of a decision
// request. Label is a lower-case verb phrase for reasons ("cannot <label>").
type Right struct {
	ID          string `yaml:"id" json:"id"`
	Category    string `yaml:"category" json:"category"`
	Name        string `yaml:"name" json:"name"`
	Label       string `yaml:"label" json:"label"`
	Description string `yaml:"description" json:"description"`
	Assignable  bool   `yaml:"assignable" json:"assignable"`
	// Product is the product of the right's category.
	Product string `yaml:"-" json:"product"`
}

// Role is a predefined role, or the "custom" pseudo-role.
type Role struct {
	ID          string   `yaml:"id" json:"id"`
	Name        string   `yaml:"name" json:"name"`
	Description string   `yaml:"description" json:"description"`
	Product     string   `yaml:"product" json:"product"`
	Editions    []string `yaml:"editions" json:"editions"`
	// AddonEditions lists, per add-on, further editions where the role exists.
	AddonEditions map[string][]string `yaml:"addon_editions" json:"addon_editions"`
	// Scope lists the scope kinds the role is bound to.
	Scope []string `yaml:"scope" json:"scope"`
	// Inherits names roles whose grants this role holds too.
	Inherits   []string `yaml:"inherits" json:"inherits"`
	Importable bool     `yaml:"importable" json:"importable"`
	Editable   bool     `yaml:"editable" json:"editable"`
	Deletable  bool     `yaml:"deletable" json:"deletable"`
	// PasswordUnderSSO lets the role's holders sign in with a password
	// while the account enforces single sign-on, without the fail-safe
	// right: legal administrators keep their passwords for WebDAV, which
	// has no SSO.
	PasswordUnderSSO bool `yaml:"password_under_sso" json:"password_under_sso,omitempty"`
}

// Workload is a data source an administrator can be scoped to; a sub-app
// (Exchange Online) names its parent (Microsoft 365).
type Workload struct {
	ID     string `yaml:"id" json:"id"`
	Name   string `yaml:"name" json:"name"`
	Parent string `yaml:"parent" json:"parent"`
}

// Rules are the constants of the custom-role and administrator rules.
type Rules struct {
	MaxImportSources       int      `yaml:"max_import_sources" json:"max_import_sources"`
	NonImportable          []string `yaml:"non_importable" json:"non_importable"`
	NonEditable            []string `yaml:"non_editable" json:"non_editable"`
	NonDeletable           []string `yaml:"non_deletable" json:"non_deletable"`
	RolesPerAdmin          int      `yaml:"roles_per_admin" json:"roles_per_admin"`
	ProfilesLockedForRoles []string `yaml:"profiles_locked_for_roles" json:"profiles_locked_for_roles"`
	// MinOtherAdminsWithRole is, per role, how many other administrators
	// must hold the role while one of its administrators is deleted or
	// moved to another role.
	MinOtherAdminsWithRole     map[string]int `yaml:"min_other_admins_with_role" json:"min_other_admins_with_role"`
	FirstAdminCanChangeOwnRole bool           `yaml:"first_admin_can_change_own_role" json:"first_admin_can_change_own_role"`
	PlatformAdminRight         string         `yaml:"platform_admin_right" json:"platform_admin_right"`
	// FailsafeRight is the right to sign in with a password while the
	// account enforces SSO: the way in when the IdP fails.
	FailsafeRight string `yaml:"failsafe_right" json:"failsafe_right"`
	// WebDAVTokenRight is the right whose holders may sign in to the
	// WebDAV mount of legal holds with an API token.
	WebDAVTokenRight  string            `yaml:"webdav_token_right" json:"webdav_token_right"`
	EWAdminRights     map[string]string `yaml:"ew_admin_rights" json:"ew_admin_rights"`
	LegalHoldEditions []string          `yaml:"legal_hold_editions" json:"legal_hold_editions"`
	LegalHoldAddon    string            `yaml:"legal_hold_addon" json:"legal_hold_addon"`
	LegalHoldCategory string            `yaml:"legal_hold_category" json:"legal_hold_category"`
	// SDGEditions, SDGAddon, SDGCategory: the Sensitive Data Governance
	// rights (SDGCategory) exist on SDGEditions, elsewhere only with SDGAddon.
	SDGEditions []string `yaml:"sdg_editions" json:"sdg_editions"`
	SDGAddon    string   `yaml:"sdg_addon" json:"sdg_addon"`
	SDGCategory string   `yaml:"sdg_category" json:"sdg_category"`
}

// Catalog is the parsed catalog.yaml. It is read-only: Load hands the same
// Catalog to every caller.
type Catalog struct {
	Editions   []Edition           `yaml:"editions"`
	Addons     []Addon             `yaml:"addons"`
	Scopes     []Scope             `yaml:"scopes"`
	Categories []Category          `yaml:"categories"`
	Rights     []Right             `yaml:"rights"`
	Roles      []Role              `yaml:"roles"`
	Grants     map[string][]string `yaml:"grants"`  // role id -> its own default grants
	Denials    map[string][]string `yaml:"denials"` // role id -> rights it must not hold
	Rules      Rules               `yaml:"rules"`
	Workloads  []Workload          `yaml:"workloads"`

	roleIndex  map[string]int
	rightIndex map[string]int
	model      string
	policy     string
}

var load = sync.OnceValues(func() (*Catalog, error) {
	data, err := FS.ReadFile("catalog.yaml")
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, err
	}
	if c.model, err = readString("casbin/model.conf"); err != nil {
		return nil, err
	}
	if c.policy, err = readString("casbin/policy.csv"); err != nil {
		return nil, err
	}
	return c, nil
})

// Load returns the embedded catalog, parsed and validated once.
func Load() (*Catalog, error) { return load() }

func readString(name string) (string, error) {
	b, err := FS.ReadFile(name)
	if err != nil {
		return "", fmt.Errorf("policies: %w", err)
	}
	return string(b), nil
}

// Parse decodes and validates a catalog document. Unknown keys, unknown
// references and duplicate ids are errors. The result has no Casbin files.
func Parse(data []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("policies: catalog: %w", err)
	}
	if err := c.index(); err != nil {
		return nil, fmt.Errorf("policies: catalog: %w", err)
	}
	return &c, nil
}

// index builds the lookups and checks every reference.
func (c *Catalog) index() error {
	ck := newChecker(c)
	ck.categoriesAndRights()
	ck.addons()
	ck.roles()
	ck.grants()
	ck.workloads()
	ck.rules()
	if err := errors.Join(ck.errs...); err != nil {
		return err
	}
	c.roleIndex, c.rightIndex = ck.roleIDs, ck.rightIDs
	for _, r := range c.Roles {
		if cyclic(c, r.ID, nil) {
			return fmt.Errorf("role %q inherits itself", r.ID)
		}
	}
	ck.denials()
	return errors.Join(ck.errs...)
}

// checker validates a catalog: the id indexes of each kind (position + 1;
// 0 means absent) and the problems found so far.
type checker struct {
	c                                      *Catalog
	errs                                   []error
	editions, addonIDs, scopes, categories map[string]int
	rightIDs, roleIDs, workloadIDs         map[string]int
}

var products = []string{ProductPlatform, ProductInSync, ProductEnterpriseWorkloads}

func newChecker(c *Catalog) *checker {
	ck := &checker{c: c}
	ck.editions = ck.ids("edition", len(c.Editions), func(i int) string { return c.Editions[i].ID })
	ck.addonIDs = ck.ids("add-on", len(c.Addons), func(i int) string { return c.Addons[i].ID })
	ck.scopes = ck.ids("scope", len(c.Scopes), func(i int) string { return c.Scopes[i].ID })
	ck.categories = ck.ids("category", len(c.Categories), func(i int) string { return c.Categories[i].ID })
	ck.rightIDs = ck.ids("right", len(c.Rights), func(i int) string { return c.Rights[i].ID })
	ck.roleIDs = ck.ids("role", len(c.Roles), func(i int) string { return c.Roles[i].ID })
	ck.workloadIDs = ck.ids("workload", len(c.Workloads), func(i int) string { return c.Workloads[i].ID })
	return ck
}

func (ck *checker) bad(format string, args ...any) {
	ck.errs = append(ck.errs, fmt.Errorf(format, args...))
}

// ids indexes n ids of one kind, reporting empty and duplicate ones.
func (ck *checker) ids(kind string, n int, id func(int) string) map[string]int {
	m := make(map[string]int, n)
	for i := range n {
		switch k := id(i); {
		case k == "":
			ck.bad("%s #%d has no id", kind, i+1)
		case m[k] != 0:
			ck.bad("duplicate %s id %q", kind, k)
		default:
			m[k] = i + 1
		}
	}
	return m
}

// categoriesAndRights checks products and categories, and gives each right
// its category's product.
func (ck *checker) categoriesAndRights() {
	c := ck.c
	for _, cat := range c.Categories {
		if !slices.Contains(products, cat.Product) {
			ck.bad("category %q: unknown product %q", cat.ID, cat.Product)
		}
	}
	for i := range c.Rights {
		r := &c.Rights[i]
		n := ck.categories[r.Category]
		if n == 0 {
			ck.bad("right %q: unknown category %q", r.ID, r.Category)
			continue
		}
		cat := c.Categories[n-1]
		r.Product = cat.Product
		if r.Name == "" || r.Label == "" {
			ck.bad("right %q needs a name and a label", r.ID)
		}
		if r.Assignable && !cat.Assignable {
			ck.bad("right %q is assignable but its category %q is not", r.ID, r.Category)
		}
	}
}

func (ck *checker) addons() {
	for _, a := range ck.c.Addons {
		for _, id := range a.EnablesRoles {
			if ck.roleIDs[id] == 0 {
				ck.bad("add-on %q: unknown role %q", a.ID, id)
			}
		}
		for _, id := range a.EnablesCategories {
			if ck.categories[id] == 0 {
				ck.bad("add-on %q: unknown category %q", a.ID, id)
			}
		}
	}
}

func (ck *checker) roles() {
	for _, r := range ck.c.Roles {
		if r.Name == "" {
			ck.bad("role %q has no name", r.ID)
		}
		if !slices.Contains(products, r.Product) {
			ck.bad("role %q: unknown product %q", r.ID, r.Product)
		}
		for _, e := range r.Editions {
			if ck.editions[e] == 0 {
				ck.bad("role %q: unknown edition %q", r.ID, e)
			}
		}
		for a, es := range r.AddonEditions {
			if ck.addonIDs[a] == 0 {
				ck.bad("role %q: unknown add-on %q", r.ID, a)
			}
			for _, e := range es {
				if ck.editions[e] == 0 {
					ck.bad("role %q: add-on %q: unknown edition %q", r.ID, a, e)
				}
			}
		}
		for _, s := range r.Scope {
			if ck.scopes[s] == 0 {
				ck.bad("role %q: unknown scope %q", r.ID, s)
			}
		}
		for _, p := range r.Inherits {
			if ck.roleIDs[p] == 0 || p == r.ID {
				ck.bad("role %q: cannot inherit %q", r.ID, p)
			}
		}
	}
	if ck.roleIDs[CustomRoleID] == 0 {
		ck.bad("the %q pseudo-role is missing", CustomRoleID)
	}
}

func (ck *checker) grants() {
	for role, list := range ck.c.Grants {
		if ck.roleIDs[role] == 0 {
			ck.bad("grants: unknown role %q", role)
		}
		if role == CustomRoleID && len(list) > 0 {
			ck.bad("grants: the %q pseudo-role has no grants", role)
		}
		seen := map[string]bool{}
		for _, r := range list {
			if ck.rightIDs[r] == 0 {
				ck.bad("grants of %q: unknown right %q", role, r)
			}
			if seen[r] {
				ck.bad("grants of %q: %q listed twice", role, r)
			}
			seen[r] = true
		}
	}
}

func (ck *checker) workloads() {
	c := ck.c
	for _, w := range c.Workloads {
		if w.Name == "" {
			ck.bad("workload %q has no name", w.ID)
		}
		if w.Parent == "" {
			continue
		}
		if n := ck.workloadIDs[w.Parent]; n == 0 {
			ck.bad("workload %q: unknown parent %q", w.ID, w.Parent)
		} else if c.Workloads[n-1].Parent != "" {
			ck.bad("workload %q: parent %q is itself a sub-app", w.ID, w.Parent)
		}
	}
}

// rules checks every reference of the rules section.
func (ck *checker) rules() {
	ru := ck.c.Rules
	for _, list := range [][]string{ru.NonImportable, ru.NonEditable, ru.NonDeletable, ru.ProfilesLockedForRoles} {
		for _, id := range list {
			if ck.roleIDs[id] == 0 {
				ck.bad("rules: unknown role %q", id)
			}
		}
	}
	for role, n := range ru.MinOtherAdminsWithRole {
		if ck.roleIDs[role] == 0 || role == CustomRoleID {
			ck.bad("rules: min_other_admins_with_role: unknown role %q", role)
		}
		if n < 0 {
			ck.bad("rules: min_other_admins_with_role: %q must not be negative", role)
		}
	}
	for role, right := range ru.EWAdminRights {
		if n := ck.roleIDs[role]; n == 0 || ck.c.Roles[n-1].Product != ProductEnterpriseWorkloads {
			ck.bad("rules: ew_admin_rights: %q is not an Enterprise Workloads role", role)
		}
		if ck.rightIDs[right] == 0 {
			ck.bad("rules: ew_admin_rights: unknown right %q", right)
		}
	}
	for _, r := range ck.c.Roles {
		if _, ok := ru.EWAdminRights[r.ID]; r.Product == ProductEnterpriseWorkloads && !ok {
			ck.bad("rules: ew_admin_rights: no right for role %q", r.ID)
		}
	}
	for _, e := range ru.LegalHoldEditions {
		if ck.editions[e] == 0 {
			ck.bad("rules: unknown legal hold edition %q", e)
		}
	}
	if ck.addonIDs[ru.LegalHoldAddon] == 0 {
		ck.bad("rules: unknown legal hold add-on %q", ru.LegalHoldAddon)
	}
	if ck.categories[ru.LegalHoldCategory] == 0 {
		ck.bad("rules: unknown legal hold category %q", ru.LegalHoldCategory)
	}
	for _, e := range ru.SDGEditions {
		if ck.editions[e] == 0 {
			ck.bad("rules: unknown Sensitive Data Governance edition %q", e)
		}
	}
	if ck.addonIDs[ru.SDGAddon] == 0 {
		ck.bad("rules: unknown Sensitive Data Governance add-on %q", ru.SDGAddon)
	}
	if ck.categories[ru.SDGCategory] == 0 {
		ck.bad("rules: unknown Sensitive Data Governance category %q", ru.SDGCategory)
	}
	if ck.rightIDs[ru.PlatformAdminRight] == 0 {
		ck.bad("rules: unknown platform administrator right %q", ru.PlatformAdminRight)
	}
	if ck.rightIDs[ru.FailsafeRight] == 0 {
		ck.bad("rules: unknown fail-safe sign-in right %q", ru.FailsafeRight)
	}
	if ck.rightIDs[ru.WebDAVTokenRight] == 0 {
		ck.bad("rules: unknown WebDAV token sign-in right %q", ru.WebDAVTokenRight)
	}
	if ru.MaxImportSources < 1 || ru.RolesPerAdmin < 1 {
		ck.bad("rules: max_import_sources and roles_per_admin must be positive")
	}
}

// denials checks that no role holds a right the spec denies it; it needs
// the role index (RightsOf).
func (ck *checker) denials() {
	for role, list := range ck.c.Denials {
		if ck.roleIDs[role] == 0 {
			ck.bad("denials: unknown role %q", role)
			continue
		}
		held := ck.c.RightsOf(role)
		for _, r := range list {
			if ck.rightIDs[r] == 0 {
				ck.bad("denials of %q: unknown right %q", role, r)
			} else if slices.Contains(held, r) {
				ck.bad("role %q is granted %q, which the spec denies it", role, r)
			}
		}
	}
}

// cyclic reports whether following Inherits from id leads back to a role on path.
func cyclic(c *Catalog, id string, path []string) bool {
	if slices.Contains(path, id) {
		return true
	}
	r, _ := c.Role(id)
	for _, p := range r.Inherits {
		if cyclic(c, p, append(path, id)) {
			return true
		}
	}
	return false
}

// Role returns the catalog role id (a predefined role or "custom").
func (c *Catalog) Role(id string) (Role, bool) {
	if n := c.roleIndex[id]; n > 0 {
		return c.Roles[n-1], true
	}
	if c.roleIndex == nil { // a catalog built in code, not parsed
		for _, r := range c.Roles {
			if r.ID == id {
				return r, true
			}
		}
	}
	return Role{}, false
}

// RolesHolding returns, in catalog order, the predefined roles whose
// default rights include every one of rights: for example the platform
// administrator roles (rules.platform_admin_right and rules.failsafe_right).
func (c *Catalog) RolesHolding(rights ...string) []string {
	var out []string
	for _, r := range c.Roles {
		held := c.RightsOf(r.ID)
		ok := len(held) > 0
		for _, want := range rights {
			ok = ok && slices.Contains(held, want)
		}
		if ok {
			out = append(out, r.ID)
		}
	}
	return out
}

// RoleList returns every catalog role in catalog order, "custom" included.
func (c *Catalog) RoleList() []Role { return slices.Clone(c.Roles) }

// Right returns the right id.
func (c *Catalog) Right(id string) (Right, bool) {
	if n := c.rightIndex[id]; n > 0 {
		return c.Rights[n-1], true
	}
	return Right{}, false
}

// RightsOf returns the default rights of a role, inherited ones included,
// sorted; nil for an unknown role.
func (c *Catalog) RightsOf(roleID string) []string {
	r, ok := c.Role(roleID)
	if !ok {
		return nil
	}
	out := slices.Clone(c.Grants[roleID])
	for _, p := range r.Inherits {
		out = append(out, c.RightsOf(p)...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// RoleAvailable reports whether the role exists in an account of edition
// with addons: the edition is one of the role's, or one of the addons opens
// the role on it.
func (c *Catalog) RoleAvailable(roleID, edition string, addons []string) bool {
	r, ok := c.Role(roleID)
	if !ok {
		return false
	}
	if slices.Contains(r.Editions, edition) {
		return true
	}
	for _, a := range addons {
		if slices.Contains(r.AddonEditions[a], edition) {
			return true
		}
	}
	return false
}

// CasbinModel returns casbin/model.conf.
func (c *Catalog) CasbinModel() string { return c.model }

// CasbinPolicy returns casbin/policy.csv: the default grants.
func (c *Catalog) CasbinPolicy() string { return c.policy }

// GenerateCasbinPolicy renders the default grants as Casbin rows: a
// "p, <role>, *, <right>" row for each role's own grants and a
// "g, <role>, <parent>" row for each inheritance. casbin/policy.csv holds
// its output (go test ./policies -update rewrites it).
func (c *Catalog) GenerateCasbinPolicy() string {
	var b strings.Builder
	b.WriteString("# Default grants of the predefined roles, generated from catalog.yaml.\n")
	b.WriteString("# Do not edit: change catalog.yaml, then run `go test ./policies -update`.\n")
	for _, r := range c.Roles {
		for _, right := range c.Grants[r.ID] {
			fmt.Fprintf(&b, "p, %s, *, %s\n", r.ID, right)
		}
	}
	for _, r := range c.Roles {
		for _, p := range r.Inherits {
			fmt.Fprintf(&b, "g, %s, %s\n", r.ID, p)
		}
	}
	return b.String()
}

// regoCatalog is the shape of data.holdfast.catalog.
type regoCatalog struct {
	Editions   map[string]Edition      `json:"editions"`
	Addons     map[string]Addon        `json:"addons"`
	Scopes     []string                `json:"scopes"`
	Categories map[string]Category     `json:"categories"`
	Rights     map[string]regoRight    `json:"rights"`
	Roles      map[string]regoRole     `json:"roles"`
	CustomRole regoCustomRole          `json:"custom_role"`
	Workloads  map[string]regoWorkload `json:"workloads"`
	Rules      Rules                   `json:"rules"`
	// LegalHoldRights indexes the rights of the Legal Hold Management
	// category, so a policy tests membership with one lookup.
	LegalHoldRights map[string]bool `json:"legal_hold_rights"`
	// SDGRights indexes the rights of the Sensitive Data Governance category.
	SDGRights map[string]bool `json:"sdg_rights"`
}

type regoRight struct {
	Category   string `json:"category"`
	Name       string `json:"name"`
	Label      string `json:"label"`
	Assignable bool   `json:"assignable"`
	Product    string `json:"product"`
}

type regoRole struct {
	Name          string              `json:"name"`
	Product       string              `json:"product"`
	Editions      []string            `json:"editions"`
	AddonEditions map[string][]string `json:"addon_editions"`
	Scope         []string            `json:"scope"`
	Importable    bool                `json:"importable"`
	Editable      bool                `json:"editable"`
	Deletable     bool                `json:"deletable"`
	// PasswordUnderSSO: see Role.
	PasswordUnderSSO bool `json:"password_under_sso"`
}

type regoCustomRole struct {
	Editions []string `json:"editions"`
	Scope    []string `json:"scope"`
}

type regoWorkload struct {
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

// RegoData returns the catalog as JSON data for data.holdfast.catalog:
// editions, addons, categories, rights, roles and workloads keyed by id,
// custom_role and rules. Each call returns a fresh value.
func (c *Catalog) RegoData() map[string]any {
	d := regoCatalog{
		Editions:   map[string]Edition{},
		Addons:     map[string]Addon{},
		Categories: map[string]Category{},
		Rights:     map[string]regoRight{},
		Roles:      map[string]regoRole{},
		Workloads:  map[string]regoWorkload{},
		Rules:      c.Rules,

		LegalHoldRights: map[string]bool{},
		SDGRights:       map[string]bool{},
	}
	for _, e := range c.Editions {
		d.Editions[e.ID] = e
	}
	for _, a := range c.Addons {
		a.EnablesRoles, a.EnablesCategories = nonNil(a.EnablesRoles), nonNil(a.EnablesCategories)
		d.Addons[a.ID] = a
	}
	for _, s := range c.Scopes {
		d.Scopes = append(d.Scopes, s.ID)
	}
	for _, cat := range c.Categories {
		d.Categories[cat.ID] = cat
	}
	for _, r := range c.Rights {
		d.Rights[r.ID] = regoRight{Category: r.Category, Name: r.Name, Label: r.Label, Assignable: r.Assignable, Product: r.Product}
		if r.Category == c.Rules.LegalHoldCategory {
			d.LegalHoldRights[r.ID] = true
		}
		if r.Category == c.Rules.SDGCategory {
			d.SDGRights[r.ID] = true
		}
	}
	for _, r := range c.Roles {
		ae := map[string][]string{}
		for k, v := range r.AddonEditions {
			ae[k] = v
		}
		d.Roles[r.ID] = regoRole{Name: r.Name, Product: r.Product, Editions: nonNil(r.Editions), AddonEditions: ae,
			Scope: nonNil(r.Scope), Importable: r.Importable, Editable: r.Editable, Deletable: r.Deletable,
			PasswordUnderSSO: r.PasswordUnderSSO}
		if r.ID == CustomRoleID {
			d.CustomRole = regoCustomRole{Editions: nonNil(r.Editions), Scope: nonNil(r.Scope)}
		}
	}
	for _, w := range c.Workloads {
		d.Workloads[w.ID] = regoWorkload{Name: w.Name, Parent: w.Parent}
	}
	b, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("policies: catalog data: %v", err)) // plain strings, bools and ints always marshal
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		panic(fmt.Sprintf("policies: catalog data: %v", err))
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Modules returns the production Rego modules by file name; *_test.rego
// files are left out.
func Modules() (map[string]string, error) { return modules(false) }

// TestModules returns the *_test.rego modules by file name.
func TestModules() (map[string]string, error) { return modules(true) }

func modules(tests bool) (map[string]string, error) {
	names, err := fs.Glob(FS, "*.rego")
	if err != nil {
		return nil, fmt.Errorf("policies: %w", err)
	}
	out := map[string]string{}
	for _, name := range names {
		if strings.HasSuffix(name, "_test.rego") != tests {
			continue
		}
		src, err := readString(name)
		if err != nil {
			return nil, err
		}
		out[name] = src
	}
	return out, nil
}
