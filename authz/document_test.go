package authz

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestCanonicalDoc(t *testing.T) {
	got, err := canonicalDoc("context", map[string]any{
		"s": "x", "b": true, "n": nil, "f": 2.5, "i": 7, "u": uint8(3), "num": json.Number("-1.5e3"),
		"list": []string{"a"}, "nested": map[string]any{"l": []any{1, "y"}}, "named": opName("create"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"s": "x", "b": true, "n": nil, "f": 2.5, "i": json.Number("7"), "u": json.Number("3"), "num": json.Number("-1.5e3"),
		"list": []any{"a"}, "nested": map[string]any{"l": []any{json.Number("1"), "y"}}, "named": "op:create",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("canonical:\n got %#v\nwant %#v", got, want)
	}
	if empty, err := canonicalDoc("context", nil); err != nil || len(empty) != 0 || empty == nil {
		t.Fatalf("nil document: %#v %v", empty, err)
	}
}

func TestCanonicalDocRefuses(t *testing.T) {
	deep := map[string]any{}
	cur := deep
	for range maxDocDepth + 1 {
		next := map[string]any{}
		cur["x"] = next
		cur = next
	}
	many := make([]any, maxDocValues+1)
	for _, c := range []struct {
		name string
		doc  map[string]any
		want string
	}{
		{"huge exponent", map[string]any{"n": json.Number("1e1000000")}, "is not a JSON number within float64's range"},
		{"string posing as a number", map[string]any{"op": json.Number(`"create"`)}, "is not a JSON number"},
		{"NaN", map[string]any{"n": math.NaN()}, "is not a number"},
		{"invalid UTF-8 value", map[string]any{"s": "a\xffb"}, "not valid UTF-8"},
		{"invalid UTF-8 key", map[string]any{"\xff": 1}, "not valid UTF-8"},
		{"too deep", deep, "nested deeper"},
		{"too many values", map[string]any{"l": many}, "more than"},
		{"too much text", map[string]any{"s": strings.Repeat("x", maxDocStrings+1)}, "KiB of text"},
		{"a channel", map[string]any{"c": make(chan int)}, "cannot be sent"},
	} {
		_, err := canonicalDoc("context", c.doc)
		var rf *refusal
		if !errors.As(err, &rf) || rf.rule != "request.invalid" || !strings.HasPrefix(rf.reason, "context: ") || !strings.Contains(rf.reason, c.want) {
			t.Errorf("%s: %v, want a request.invalid refusal saying %q", c.name, err, c.want)
		}
	}
}

func TestValidNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "-0": true, "12": true, "1.5": true, "1e5": true, "1E+5": true, "-2.5e-3": true, "1.7976931348623157e308": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "+1": false, "0x10": false,
		"1e400": false, `"1"`: false, "true": false, "1 ": false, "NaN": false,
	} {
		if got := validNumber(s); got != want {
			t.Errorf("validNumber(%q) = %v, want %v", s, got, want)
		}
	}
}
