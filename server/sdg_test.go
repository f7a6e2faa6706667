package server

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
)

// TestSDGAPIAddon: over the real engine, the SDG routes are a 403 naming
// the missing add-on until the account has it; then a type is tested on
// sample text (the value masked) and a bad one is a 422 naming its field.
func TestSDGAPIAddon(t *testing.T) {
	f := newRealFixture(t)
	w := f.do("GET", "/api/v1/sdg/settings", nil)
	if e := errorOf(t, w); w.Code != http.StatusForbidden ||
		!slices.ContainsFunc(e.Reasons, func(r string) bool { return strings.Contains(r, "without the Sensitive Data Governance add-on") }) {
		t.Fatalf("without the add-on: %d %s", w.Code, w.Body)
	}
	ctx := context.Background()
	a, err := f.store.GetAccount(ctx, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.Addons = append(a.Addons, holdfast.AddonSensitiveDataGovernance)
	if err := f.store.UpdateAccount(ctx, &a); err != nil {
		t.Fatal(err)
	}
	if w := f.do("GET", "/api/v1/sdg/settings", nil); w.Code != http.StatusOK {
		t.Fatalf("with the add-on: %d %s", w.Code, w.Body)
	}
	w = f.do("POST", "/api/v1/sdg/types/test", map[string]any{"id": "us_ssn", "sample": "Name: Ann\nSSN: 536-22-1234\n"})
	var got struct {
		Matches []struct {
			Type       string `json:"type"`
			Confidence int    `json:"confidence"`
			Snippet    string `json:"snippet"`
		} `json:"matches"`
	}
	decode(t, w, &got)
	if w.Code != http.StatusOK || len(got.Matches) != 1 || got.Matches[0].Confidence != 85 || strings.Contains(got.Matches[0].Snippet, "536") {
		t.Fatalf("test: %d %s", w.Code, w.Body)
	}
	w = f.do("POST", "/api/v1/sdg/types", map[string]any{"name": "No literal", "pattern": `[A-Z]\d{6}`, "with_keyword": 75})
	if e := errorOf(t, w); w.Code != http.StatusUnprocessableEntity || len(e.Fields) != 1 || e.Fields[0].Field != "pattern" {
		t.Fatalf("a type without a literal: %d %s", w.Code, w.Body)
	}
}
