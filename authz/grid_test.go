package authz_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/policies"
)

// gridPath is the golden decision grid: the engine's decision, rules and
// reasons for every fixture administrator (every role) x every right x
// every edition variant on the account, and on scoped resources (in and
// out of profile, workload and legal-hold type, own and other
// administrator) x the rights of their family. It was generated from the
// engine before the resolver was restructured; refactors must keep it
// byte-identical (`go test ./authz -run TestDecisionGrid -update` rewrites
// it, which a behaviour-preserving change never needs).
var gridPath = filepath.Join("testdata", "grid.txt.gz")

// gridResource is one resource of the grid and the right families asked
// about it ("" = every right).
type gridResource struct {
	label    string
	entity   func(subject string) holdfast.Entity
	families []string
}

func fixed(typ, id string, props map[string]any) func(string) holdfast.Entity {
	return func(string) holdfast.Entity { return holdfast.Entity{Type: typ, ID: id, Properties: props} }
}

var memberFamilies = []string{"users.", "user_data.", "restores.", "workloads.", "devices.", "backups."}

var gridResources = []gridResource{
	{"account", fixed(holdfast.ResourceAccount, "", nil), []string{""}},
	{"user in prof_eng", fixed(holdfast.ResourceUser, userEng, nil), memberFamilies},
	{"user in prof_sales", fixed(holdfast.ResourceUser, userSales, nil), memberFamilies},
	{"user on two holds", fixed(holdfast.ResourceUser, userHeld, nil), memberFamilies},
	{"private user on hold", fixed(holdfast.ResourceUser, userPrivate, nil), memberFamilies},
	{"private user free", fixed(holdfast.ResourceUser, userPrivNo, nil), memberFamilies},
	{"exchange device", fixed(holdfast.ResourceDevice, devEngMail, nil), memberFamilies},
	{"onedrive device", fixed(holdfast.ResourceDevice, devEngDrive, nil), memberFamilies},
	{"laptop of held user", fixed(holdfast.ResourceDevice, devHeldLap, nil), memberFamilies},
	{"new user in prof_eng", fixed(holdfast.ResourceUser, "", map[string]any{"profile_id": profEng}), []string{"users."}},
	{"new user in prof_sales", fixed(holdfast.ResourceUser, "", map[string]any{"profile_id": profSales}), []string{"users."}},
	{"new exchange device of usr_sales", fixed(holdfast.ResourceDevice, "", map[string]any{"user_id": userSales, "workload": "exchange_online"}), []string{"workloads."}},
	{"profile prof_eng", fixed(holdfast.ResourceProfile, profEng, nil), []string{"profiles."}},
	{"profile prof_sales", fixed(holdfast.ResourceProfile, profSales, nil), []string{"profiles."}},
	{"report of prof_sales", fixed(holdfast.ResourceReport, "", map[string]any{"profile_id": profSales}), []string{"reports."}},
	{"Legal hold", fixed(holdfast.ResourceLegalHold, holdQ3, nil), []string{"legal_holds."}},
	{"HR hold", fixed(holdfast.ResourceLegalHold, holdHR, nil), []string{"legal_holds."}},
	{"untyped hold", fixed(holdfast.ResourceLegalHold, holdUntyped, nil), []string{"legal_holds."}},
	{"new Legal hold", fixed(holdfast.ResourceLegalHold, "", map[string]any{"type_id": typeLegal}), []string{"legal_holds."}},
	{"Legal hold moved to HR", fixed(holdfast.ResourceLegalHold, holdQ3, map[string]any{"new_type_id": typeHR}), []string{"legal_holds."}},
	{"hold type Legal", fixed(holdfast.ResourceLegalHoldType, typeLegal, nil), []string{"legal_hold_types."}},
	{"own administrator", func(s string) holdfast.Entity {
		return holdfast.Entity{Type: holdfast.ResourceAdministrator, ID: s}
	}, []string{"admins."}},
	{"own administrator to view only", func(s string) holdfast.Entity {
		return holdfast.Entity{Type: holdfast.ResourceAdministrator, ID: s, Properties: map[string]any{"new_role": "view_only_admin"}}
	}, []string{"admins.edit"}},
	{"other cloud administrator", fixed(holdfast.ResourceAdministrator, "adm_cloud_admin_2", nil), []string{"admins."}},
	{"other cloud administrator to help desk", fixed(holdfast.ResourceAdministrator, "adm_cloud_admin_2", map[string]any{"new_role": "help_desk_admin"}), []string{"admins.edit"}},
	{"other platform administrator", fixed(holdfast.ResourceAdministrator, "adm_platform_admin_2", nil), []string{"admins."}},
	{"help desk administrator", fixed(holdfast.ResourceAdministrator, "adm_help_desk_admin", nil), []string{"admins."}},
	{"ew org administrator", fixed(holdfast.ResourceAdministrator, "adm_ew_org_admin_apac", nil), []string{"admins.", "ew.admins."}},
	{"new help desk administrator in prof_eng", fixed(holdfast.ResourceAdministrator, "", map[string]any{"role": "help_desk_admin", "scopes": map[string]any{"profiles": []any{profEng}, "all_workloads": true}}), []string{"admins.create"}},
	{"new cloud administrator", fixed(holdfast.ResourceAdministrator, "", map[string]any{"role": "cloud_admin", "scopes": map[string]any{"all_profiles": true, "all_workloads": true}}), []string{"admins.create"}},
	{"new custom-role administrator", fixed(holdfast.ResourceAdministrator, "", map[string]any{"role": roleCustom, "scopes": map[string]any{"profiles": []any{profEng}, "all_workloads": true}}), []string{"admins.create"}},
	{"role help_desk_admin", fixed(holdfast.ResourceRole, "help_desk_admin", map[string]any{"rights": []any{"users.view"}}), []string{"roles."}},
	{"custom role", fixed(holdfast.ResourceRole, roleCustom, nil), []string{"roles."}},
	{"new role from help desk", fixed(holdfast.ResourceRole, "", map[string]any{"import_from": "help_desk_admin", "rights": []any{"users.view", "legal_holds.view"}}), []string{"roles."}},
}

// gridCase is one line of the grid: its label and its request.
type gridCase struct {
	label string // variant, administrator, right and resource, tab-separated
	req   holdfast.DecisionRequest
}

// gridCases lists the grid's requests on fixture fx of variant.
func gridCases(t *testing.T, variant string, fx *fixture) []gridCase {
	t.Helper()
	cat, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	var rights []string
	for _, r := range cat.Rights {
		rights = append(rights, r.ID)
	}
	rights = append(rights, "nonexistent.right")
	var out []gridCase
	for _, a := range fixtureAdmins {
		for _, res := range gridResources {
			for _, right := range rights {
				if !inFamilies(right, res.families) {
					continue
				}
				for _, op := range gridOperations(right) {
					req := holdfast.DecisionRequest{
						AccountID: fx.acct.ID,
						Subject:   holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: a.ID},
						Action:    holdfast.Action{Name: right},
						Resource:  res.entity(a.ID),
					}
					if op != "" {
						req.Action.Properties = map[string]any{"operation": op}
					}
					out = append(out, gridCase{label: fmt.Sprintf("%s\t%s\t%s%s\t%s", variant, a.ID, right, opSuffix(op), res.label), req: req})
				}
			}
		}
	}
	return out
}

// renderGrid decides the whole grid on fresh fixtures and returns it as
// text, one decision a line.
func renderGrid(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	ctx := context.Background()
	for _, v := range matrixVariants {
		fx := newFixture(t, v.edition, v.addons...)
		for _, c := range gridCases(t, v.name, fx) {
			d, err := fx.engine.Decide(ctx, c.req)
			if err != nil {
				t.Fatalf("%s: %v", c.label, err)
			}
			fmt.Fprintf(&buf, "%s\t%v\t%s\t%s\n", c.label, d.Allow, strings.Join(d.Rules, ","), strings.Join(d.Reasons, " | "))
		}
	}
	return buf.Bytes()
}

func inFamilies(right string, families []string) bool {
	for _, f := range families {
		if strings.HasPrefix(right, f) {
			return true
		}
	}
	return false
}

// gridOperations are the operations asked with a right: roles.manage is
// asked for each of its operations.
func gridOperations(right string) []string {
	if right == "roles.manage" {
		return []string{"create", "edit", "delete"}
	}
	return []string{""}
}

func opSuffix(op string) string {
	if op == "" {
		return ""
	}
	return "(" + op + ")"
}

// TestDecisionGrid regenerates the golden grid and requires it identical:
// the proof that a restructuring of the resolver, the bundle or the
// catalog changed no decision, rule or reason.
func TestDecisionGrid(t *testing.T) {
	if testing.Short() {
		t.Skip("the grid decides tens of thousands of requests")
	}
	got := renderGrid(t)
	if *update {
		var out bytes.Buffer
		zw := gzip.NewWriter(&out)
		if _, err := zw.Write(got); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(gridPath, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := readGrid(t)
	if bytes.Equal(got, want) {
		t.Logf("%d decisions identical", bytes.Count(got, []byte("\n")))
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	if len(gl) != len(wl) {
		t.Errorf("grid has %d lines, golden %d", len(gl), len(wl))
	}
	shown := 0
	for i := 0; i < len(gl) && i < len(wl) && shown < 20; i++ {
		if gl[i] != wl[i] {
			t.Errorf("line %d:\n got  %s\n want %s", i+1, gl[i], wl[i])
			shown++
		}
	}
	if shown == 0 {
		t.Error("grid differs from the golden file")
	}
}

func readGrid(t *testing.T) []byte {
	t.Helper()
	f, err := os.Open(gridPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
