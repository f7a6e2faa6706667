package server

import (
	"net/http"
	"testing"

	"github.com/holdfast/holdfast"
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

// TestDeviceDecommissionRaisesAnAlert: decommissioning a device through
// the API (the devices service's audit record) fires its
// device_decommissioned alert at the next evaluation.
func TestDeviceDecommissionRaisesAnAlert(t *testing.T) {
	f := newRealFixture(t)
	ctx := t.Context()
	def, err := f.srv.defaultProfile(holdfast.WithPrincipal(ctx, holdfast.Principal{AccountID: f.account.ID}))
	if err != nil {
		t.Fatal(err)
	}
	u := holdfast.User{AccountID: f.account.ID, Email: "sam@example.com", Name: "Sam", ProfileID: def.ID, State: holdfast.UserActive}
	if err := f.store.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	d := holdfast.Device{AccountID: f.account.ID, UserID: u.ID, Name: "Sam's laptop", Kind: holdfast.DeviceEndpoint, Workload: "endpoints", State: "enabled"}
	if err := f.store.CreateDevice(ctx, &d); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Alerts().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if w := f.do("POST", "/api/v1/devices/"+d.ID+"/decommission", map[string]any{"wipe": true}); w.Code != http.StatusOK {
		t.Fatalf("decommission = %d %s", w.Code, w.Body)
	}
	if err := f.srv.Alerts().Tick(ctx); err != nil {
		t.Fatal(err)
	}
	var page struct {
		Alerts []struct {
			ObjectID string `json:"object_id"`
			State    string `json:"state"`
		} `json:"alerts"`
		Total int `json:"total"`
	}
	w := f.do("GET", "/api/v1/alerts?kind=device_decommissioned", nil)
	decode(t, w, &page)
	if w.Code != 200 || page.Total != 1 || page.Alerts[0].ObjectID != d.ID || page.Alerts[0].State != "firing" {
		t.Fatalf("GET alerts = %d %s, want the device's alert firing", w.Code, w.Body)
	}
}
