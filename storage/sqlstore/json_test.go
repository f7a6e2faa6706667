package sqlstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestFromJSONStrings(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"empty column", "", nil},
		{"null", "null", nil},
		{"empty array", "[]", []string{}},
		{"one", `["a"]`, []string{"a"}},
		{"several", `["admins.view","users.edit",""]`, []string{"admins.view", "users.edit", ""}},
		{"escaped quote", `["a\"b","c"]`, []string{`a"b`, "c"}},
		{"html escaped", `["\u003cb\u003e"]`, []string{"<b>"}},
		{"white space", `[ "a" , "b" ]`, []string{"a", "b"}},
		{"unicode", `["Zürich","東京"]`, []string{"Zürich", "東京"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			if err := fromJSONStrings(tt.text, &got); err != nil {
				t.Fatalf("fromJSONStrings(%q): %v", tt.text, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("fromJSONStrings(%q) = %#v, want %#v", tt.text, got, tt.want)
			}
		})
	}
	for _, bad := range []string{`["a"`, `["a",]`, `[1]`, `{"a":1}`, `["a""b"]`} {
		var got []string
		if err := fromJSONStrings(bad, &got); err == nil {
			t.Errorf("fromJSONStrings(%q) = %#v, want an error", bad, got)
		}
	}
}

// FuzzFromJSONStrings proves the fast path decodes exactly as
// encoding/json: what one accepts the other does, with the same strings.
func FuzzFromJSONStrings(f *testing.F) {
	for _, seed := range []string{"[]", "null", `["a","b"]`, `["a\"b"]`, `["\u00e9"]`, "[\"\xff\"]", `[ "a" ]`, `["a",1]`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if text == "" {
			return // an empty column, not JSON
		}
		var got, want []string
		gotErr := fromJSONStrings(text, &got)
		wantErr := json.Unmarshal([]byte(text), &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("fromJSONStrings(%q) error %v, encoding/json %v", text, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("fromJSONStrings(%q) = %#v, encoding/json %#v", text, got, want)
		}
	})
}

// FuzzJSONStringsRoundTrip proves any []string json.Marshal writes decodes
// back to itself.
func FuzzJSONStringsRoundTrip(f *testing.F) {
	f.Add("a", "b")
	f.Add("", "<\"\\\x00\xff>")
	f.Fuzz(func(t *testing.T, a, b string) {
		text, err := jsonText([]string{a, b})
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		if err := fromJSONStrings(text, &got); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(text), &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fromJSONStrings(%q) = %#v, encoding/json %#v", text, got, want)
		}
	})
}
