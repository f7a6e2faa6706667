package authz

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// evalCase is a resolved input and the decision it must get.
type evalCase struct {
	name  string
	input map[string]any
	allow bool
	rules []string
}

// evalCases are typical resolved inputs: a device restore in scope, an
// administrator edit, a role creation, a legal hold view, and a request
// denied by several rules at once.
func evalCases(e *Engine) []evalCase {
	role := func(id, product string, scope ...string) map[string]any {
		r, _ := e.cat.Role(id)
		return map[string]any{"id": id, "name": r.Name, "product": product, "scope": scope,
			"predefined": true, "base": id, "rights": e.cat.RightsOf(id)}
	}
	subject := func(r map[string]any, s holdfast.Scopes) map[string]any {
		return map[string]any{"type": "administrator", "id": "adm_1", "email": "a@x.test", "name": "A",
			"state": "active", "first_admin": false, "role": r, "scopes": scopesObject(s)}
	}
	account := map[string]any{"id": "acct_1", "edition": "elite", "addons": []string{}}
	helpDesk := role("help_desk_admin", "insync", "profile", "workload")
	cloud := role("cloud_admin", "insync", "product_account")
	legal := role("legal_admin", "insync", "legal_hold_type", "workload", "profile")
	profileAdmin := role("profile_admin", "insync", "profile", "workload")
	device := map[string]any{"type": "device", "id": "dev_1", "exists": true, "user_id": "usr_1",
		"profile_id": "prof_1", "profile_name": "Eng", "state": "active", "privacy_blocks_admins": false,
		"workload": "endpoints", "workloads": []string{"endpoints"}, "holds": []any{}}
	return []evalCase{
		{name: "device", allow: true, input: map[string]any{
			"account":  account,
			"subject":  subject(helpDesk, holdfast.Scopes{Profiles: []string{"prof_1"}, AllWorkloads: true}),
			"action":   map[string]any{"name": "restores.manage", "properties": map[string]any{}},
			"resource": device,
			"context":  map[string]any{},
		}},
		{name: "admin_edit", allow: true, input: map[string]any{
			"account": account,
			"subject": subject(cloud, holdfast.Scopes{AllProfiles: true, AllWorkloads: true, AllLegalHoldTypes: true}),
			"action":  map[string]any{"name": "admins.edit", "properties": map[string]any{}},
			"resource": map[string]any{"type": "administrator", "id": "adm_2", "exists": true,
				"self": false, "first_admin": false, "roles_requested": 1,
				"role":       helpDesk,
				"scopes":     scopesObject(holdfast.Scopes{Profiles: []string{"prof_1"}, AllWorkloads: true}),
				"new_role":   profileAdmin,
				"new_scopes": scopesObject(holdfast.Scopes{Profiles: []string{"prof_1", "prof_2"}, Workloads: []string{"endpoints", "microsoft_365"}}),
			},
			"context": map[string]any{},
		}},
		{name: "role_create", allow: true, input: map[string]any{
			"account": account,
			"subject": subject(cloud, holdfast.Scopes{AllProfiles: true, AllWorkloads: true, AllLegalHoldTypes: true}),
			"action":  map[string]any{"name": "roles.manage", "properties": map[string]any{"operation": "create"}},
			"resource": map[string]any{"type": "role", "id": "", "exists": false,
				"import_from": []any{helpDesk},
				"rights":      []string{"users.view", "users.manage", "restores.view", "restores.manage", "backups.perform", "reports.view"},
			},
			"context": map[string]any{},
		}},
		{name: "legal_hold_view", allow: true, input: map[string]any{
			"account":  account,
			"subject":  subject(legal, holdfast.Scopes{AllProfiles: true, AllWorkloads: true, LegalHoldTypes: []string{"lht_1"}}),
			"action":   map[string]any{"name": "legal_holds.view", "properties": map[string]any{}},
			"resource": map[string]any{"type": "legal_hold", "id": "hold_1", "exists": true, "type_id": "lht_1", "name": "Q3 audit"},
			"context":  map[string]any{},
		}},
		{name: "deny", allow: false, rules: []string{"authz.missing_right", "legalhold.on_hold", "scope.profile", "scope.workload"}, input: map[string]any{
			"account": account,
			"subject": subject(helpDesk, holdfast.Scopes{Profiles: []string{"prof_2"}, Workloads: []string{"endpoints"}}),
			"action":  map[string]any{"name": "users.delete", "properties": map[string]any{}},
			"resource": map[string]any{"type": "user", "id": "usr_1", "exists": true,
				"profile_id": "prof_1", "profile_name": "Eng", "state": "active", "privacy_blocks_admins": false,
				"workloads": []string{"endpoints", "exchange_online"},
				"holds":     []any{map[string]any{"id": "hold_1", "name": "Q3 audit", "type_id": "lht_1"}}},
			"context": map[string]any{},
		}},
	}
}

// BenchmarkEval measures the policy evaluation alone (input encoding
// included) on typical resolved inputs, in each evaluator:
//
//	go test -run '^$' -bench '^BenchmarkEval$' ./authz
func BenchmarkEval(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "e.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	for _, evaluator := range []string{EvaluatorWasm, EvaluatorTopdown} {
		e, err := New(ctx, Options{Store: store, Evaluator: evaluator})
		if err != nil {
			b.Fatal(err)
		}
		for _, c := range evalCases(e) {
			d, err := e.eval(ctx, c.input)
			if err != nil || d.Allow != c.allow || (c.rules != nil && !slices.Equal(d.Rules, c.rules)) {
				b.Fatalf("%s: %+v %v", c.name, d, err)
			}
			b.Run(c.name+"/"+evaluator, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := e.eval(ctx, c.input); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		if n := e.WasmFallbacks(); n != 0 {
			b.Fatalf("%d evaluations fell back to topdown", n)
		}
	}
}
