package authz_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/policies"
)

var update = flag.Bool("update", false, "regenerate the generated decision tables from the catalog")

// decisionFile is one table of authz/testdata/decisions: cases decided on
// the fixture account of an edition and add-ons.
type decisionFile struct {
	Comment string         `yaml:"comment,omitempty"`
	Edition string         `yaml:"edition"`
	Addons  []string       `yaml:"addons,flow,omitempty"`
	Cases   []decisionCase `yaml:"cases"`
}

type decisionCase struct {
	Name      string         `yaml:"name,omitempty"`
	Subject   string         `yaml:"subject"`
	Action    string         `yaml:"action"`
	Operation string         `yaml:"operation,omitempty"`
	Resource  caseResource   `yaml:"resource"`
	Context   map[string]any `yaml:"context,omitempty"`
	Want      bool           `yaml:"want"`
	// Reason, when set, must be one of the decision's reasons.
	Reason string `yaml:"reason,omitempty"`
}

type caseResource struct {
	Type       string         `yaml:"type"`
	ID         string         `yaml:"id,omitempty"`
	Properties map[string]any `yaml:"properties,omitempty"`
}

func (c decisionCase) request(accountID string) holdfast.DecisionRequest {
	req := holdfast.DecisionRequest{
		AccountID: accountID,
		Subject:   holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: c.Subject},
		Action:    holdfast.Action{Name: c.Action},
		Resource:  holdfast.Entity{Type: c.Resource.Type, ID: c.Resource.ID, Properties: c.Resource.Properties},
		Context:   c.Context,
	}
	if c.Operation != "" {
		req.Action.Properties = map[string]any{"operation": c.Operation}
	}
	return req
}

func (c decisionCase) String() string {
	op := ""
	if c.Operation != "" {
		op = "(" + c.Operation + ")"
	}
	return fmt.Sprintf("%s %s%s %s/%s", c.Subject, c.Action, op, c.Resource.Type, c.Resource.ID)
}

// matrixVariants are the edition and add-on combinations of the generated
// role x right x edition tables.
var matrixVariants = []struct {
	name    string
	edition holdfast.Edition
	addons  []string
}{
	{"elite_plus", holdfast.EditionElitePlus, nil},
	{"elite", holdfast.EditionElite, nil},
	{"elite_sdg", holdfast.EditionElite, []string{holdfast.AddonSensitiveDataGovernance}},
	{"enterprise", holdfast.EditionEnterprise, nil},
	{"enterprise_governance", holdfast.EditionEnterprise, []string{holdfast.AddonGovernance}},
	{"business", holdfast.EditionBusiness, nil},
	{"business_governance", holdfast.EditionBusiness, []string{holdfast.AddonGovernance}},
}

// oracleAllows is the role x right x edition answer computed directly from
// the catalog, independently of the Rego policy: an active administrator
// whose role exists in the edition holds a right when the role grants it,
// the edition allows legal-hold management rights, and an Enterprise
// Workloads role is asked only for an Enterprise Workloads right.
func oracleAllows(cat *policies.Catalog, edition holdfast.Edition, addons []string, admin holdfast.Administrator, customRights map[string][]string, right string) bool {
	if admin.State == holdfast.AdminDisabled {
		return false
	}
	r, ok := cat.Right(right)
	if !ok {
		return false
	}
	var rights []string
	product := holdfast.ProductInSync
	if role, ok := cat.Role(admin.RoleID); ok {
		if !cat.RoleAvailable(admin.RoleID, string(edition), addons) {
			return false
		}
		rights, product = cat.RightsOf(admin.RoleID), role.Product
	} else {
		if !cat.RoleAvailable("custom", string(edition), addons) {
			return false
		}
		rights = customRights[admin.RoleID]
	}
	if !slices.Contains(rights, right) {
		return false
	}
	lhAllowed := edition == holdfast.EditionElitePlus || edition == holdfast.EditionElite || slices.Contains(addons, holdfast.AddonGovernance)
	if r.Category == "legal_hold_management" && !lhAllowed {
		return false
	}
	sdgAllowed := edition == holdfast.EditionElitePlus || slices.Contains(addons, holdfast.AddonSensitiveDataGovernance)
	if r.Category == "sensitive_data_governance" && !sdgAllowed {
		return false
	}
	if product == holdfast.ProductEnterpriseWorkloads && !strings.HasPrefix(right, "ew.") {
		return false
	}
	return true
}

// generateMatrix writes the generated tables: every fixture administrator
// (one or more per role) x every right (and one unknown right) x every
// edition variant, on the account resource, where no scope applies.
func generateMatrix(t *testing.T, cat *policies.Catalog) {
	custom := map[string][]string{
		roleCustom:  append(cat.RightsOf("help_desk_admin"), "legal_holds.view"),
		roleLegalHD: {"users.view", "legal_holds.view", "legal_holds.create_manage", "user_data.download"},
	}
	var rights []string
	for _, r := range cat.Rights {
		rights = append(rights, r.ID)
	}
	rights = append(rights, "nonexistent.right")
	for _, v := range matrixVariants {
		f := decisionFile{
			Comment: "Generated by `go test ./authz -run TestDecisionTables -update` from policies/catalog.yaml; do not edit.",
			Edition: string(v.edition), Addons: v.addons,
		}
		for _, a := range fixtureAdmins {
			for _, right := range rights {
				f.Cases = append(f.Cases, decisionCase{
					Subject: a.ID, Action: right, Resource: caseResource{Type: holdfast.ResourceAccount},
					Want: oracleAllows(cat, v.edition, v.addons, a, custom, right),
				})
			}
		}
		b, err := marshalCompact(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "decisions", "matrix_"+v.name+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// marshalCompact writes one case per line (flow style), so thousands of
// cases stay reviewable.
func marshalCompact(f decisionFile) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(f); err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == "cases" {
			for _, c := range doc.Content[i+1].Content {
				flow(c)
			}
		}
	}
	return yaml.Marshal(&doc)
}

func flow(n *yaml.Node) {
	n.Style |= yaml.FlowStyle
	for _, c := range n.Content {
		flow(c)
	}
}

func loadDecisionFiles(t *testing.T) map[string]decisionFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "decisions", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no decision tables under testdata/decisions")
	}
	files := map[string]decisionFile{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var f decisionFile
		if err := yaml.Unmarshal(b, &f); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(f.Cases) == 0 {
			t.Fatalf("%s: no cases", p)
		}
		files[filepath.Base(p)] = f
	}
	return files
}

// TestDecisionTables runs every table against the engine, and holds its
// evaluator (Wasm) to the very decisions OPA's interpreter makes: the same
// outcome, reasons, rules and revision.
func TestDecisionTables(t *testing.T) {
	cat, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		generateMatrix(t, cat)
	}
	total := 0
	for name, f := range loadDecisionFiles(t) {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, holdfast.Edition(f.Edition), f.Addons...)
			ctx := context.Background()
			for _, c := range f.Cases {
				d, err := fx.engine.Decide(ctx, c.request(fx.acct.ID))
				if err != nil {
					t.Errorf("%s: %v", c, err)
					continue
				}
				checkCase(t, c, d)
				td, err := fx.topdown.Decide(ctx, c.request(fx.acct.ID))
				if err != nil {
					t.Errorf("%s: topdown: %v", c, err)
					continue
				}
				if d.Allow != td.Allow || !slices.Equal(d.Reasons, td.Reasons) || !slices.Equal(d.Rules, td.Rules) || d.Revision != td.Revision {
					t.Errorf("%s: wasm and topdown differ:\n wasm    %v %q %q %s\n topdown %v %q %q %s", c,
						d.Allow, d.Reasons, d.Rules, d.Revision, td.Allow, td.Reasons, td.Rules, td.Revision)
				}
			}
			if fx.engine.Evaluator() != authz.EvaluatorWasm || fx.topdown.Evaluator() != authz.EvaluatorTopdown {
				t.Errorf("evaluators: %s and %s", fx.engine.Evaluator(), fx.topdown.Evaluator())
			}
			if n := fx.engine.WasmFallbacks(); n != 0 {
				t.Errorf("%d wasm evaluations fell back to topdown", n)
			}
			total += len(f.Cases)
		})
	}
	t.Logf("%d cases", total)
}

func checkCase(t *testing.T, c decisionCase, d holdfast.Decision) {
	t.Helper()
	if d.Allow != c.Want {
		t.Errorf("%s: allow = %v, want %v (reasons %q, rules %q)", c, d.Allow, c.Want, d.Reasons, d.Rules)
		return
	}
	if c.Reason != "" && !slices.Contains(d.Reasons, c.Reason) {
		t.Errorf("%s: reasons %q do not include %q", c, d.Reasons, c.Reason)
	}
	if !d.Allow && len(d.Reasons) == 0 {
		t.Errorf("%s: a deny without a reason", c)
	}
	if d.ID == "" {
		t.Errorf("%s: no decision id", c)
	}
}
