package authz_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/holdfast/holdfast"
)

// opName is a string type with a text form of its own.
type opName string

func (o opName) MarshalText() ([]byte, error) { return []byte("op:" + string(o)), nil }

// TestEvaluatorsAgreeOnOddInput: documents callers send (action
// properties, context) that Go and JSON read differently reach both
// evaluators as the same document, or are refused before either runs.
// Found in review: each of these was allowed in Wasm while topdown denied
// or failed.
func TestEvaluatorsAgreeOnOddInput(t *testing.T) {
	fx := newFixture(t, holdfast.EditionElite)
	ctx := context.Background()
	createRole := func(op any, reqContext map[string]any) holdfast.DecisionRequest {
		return holdfast.DecisionRequest{
			AccountID: fx.acct.ID,
			Subject:   holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: "adm_cloud_admin"},
			Action:    holdfast.Action{Name: "roles.manage", Properties: map[string]any{"operation": op}},
			Resource: holdfast.Entity{Type: holdfast.ResourceRole,
				Properties: map[string]any{"rights": []any{"users.view", "restores.view"}}},
			Context: reqContext,
		}
	}
	for _, c := range []struct {
		name      string
		req       holdfast.DecisionRequest
		wantAllow bool
		wantRule  string
	}{
		{"plain create (control)", createRole("create", nil), true, ""},
		{"a string posing as a number", createRole(json.Number(`"\u0063r\u0065at\u0065"`), nil), false, "request.invalid"},
		{"a huge exponent in the context", createRole("create", map[string]any{"n": json.Number("1e1000000")}), false, "request.invalid"},
		{"a type with its own text form", createRole(opName("create"), nil), false, "roles.operation"},
		{"invalid UTF-8 in the context", createRole("create", map[string]any{"s": "\xff"}), false, "request.invalid"},
		{"invalid UTF-8 in the action name", holdfast.DecisionRequest{
			AccountID: fx.acct.ID,
			Subject:   holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: "adm_cloud_admin"},
			Action:    holdfast.Action{Name: "users.view\xff"},
			Resource:  holdfast.Entity{Type: holdfast.ResourceAccount},
		}, false, "authz.unknown_right"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, werr := fx.engine.Decide(ctx, c.req)
			td, terr := fx.topdown.Decide(ctx, c.req)
			if werr != nil || terr != nil {
				t.Fatalf("errors: wasm %v, topdown %v", werr, terr)
			}
			if w.Allow != td.Allow || !slices.Equal(w.Rules, td.Rules) || !slices.Equal(w.Reasons, td.Reasons) {
				t.Fatalf("wasm and topdown differ:\n wasm    %v %q %q\n topdown %v %q %q", w.Allow, w.Rules, w.Reasons, td.Allow, td.Rules, td.Reasons)
			}
			if w.Allow != c.wantAllow || (c.wantRule != "" && !slices.Contains(w.Rules, c.wantRule)) {
				t.Fatalf("decided %v %q %q, want allow=%v with rule %q", w.Allow, w.Rules, w.Reasons, c.wantAllow, c.wantRule)
			}
		})
	}
}
