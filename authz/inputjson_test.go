package authz

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"

	"github.com/holdfast/holdfast"
)

// TestAppendJSON: what appendJSON writes decodes to what encoding/json's
// own encoding of the same value decodes to.
func TestAppendJSON(t *testing.T) {
	for _, v := range []any{
		nil, true, false, 0, -42, int64(1) << 60, 3.25, 1e21, json.Number("12.5"),
		"", "plain", `quote " backslash \ slash /`, "tab\tnewline\ncr\r", "\x00\x01\x1f\x7f",
		"caf\u00e9 \u2028 \U0001F600", "bad \xff utf-8 \xc3", "<html>&",
		holdfast.ResourceDevice, holdfast.PrincipalAdmin,
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
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Errorf("%#v: %s is not JSON: %v", v, got, err)
			continue
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%#v: %s decodes to %#v, want %#v", v, got, g, w)
		}
	}
}

func TestAppendJSONRefuses(t *testing.T) {
	for _, v := range []any{math.NaN(), math.Inf(1), json.Number("1x"), make(chan int), map[string]any{"x": math.NaN()}, []any{func() {}}} {
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
