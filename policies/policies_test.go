package policies

import (
	"bytes"
	"context"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/format"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

var update = flag.Bool("update", false, "rewrite casbin/policy.csv and holdfast/catalog/data.json from catalog.yaml")

func mustLoad(tb testing.TB) *Catalog {
	tb.Helper()
	c, err := Load()
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return c
}

func TestLoad(t *testing.T) {
	c := mustLoad(t)
	if got, want := len(c.Editions), 4; got != want {
		t.Errorf("editions = %d, want %d", got, want)
	}
	if got, want := len(c.Categories), 14; got != want { // 13 of the spec + enterprise_workloads
		t.Errorf("categories = %d, want %d", got, want)
	}
	if got, want := len(c.Rights), 52+13; got != want {
		t.Errorf("rights = %d, want %d", got, want)
	}
	if got, want := len(c.Roles), 1+8+1+7; got != want { // platform, inSync, custom, EW
		t.Errorf("roles = %d, want %d", got, want)
	}
	assignable := 0
	for _, r := range c.Rights {
		if r.Assignable {
			assignable++
		}
	}
	if assignable != 37 {
		t.Errorf("assignable rights = %d, want 37 (spec section 3.3)", assignable)
	}
	r, ok := c.Right("account.sso.manage")
	if !ok || r.Label != "configure single sign-on" || r.Product != ProductPlatform {
		t.Errorf("Right(account.sso.manage) = %+v, %v", r, ok)
	}
	if _, ok := c.Right("no.such"); ok {
		t.Error("Right(no.such) found")
	}
	role, ok := c.Role("legal_admin")
	if !ok || role.Name != "Legal Administrator" || role.Importable || role.Editable || role.Deletable {
		t.Errorf("Role(legal_admin) = %+v, %v", role, ok)
	}
	if _, ok := c.Role(CustomRoleID); !ok {
		t.Error("the custom pseudo-role is missing")
	}
	again, _ := Load()
	if again != c {
		t.Error("Load parsed the catalog twice")
	}
}

func TestRightsOf(t *testing.T) {
	c := mustLoad(t)
	tests := []struct {
		role, right string
		want        bool
	}{
		{"help_desk_admin", "users.manage", true},
		{"help_desk_admin", "legal_holds.view", false},
		{"view_only_admin", "profiles.view", false},
		{"legal_admin", "legal_holds.delete", true},
		{"cloud_admin", "account.sso.manage", false},
		{"cloud_admin", "api_tokens.manage", true},
		{"platform_admin", "api_tokens.manage", true}, // inherited from cloud_admin
		{"platform_admin", "ew.insync.access", true},  // every right of every product
		{"ew_org_admin", "ew.organizations.view_all", false},
		{"ew_org_admin", "ew.admins.create_org_admin", true},
		{"custom", "users.view", false},
	}
	for _, tt := range tests {
		if got := slices.Contains(c.RightsOf(tt.role), tt.right); got != tt.want {
			t.Errorf("RightsOf(%s) holds %s = %v, want %v", tt.role, tt.right, got, tt.want)
		}
	}
	if got := len(c.RightsOf("platform_admin")); got != len(c.Rights) {
		t.Errorf("platform_admin holds %d rights, want all %d", got, len(c.Rights))
	}
	for _, r := range c.Rights {
		if got := slices.Contains(c.RightsOf("cloud_admin"), r.ID); got != (r.Product == ProductInSync) {
			t.Errorf("cloud_admin holds %s = %v; it holds exactly the inSync rights", r.ID, got)
		}
	}
	if c.RightsOf("nobody") != nil {
		t.Error("RightsOf(unknown role) is not nil")
	}
}

func TestRoleAvailable(t *testing.T) {
	c := mustLoad(t)
	gov := []string{"addon_governance"}
	sdg := []string{"addon_sensitive_data_governance"}
	tests := []struct {
		role, edition string
		addons        []string
		want          bool
	}{
		{"platform_admin", "business", nil, true},
		{"cloud_admin", "business", nil, true},
		{"help_desk_admin", "business", nil, false},
		{"help_desk_admin", "enterprise", nil, true},
		{"legal_admin", "elite", nil, true},
		{"legal_admin", "enterprise", nil, false},
		{"legal_admin", "enterprise", gov, true},
		{"legal_admin", "business", gov, true},
		{"legal_admin", "enterprise", sdg, false},
		{"sensitive_data_governance_admin", "elite_plus", nil, true},
		{"sensitive_data_governance_admin", "elite", nil, false},
		{"sensitive_data_governance_admin", "elite", sdg, true},
		{"sensitive_data_governance_admin", "business", sdg, false},
		{"custom", "business", gov, false},
		{"custom", "enterprise", nil, true},
		{"ew_org_admin", "business", nil, true},
		{"nobody", "elite", nil, false},
		{"cloud_admin", "platinum", nil, false},
	}
	for _, tt := range tests {
		if got := c.RoleAvailable(tt.role, tt.edition, tt.addons); got != tt.want {
			t.Errorf("RoleAvailable(%s, %s, %v) = %v, want %v", tt.role, tt.edition, tt.addons, got, tt.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	src, err := FS.ReadFile("catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new, want string
	}{
		{"unknown right in a grant", "    - ew.servers.manage_in_groups\n", "    - ew.servers.manage_in_groups\n    - ew.servers.fly\n", `unknown right "ew.servers.fly"`},
		{"unknown role in grants", "  ew_data_protection_officer:\n    - ", "  ew_nobody:\n    - ", `grants: unknown role "ew_nobody"`},
		{"unknown category", "{id: users.view, category: user_management,", "{id: users.view, category: user_mgmt,", `unknown category "user_mgmt"`},
		{"duplicate right", "{id: users.create_import,", "{id: users.view,", `duplicate right id "users.view"`},
		{"grant contradicting a denial", "  view_only_admin:\n    - users.view\n", "  view_only_admin:\n    - users.view\n    - profiles.view\n", `"view_only_admin" is granted "profiles.view"`},
		{"unknown key", "\nrules:\n", "\nrulez: {}\nrules:\n", "rulez"},
		{"unknown workload parent", "parent: microsoft_365}", "parent: microsoft_356}", `unknown parent "microsoft_356"`},
		{"unknown scope", "scope: [workload, profile]", "scope: [workload, profiles]", `unknown scope "profiles"`},
		{"minimum holders of an unknown role", "  min_other_admins_with_role:\n    cloud_admin: 2", "  min_other_admins_with_role:\n    cloud_adm: 2", `min_other_admins_with_role: unknown role "cloud_adm"`},
		{"negative minimum holders", "  min_other_admins_with_role:\n    cloud_admin: 2", "  min_other_admins_with_role:\n    cloud_admin: -1", `"cloud_admin" must not be negative`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(src, []byte(tt.old)) {
				t.Fatalf("catalog.yaml has no %q", tt.old)
			}
			_, err := Parse(bytes.Replace(src, []byte(tt.old), []byte(tt.new), 1))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse = %v, want an error with %q", err, tt.want)
			}
		})
	}
	if _, err := Parse(src); err != nil {
		t.Errorf("Parse(catalog.yaml) = %v", err)
	}
}

func TestCasbinPolicyUpToDate(t *testing.T) {
	c := mustLoad(t)
	want := c.GenerateCasbinPolicy()
	if *update {
		if err := os.WriteFile("casbin/policy.csv", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if c.CasbinPolicy() != want {
		t.Error("casbin/policy.csv is out of date with catalog.yaml; run go test ./policies -update")
	}
}

// enforcer builds a Casbin enforcer from the catalog's model and default grants.
func enforcer(tb testing.TB, c *Catalog) *casbin.Enforcer {
	tb.Helper()
	m, err := model.NewModelFromString(c.CasbinModel())
	if err != nil {
		tb.Fatalf("model: %v", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		tb.Fatalf("enforcer: %v", err)
	}
	var p, g [][]string
	for _, line := range strings.Split(c.CasbinPolicy(), "\n") {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, ",")
		for i := range fields {
			fields[i] = strings.TrimSpace(fields[i])
		}
		switch fields[0] {
		case "p":
			p = append(p, fields[1:])
		case "g":
			g = append(g, fields[1:])
		default:
			tb.Fatalf("policy line %q", line)
		}
	}
	if _, err := e.AddPolicies(p); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.AddGroupingPolicies(g); err != nil {
		tb.Fatal(err)
	}
	return e
}

func assertEnforce(t *testing.T, e *casbin.Enforcer, sub, dom, act string, want bool) {
	t.Helper()
	got, err := e.Enforce(sub, dom, act)
	if err != nil {
		t.Fatalf("Enforce(%s, %s, %s): %v", sub, dom, act, err)
	}
	if got != want {
		t.Errorf("Enforce(%s, %s, %s) = %v, want %v", sub, dom, act, got, want)
	}
}

func TestCasbinMatrix(t *testing.T) {
	c := mustLoad(t)
	e := enforcer(t, c)
	for _, role := range c.Roles {
		held := c.RightsOf(role.ID)
		for _, right := range c.Rights {
			assertEnforce(t, e, role.ID, "acct_1", right.ID, slices.Contains(held, right.ID))
		}
		for _, right := range c.Denials[role.ID] {
			assertEnforce(t, e, role.ID, "acct_1", right, false)
		}
	}
	assertEnforce(t, e, "cloud_admin", "acct_1", "no.such", false)
	assertEnforce(t, e, "nobody", "acct_1", "users.view", false)
}

func TestCasbinInheritance(t *testing.T) {
	c := mustLoad(t)
	e := enforcer(t, c)
	// platform_admin has no p row of its own for cloud_admin's rights.
	if rows, _ := e.GetFilteredPolicy(0, "platform_admin", "*", "users.view"); len(rows) != 0 {
		t.Errorf("platform_admin has its own users.view row: %v", rows)
	}
	for _, right := range c.RightsOf("cloud_admin") {
		assertEnforce(t, e, "platform_admin", "acct_1", right, true)
	}
	assertEnforce(t, e, "cloud_admin", "acct_1", "account.platform_admins.manage", false)
	assertEnforce(t, e, "platform_admin", "acct_1", "account.platform_admins.manage", true)
}

func TestCasbinCustomRoleIsolation(t *testing.T) {
	c := mustLoad(t)
	e := enforcer(t, c)
	if _, err := e.AddPolicy("role_7f3c", "acct_1", "users.view"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.AddPolicy("acct_1:help_desk_admin", "acct_1", "legal_holds.view"); err != nil {
		t.Fatal(err)
	}
	assertEnforce(t, e, "role_7f3c", "acct_1", "users.view", true)
	assertEnforce(t, e, "role_7f3c", "acct_2", "users.view", false)
	assertEnforce(t, e, "role_7f3c", "acct_1", "users.delete", false)
	assertEnforce(t, e, "acct_1:help_desk_admin", "acct_1", "legal_holds.view", true)
	assertEnforce(t, e, "acct_1:help_desk_admin", "acct_2", "legal_holds.view", false)
	assertEnforce(t, e, "help_desk_admin", "acct_1", "legal_holds.view", false)
}

func TestRegoData(t *testing.T) {
	c := mustLoad(t)
	d := c.RegoData()
	for _, k := range []string{"editions", "addons", "scopes", "categories", "rights", "roles", "custom_role", "workloads", "rules"} {
		if _, ok := d[k]; !ok {
			t.Errorf("RegoData has no %q", k)
		}
	}
	right := d["rights"].(map[string]any)["legal_holds.view"].(map[string]any)
	if right["label"] != "view legal holds" || right["category"] != "legal_hold_management" || right["product"] != ProductInSync {
		t.Errorf("rights[legal_holds.view] = %v", right)
	}
	w := d["workloads"].(map[string]any)["exchange_online"].(map[string]any)
	if w["parent"] != "microsoft_365" {
		t.Errorf("workloads[exchange_online] = %v", w)
	}
	d["rights"] = nil
	if c.RegoData()["rights"] == nil {
		t.Error("RegoData returns shared data")
	}
}

func TestModuleSplit(t *testing.T) {
	prod, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	tests, err := TestModules()
	if err != nil {
		t.Fatal(err)
	}
	if len(prod) == 0 || len(tests) == 0 {
		t.Fatalf("%d production and %d test modules", len(prod), len(tests))
	}
	for name := range prod {
		if strings.HasSuffix(name, "_test.rego") {
			t.Errorf("Modules returned %s", name)
		}
		if _, ok := tests[strings.TrimSuffix(name, ".rego")+"_test.rego"]; !ok {
			t.Errorf("%s has no _test.rego beside it", name)
		}
	}
	for name := range tests {
		if !strings.HasSuffix(name, "_test.rego") {
			t.Errorf("TestModules returned %s", name)
		}
	}
}

func parseModules(tb testing.TB, srcs map[string]string) map[string]*ast.Module {
	tb.Helper()
	out := map[string]*ast.Module{}
	for name, src := range srcs {
		m, err := ast.ParseModuleWithOpts(name, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			tb.Fatalf("parse: %v", err)
		}
		out[name] = m
	}
	return out
}

// TestRegoCompilesStrict compiles the production modules as the engine does,
// in strict mode, so an unused variable or a bad reference fails here.
func TestRegoCompilesStrict(t *testing.T) {
	srcs, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	compiler := ast.NewCompiler().WithStrict(true)
	if compiler.Compile(parseModules(t, srcs)); compiler.Failed() {
		t.Fatalf("compile: %v", compiler.Errors)
	}
}

// TestRegoTests runs every test_ rule with the catalog at data.holdfast.catalog.
func TestRegoTests(t *testing.T) {
	c := mustLoad(t)
	srcs, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	testSrcs, err := TestModules()
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range testSrcs {
		srcs[name] = src
	}
	store := inmem.NewFromObject(map[string]any{"holdfast": map[string]any{"catalog": c.RegoData()}})
	ctx := context.Background()
	ch, err := tester.NewRunner().
		SetCompiler(ast.NewCompiler().WithStrict(true)).
		SetStore(store).
		SetModules(parseModules(t, srcs)).
		RaiseBuiltinErrors(true).
		RunTests(ctx, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	n := 0
	for r := range ch {
		n++
		switch {
		case r.Error != nil:
			t.Errorf("%s.%s: error: %v", r.Package, r.Name, r.Error)
		case r.Fail:
			t.Errorf("%s.%s (%s): failed", r.Package, r.Name, r.Location)
		case r.Skip:
			t.Logf("%s.%s: skipped", r.Package, r.Name)
		}
	}
	if n == 0 {
		t.Fatal("no Rego tests ran")
	}
	t.Logf("%d Rego tests", n)
}

// TestRegoFormatted is `opa fmt --list --fail` over every Rego file.
func TestRegoFormatted(t *testing.T) {
	for _, get := range []func() (map[string]string, error){Modules, TestModules} {
		srcs, err := get()
		if err != nil {
			t.Fatal(err)
		}
		for name, src := range srcs {
			got, err := format.SourceWithOpts(name, []byte(src), format.Opts{RegoVersion: ast.RegoV1})
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if !bytes.Equal(got, []byte(src)) {
				t.Errorf("%s is not formatted; run opa fmt -w policies/", name)
			}
		}
	}
}
