package authz

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// BenchmarkEval measures the policy evaluation alone (input conversion
// included) on a resolved input of a help desk administrator restoring a
// device in its profile:
//
//	go test -run '^$' -bench Eval ./authz
func BenchmarkEval(b *testing.B) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "e.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	e, err := New(ctx, Options{Store: store})
	if err != nil {
		b.Fatal(err)
	}
	input := map[string]any{
		"account": map[string]any{"id": "acct_1", "edition": "elite", "addons": []string{}},
		"subject": map[string]any{
			"type": "administrator", "id": "adm_1", "email": "a@x.test", "name": "A", "state": "active", "first_admin": false,
			"role": map[string]any{"id": "help_desk_admin", "name": "Help Desk Administrator", "product": "insync",
				"scope": []string{"profile", "workload"}, "predefined": true, "base": "help_desk_admin",
				"rights": e.cat.RightsOf("help_desk_admin")},
			"scopes": scopesObject(holdfast.Scopes{Profiles: []string{"prof_1"}, AllWorkloads: true}),
		},
		"action": map[string]any{"name": "restores.manage", "properties": map[string]any{}},
		"resource": map[string]any{"type": "device", "id": "dev_1", "exists": true, "user_id": "usr_1",
			"profile_id": "prof_1", "profile_name": "Eng", "state": "active", "privacy_blocks_admins": false,
			"workload": "endpoints", "workloads": []string{"endpoints"}, "holds": []any{}},
		"context": map[string]any{},
	}
	b.Run("convert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ast.InterfaceToValue(input); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("eval", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d, err := e.eval(ctx, input)
			if err != nil || !d.Allow {
				b.Fatalf("%+v %v", d, err)
			}
		}
	})
}
