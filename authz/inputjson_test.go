package authz

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/holdfast/holdfast"
)

// opName is a string type with a text form of its own, which OPA uses.
type opName string

func (o opName) MarshalText() ([]byte, error) { return []byte("op:" + string(o)), nil }

// TestAppendJSON: what appendJSON writes is, read as OPA reads JSON, the
// very value topdown gets from ast.InterfaceToValue.
func TestAppendJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, 0, -42, int64(1) << 60, 3.25, 1e21, json.Number("12.5"), json.Number("-0.5e-3"),
		"", "plain", `quote " backslash \ slash /`, "tab\tnewline\ncr\r", "\x00\x01\x1f\x7f",
		"caf\u00e9 \u2028 \U0001F600", "<html>&",
		holdfast.ResourceDevice, holdfast.PrincipalAdmin, opName("create"), map[string]any{"op": opName("x")},
		[]string{}, []string{"a", "b\""}, []any{}, []any{1, "x", nil, []any{true}},
		map[string]any{}, map[string]any{"k\"ey": map[string]any{"n": []string{"x"}}, "e": 2.5},
		struct {
			A string `json:"a"`
		}{"x"},
	} {
		got, err := appendJSON(nil, v)
		if err != nil {
			t.Errorf("%#v: %v", v, err)
			continue
		}
		want, err := ast.InterfaceToValue(v)
		if err != nil {
			t.Fatal(err)
		}
		var g any
		if err := util.UnmarshalJSON(got, &g); err != nil {
			t.Errorf("%#v: %s is not JSON: %v", v, got, err)
			continue
		}
		gv, err := ast.InterfaceToValue(g)
		if err != nil {
			t.Fatal(err)
		}
		if gv.Compare(want) != 0 {
			t.Errorf("%#v: %s reads as %v, topdown sees %v", v, got, gv, want)
		}
	}
}

func TestAppendJSONRefuses(t *testing.T) {
	for _, v := range []any{
		math.NaN(), math.Inf(1), json.Number("1x"), json.Number(`"create"`), json.Number("1e1000000"), json.Number("01"),
		"bad \xff utf-8", []string{"\xc3"}, map[string]any{"\xff": 1},
		make(chan int), map[string]any{"x": math.NaN()}, []any{func() {}},
	} {
		if b, err := appendJSON(nil, v); err == nil {
			t.Errorf("%#v encoded as %s", v, b)
		}
	}
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a", "\"\\", "\x00", "\xff\xfe", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %s: %v", s, b, err)
		}
		want, _ := json.Marshal(s)
		var w string
		_ = json.Unmarshal(want, &w)
		if got != w {
			t.Fatalf("%q decodes to %q, want %q", s, got, w)
		}
	})
}
