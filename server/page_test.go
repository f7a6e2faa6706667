package server

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/holdfast/holdfast"
)

// TestAdminListPages proves the administrator list no longer stops at 100
// silently: 112 administrators come back over two pages, each once, with
// the total on both; an offset is refused, naming the field.
func TestAdminListPages(t *testing.T) {
	f := newFixture(t)
	for i := range 111 { // with the bootstrapped administrator: 112
		a := holdfast.Administrator{AccountID: f.account.ID, Name: fmt.Sprintf("Admin %03d", i), Email: fmt.Sprintf("a%03d@example.com", i),
			RoleID: "help_desk_admin", State: holdfast.AdminActive}
		if err := f.store.CreateAdmin(t.Context(), &a); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		Administrators []holdfast.Administrator `json:"administrators"`
		Total          int                      `json:"total"`
		NextCursor     string                   `json:"next_cursor"`
	}
	seen := map[string]bool{}
	var sizes []int
	path := "/api/v1/administrators"
	for range 3 {
		w := f.do("GET", path, nil)
		if w.Code != 200 {
			t.Fatalf("GET %s = %d: %s", path, w.Code, w.Body)
		}
		var p page
		decode(t, w, &p)
		if p.Total != 112 {
			t.Errorf("total = %d, want 112", p.Total)
		}
		sizes = append(sizes, len(p.Administrators))
		for _, a := range p.Administrators {
			if seen[a.ID] {
				t.Errorf("%s listed twice", a.Email)
			}
			seen[a.ID] = true
		}
		if p.NextCursor == "" {
			break
		}
		path = "/api/v1/administrators?cursor=" + url.QueryEscape(p.NextCursor)
	}
	if fmt.Sprint(sizes) != "[100 12]" || len(seen) != 112 {
		t.Errorf("pages of %v, %d distinct; want [100 12], 112", sizes, len(seen))
	}
	for _, q := range []string{"?offset=100", "?limit=1001", "?cursor=bogus"} {
		w := f.do("GET", "/api/v1/administrators"+q, nil)
		if w.Code != 422 {
			t.Errorf("GET %s = %d, want 422: %s", q, w.Code, w.Body)
		}
	}
}

// TestListsPage proves the roles, tokens and audit lists page with a total
// and a cursor too.
func TestListsPage(t *testing.T) {
	f := newFixture(t, func(_ *fixture, o *Options) {
		o.Auth = AuthOptions{Enabled: true, Mailer: &fakeMailer{got: make(chan struct{}, 10)}}
	})
	for i := range 3 {
		if w := f.do("POST", "/api/v1/tokens", map[string]any{"name": fmt.Sprintf("t%d", i)}); w.Code != 201 {
			t.Fatalf("create token: %d %s", w.Code, w.Body)
		}
	}
	for _, tt := range []struct{ path, key string }{
		{"/api/v1/roles", "roles"},
		{"/api/v1/tokens", "tokens"},
		{"/api/v1/audit", "records"},
	} {
		var total, listed int
		path := tt.path + "?limit=1"
		for range 50 {
			w := f.do("GET", path, nil)
			if w.Code != 200 {
				t.Fatalf("GET %s = %d: %s", path, w.Code, w.Body)
			}
			var p map[string]any
			decode(t, w, &p)
			items, _ := p[tt.key].([]any)
			listed += len(items)
			total = int(p["total"].(float64))
			next, _ := p["next_cursor"].(string)
			if next == "" {
				break
			}
			path = tt.path + "?limit=1&cursor=" + url.QueryEscape(next)
		}
		if total < 3 || listed != total {
			t.Errorf("%s: listed %d over pages of one, total %d", tt.path, listed, total)
		}
	}
}
