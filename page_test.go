package holdfast_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/holdfast/holdfast"
)

func TestCursorRoundTrip(t *testing.T) {
	c := holdfast.EncodeCursor("Zoë Adams", "adm-42")
	key, err := holdfast.DecodeCursor(c)
	if err != nil || !reflect.DeepEqual(key, []string{"Zoë Adams", "adm-42"}) {
		t.Fatalf("DecodeCursor = %v, %v", key, err)
	}
}

func TestBadPagesNameTheField(t *testing.T) {
	for _, tc := range []struct{ limit, cursor, field string }{
		{"0", "", "limit"}, {"-3", "", "limit"}, {"1001", "", "limit"}, {"ten", "", "limit"},
		{"", "not base64!", "cursor"}, {"", "e30", "cursor"}, {"", holdfast.EncodeCursor()[:0] + "W10", "cursor"},
	} {
		_, err := holdfast.ParsePage(tc.limit, tc.cursor)
		var v *holdfast.ValidationError
		if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != tc.field {
			t.Errorf("ParsePage(%q, %q) = %v, want a %s error", tc.limit, tc.cursor, err, tc.field)
		}
	}
}

func TestPageSizeIsBounded(t *testing.T) {
	for limit, want := range map[int]int{0: holdfast.DefaultPageSize, 7: 7, 5000: holdfast.MaxPageSize} {
		if got := (holdfast.Page{Limit: limit}).Size(); got != want {
			t.Errorf("Page{Limit: %d}.Size() = %d, want %d", limit, got, want)
		}
	}
}
