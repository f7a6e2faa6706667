package server

import (
	"net/http"
	"testing"
)

// TestAlertsDecidedByTheEngine: over the real engine, an administrator
// whose role lacks alerts.manage is refused with the decision's reason;
// one whose custom role has alerts.manage but no legal hold right sees
// none of the legal hold alerts (nor counts them), while the platform
// administrator sees the alert the hold's creation raised.
func TestAlertsDecidedByTheEngine(t *testing.T) {
	f := newRealFixture(t)
	ctx := t.Context()
	if err := f.srv.Alerts().Tick(ctx); err != nil { // the sources start here
		t.Fatal(err)
	}
	hold := f.mustCreate("/api/v1/legal-holds", map[string]any{"name": "Acme v. Initech"}, http.StatusCreated)
	if err := f.srv.Alerts().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	f.mustCreate("/api/v1/administrators", map[string]any{"name": "Hank Help", "email": "hank@example.com", "role": "help_desk_admin",
		"scopes": map[string]any{"all_profiles": true, "all_workloads": true}}, http.StatusCreated)
	role := f.mustCreate("/api/v1/roles", map[string]any{"name": "Alert desk", "rights": []string{"alerts.manage"}}, http.StatusCreated)
	f.mustCreate("/api/v1/administrators", map[string]any{"name": "Ada Alerts", "email": "ada@example.com", "role": role["id"],
		"scopes": map[string]any{"all_profiles": true, "all_workloads": true}}, http.StatusCreated)

	w := f.do("GET", "/api/v1/alerts", nil, "Authorization", f.tokenFor("hank@example.com"))
	if e := errorOf(t, w); w.Code != http.StatusForbidden || e.Message != "Help Desk Administrator cannot manage alerts" || e.DecisionID == "" {
		t.Fatalf("help desk GET alerts = %d %s, want 403 with the engine's reason", w.Code, w.Body)
	}
	var page struct {
		Alerts []struct {
			ObjectID string `json:"object_id"`
			State    string `json:"state"`
		} `json:"alerts"`
		Total int `json:"total"`
	}
	w = f.do("GET", "/api/v1/alerts", nil)
	decode(t, w, &page)
	if w.Code != 200 || page.Total != 1 || page.Alerts[0].ObjectID != hold["id"] || page.Alerts[0].State != "firing" {
		t.Fatalf("platform admin GET alerts = %d %s", w.Code, w.Body)
	}
	ada := f.tokenFor("ada@example.com")
	for _, path := range []string{"/api/v1/alerts", "/api/v1/alerts/history"} {
		w = f.do("GET", path, nil, "Authorization", ada)
		var p struct{ Total int }
		decode(t, w, &p)
		if w.Code != 200 || p.Total != 0 {
			t.Errorf("alerts.manage without legal hold rights: GET %s = %d %s, want an empty page", path, w.Code, w.Body)
		}
	}
	// Ada may subscribe herself, but not another administrator she cannot see.
	w = f.do("POST", "/api/v1/alert-subscriptions", map[string]any{"channel": "email", "admin_id": f.admin.ID}, "Authorization", ada)
	if w.Code != http.StatusForbidden {
		t.Errorf("subscribing an administrator she cannot see = %d %s, want 403", w.Code, w.Body)
	}
	f.mustCreate("/api/v1/alert-subscriptions", map[string]any{"channel": "email"}, http.StatusCreated, "Authorization", ada)
}
