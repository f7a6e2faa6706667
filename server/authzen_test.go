package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/authzen"
)

// AuthZEN conformance (spec/protocols.md §1.7): the cases the
// certification harness checks that do not depend on its fixture.

const (
	evalAllow = `{"subject":{"type":"administrator","id":"root@example.com"},"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`
	evalDeny  = `{"subject":{"type":"administrator","id":"root@example.com"},"action":{"name":"legal_holds.view"},"resource":{"type":"account","id":"a"}}`
)

func authzenFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.engine.denyRight("legal_holds.view", "Help Desk Administrator cannot view legal holds")
	return f
}

func TestAuthZENEvaluation(t *testing.T) {
	f := authzenFixture(t)
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		decision    bool
	}{
		{"permit", evalAllow, "application/json", 200, true},
		{"deny is 200", evalDeny, "application/json", 200, false},
		{"charset allowed", evalAllow, "application/json; charset=utf-8", 200, true},
		{"unknown members ignored", `{"subject":{"type":"administrator","id":"root@example.com","x":1},"action":{"name":"users.view","y":[]},"resource":{"type":"account","id":"a","z":{}},"extra":true,"context":{"time":"2026-03-01T10:00:00Z"}}`, "application/json", 200, true},
		{"properties kept", `{"subject":{"type":"administrator","id":"root@example.com","properties":{"n":1.5}},"action":{"name":"users.view","properties":{}},"resource":{"type":"account","id":"a","properties":{"k":"v"}}}`, "application/json", 200, true},
		{"other subject type", `{"subject":{"type":"user","id":"alice"},"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`, "application/json", 200, false},
		{"missing subject", `{"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"missing action", `{"subject":{"type":"administrator","id":"x"},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"missing resource", `{"subject":{"type":"administrator","id":"x"},"action":{"name":"users.view"}}`, "application/json", 400, false},
		{"missing subject.type", `{"subject":{"id":"x"},"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"missing subject.id", `{"subject":{"type":"administrator"},"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"missing resource.type", `{"subject":{"type":"administrator","id":"x"},"action":{"name":"users.view"},"resource":{"id":"a"}}`, "application/json", 400, false},
		{"missing resource.id", `{"subject":{"type":"administrator","id":"x"},"action":{"name":"users.view"},"resource":{"type":"account"}}`, "application/json", 400, false},
		{"missing action.name", `{"subject":{"type":"administrator","id":"x"},"action":{},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"null subject", `{"subject":null,"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"subject is a string", `{"subject":"alice","action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"name is a number", `{"subject":{"type":"administrator","id":"x"},"action":{"name":123},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"id is a number", `{"subject":{"type":"administrator","id":7},"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"properties is a string", `{"subject":{"type":"administrator","id":"x","properties":"p"},"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}`, "application/json", 400, false},
		{"context is an array", `{"subject":{"type":"administrator","id":"x"},"action":{"name":"users.view"},"resource":{"type":"account","id":"a"},"context":[]}`, "application/json", 400, false},
		{"body is an array", `[]`, "application/json", 400, false},
		{"malformed body", `{"subject":`, "application/json", 400, false},
		{"empty body", ``, "application/json", 400, false},
		{"trailing data", evalAllow + `{}`, "application/json", 400, false},
		{"text content type", evalAllow, "text/plain", 400, false},
		{"form content type", evalAllow, "application/x-www-form-urlencoded", 400, false},
		{"no content type", evalAllow, "", 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("POST", "/access/v1/evaluation", tt.body, "Content-Type", tt.contentType)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if tt.status != 200 {
				if e := errorOf(t, w); e.Code != "bad_request" || e.Message == "" {
					t.Errorf("error = %+v", e)
				}
				return
			}
			var res authzen.Response
			decode(t, w, &res)
			if res.Decision != tt.decision {
				t.Errorf("decision = %v, want %v", res.Decision, tt.decision)
			}
		})
	}
}

func TestAuthZENSingleContextAndAccount(t *testing.T) {
	f := authzenFixture(t)
	w := f.do("POST", "/access/v1/evaluation", evalDeny)
	var res struct {
		Decision bool `json:"decision"`
		Context  struct {
			DecisionID  string            `json:"decision_id"`
			Reasons     []string          `json:"reasons"`
			ReasonAdmin map[string]string `json:"reason_admin"`
		} `json:"context"`
	}
	decode(t, w, &res)
	if res.Decision || res.Context.DecisionID == "" || len(res.Context.Reasons) != 1 ||
		res.Context.ReasonAdmin["403"] != "Help Desk Administrator cannot view legal holds" {
		t.Errorf("response = %s", w.Body)
	}
	reqs := f.engine.requests()
	last := reqs[len(reqs)-1]
	if last.AccountID != f.account.ID || last.Subject.ID != "root@example.com" || last.Action.Name != "legal_holds.view" {
		t.Errorf("decision request = %+v, want the token's account to confine it", last)
	}
	w = f.do("POST", "/access/v1/evaluation", `{"subject":{"type":"user","id":"alice"},"action":{"name":"x"},"resource":{"type":"t","id":"1"}}`)
	if !strings.Contains(w.Body.String(), `subject type \"user\" is not supported`) {
		t.Errorf("other subject type: %s, want a reason", w.Body)
	}
	// Same answer on repeats.
	a, b := f.do("POST", "/access/v1/evaluation", evalAllow), f.do("POST", "/access/v1/evaluation", evalAllow)
	if decisionOf(t, a) != decisionOf(t, b) {
		t.Errorf("repeat answered differently")
	}
}

func decisionOf(t *testing.T, w *httptest.ResponseRecorder) bool {
	t.Helper()
	var res authzen.Response
	decode(t, w, &res)
	return res.Decision
}

func TestAuthZENHeadersAndCallers(t *testing.T) {
	f := authzenFixture(t)
	for _, body := range []string{evalAllow, `{`} {
		w := f.do("POST", "/access/v1/evaluation", body, "X-Request-ID", "interop-42")
		if got := w.Header().Get("X-Request-ID"); got != "interop-42" {
			t.Errorf("X-Request-ID = %q, want the request's echoed (status %d)", got, w.Code)
		}
	}
	if w := f.do("POST", "/access/v1/evaluation", evalAllow, "X-Request-ID", ""); w.Header().Get("X-Request-ID") == "" {
		t.Errorf("no X-Request-ID generated")
	}
	w := f.do("POST", "/access/v1/evaluation", evalAllow, "Authorization", "")
	if w.Code != 401 || !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	// Interop harnesses send the raw key without a scheme.
	if w := f.do("POST", "/access/v1/evaluation", evalAllow, "Authorization", testToken); w.Code != 200 {
		t.Errorf("raw key: %d %s", w.Code, w.Body)
	}
	f.engine.denyRight("admins.view", "Help Desk Administrator cannot view administrators")
	w = f.do("POST", "/access/v1/evaluations", `{"evaluations":[]}`)
	if w.Code != 403 || !strings.Contains(w.Body.String(), "cannot view administrators") {
		t.Errorf("caller without admins.view: %d %s, want 403", w.Code, w.Body)
	}
}

func TestAuthZENEvaluations(t *testing.T) {
	f := authzenFixture(t)
	const defaults = `"subject":{"type":"administrator","id":"root@example.com"},"resource":{"type":"account","id":"a"}`
	item := func(action string) string { return `{"action":{"name":"` + action + `"}}` }
	allow, deny := item("users.view"), item("legal_holds.view")
	tests := []struct {
		name, body string
		status     int
		want       string // exact JSON of the response
	}{
		{"execute_all keeps order and cardinality",
			`{` + defaults + `,"evaluations":[` + allow + `,` + deny + `,` + allow + `]}`, 200,
			`{"evaluations":[{"decision":true},{"decision":false},{"decision":true}]}`},
		{"explicit execute_all",
			`{` + defaults + `,"options":{"evaluations_semantic":"execute_all"},"evaluations":[` + deny + `,` + deny + `]}`, 200,
			`{"evaluations":[{"decision":false},{"decision":false}]}`},
		{"deny_on_first_deny truncates",
			`{` + defaults + `,"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[` + allow + `,` + deny + `,` + allow + `]}`, 200,
			`{"evaluations":[{"decision":true},{"decision":false}]}`},
		{"permit_on_first_permit truncates",
			`{` + defaults + `,"options":{"evaluations_semantic":"permit_on_first_permit"},"evaluations":[` + deny + `,` + allow + `,` + deny + `]}`, 200,
			`{"evaluations":[{"decision":false},{"decision":true}]}`},
		{"no short circuit without a deciding item",
			`{` + defaults + `,"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[` + allow + `,` + allow + `]}`, 200,
			`{"evaluations":[{"decision":true},{"decision":true}]}`},
		{"item replaces a default entity whole",
			`{` + defaults + `,"action":{"name":"users.view"},"evaluations":[{},{"action":{"name":"legal_holds.view"}},{"subject":{"type":"user","id":"bob"}}]}`, 200,
			`{"evaluations":[{"decision":true},{"decision":false},{"decision":false}]}`},
		{"merged item missing resource is a denied item",
			`{"subject":{"type":"administrator","id":"root@example.com"},"action":{"name":"users.view"},"evaluations":[{"resource":{"type":"account","id":"a"}},{}]}`, 200,
			`{"evaluations":[{"decision":true},{"decision":false,"context":{"error":{"message":"resource is missing","status":400}}}]}`},
		{"error item stops deny_on_first_deny",
			`{"subject":{"type":"administrator","id":"root@example.com"},"action":{"name":"users.view"},"options":{"evaluations_semantic":"deny_on_first_deny"},"evaluations":[{"resource":{"type":"t"}},{"resource":{"type":"account","id":"a"}}]}`, 200,
			`{"evaluations":[{"decision":false,"context":{"error":{"message":"resource.id is missing","status":400}}}]}`},
		{"placeholder resource default validated only after merging",
			`{"subject":{"type":"administrator","id":"root@example.com"},"resource":{},"evaluations":[{"action":{"name":"users.view"},"resource":{"type":"account","id":"a"}}]}`, 200,
			`{"evaluations":[{"decision":true}]}`},
		{"non-object item",
			`{` + defaults + `,"evaluations":["x"]}`, 200,
			`{"evaluations":[{"decision":false,"context":{"error":{"message":"an evaluation must be a JSON object","status":400}}}]}`},
		{"empty evaluations answer like the single endpoint",
			`{` + defaults + `,"action":{"name":"users.view"},"evaluations":[]}`, 200, ``},
		{"absent evaluations answer like the single endpoint",
			`{` + defaults + `,"action":{"name":"legal_holds.view"}}`, 200, ``},
		{"empty evaluations with an incomplete request",
			`{` + defaults + `,"evaluations":[]}`, 400, ``},
		{"evaluations is an object", `{` + defaults + `,"evaluations":{}}`, 400, ``},
		{"unknown semantic", `{` + defaults + `,"options":{"evaluations_semantic":"some"},"evaluations":[` + allow + `]}`, 400, ``},
		{"default subject is a string", `{"subject":"alice","evaluations":[` + allow + `]}`, 400, ``},
		{"include_context is a string", `{` + defaults + `,"options":{"include_context":"yes"},"evaluations":[` + allow + `]}`, 400, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("POST", "/access/v1/evaluations", tt.body)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.want != "" {
				if got := strings.TrimSpace(w.Body.String()); got != tt.want {
					t.Errorf("body = %s\nwant   %s", got, tt.want)
				}
			}
			if tt.status == 200 && tt.want == "" {
				var single map[string]json.RawMessage
				decode(t, w, &single)
				if _, ok := single["decision"]; !ok || single["evaluations"] != nil {
					t.Errorf("body = %s, want a single decision", w.Body)
				}
			}
		})
	}
}

func TestAuthZENIncludeContext(t *testing.T) {
	f := authzenFixture(t)
	w := f.do("POST", "/access/v1/evaluations", `{"subject":{"type":"administrator","id":"root@example.com"},"resource":{"type":"account","id":"a"},`+
		`"options":{"include_context":true},"evaluations":[{"action":{"name":"users.view"}},{"action":{"name":"legal_holds.view"}}]}`)
	var res struct {
		Evaluations []struct {
			Decision bool `json:"decision"`
			Context  struct {
				DecisionID string   `json:"decision_id"`
				Reasons    []string `json:"reasons"`
			} `json:"context"`
		} `json:"evaluations"`
	}
	decode(t, w, &res)
	if len(res.Evaluations) != 2 || res.Evaluations[0].Context.DecisionID == "" ||
		res.Evaluations[1].Context.Reasons[0] != "Help Desk Administrator cannot view legal holds" {
		t.Errorf("response = %s", w.Body)
	}
}

func TestAuthZENDiscovery(t *testing.T) {
	f := newFixture(t)
	check := func(t *testing.T, h http.Handler, url, wantBase string) {
		t.Helper()
		req := httptest.NewRequest("GET", url, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" || w.Header().Get("Cache-Control") == "" {
			t.Fatalf("status %d, headers %v", w.Code, w.Header())
		}
		var doc map[string]any
		decode(t, w, &doc)
		want := map[string]any{
			"policy_decision_point":       wantBase,
			"access_evaluation_endpoint":  wantBase + "/access/v1/evaluation",
			"access_evaluations_endpoint": wantBase + "/access/v1/evaluations",
		}
		if len(doc) != len(want) {
			t.Errorf("document = %v, want exactly %v (no search endpoints)", doc, want)
		}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("%s = %v, want %v", k, doc[k], v)
			}
		}
	}
	t.Run("derived from a TLS request", func(t *testing.T) {
		ts := httptest.NewTLSServer(f.handler)
		defer ts.Close()
		res, err := ts.Client().Get(ts.URL + "/.well-known/authzen-configuration")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var doc authzen.Config
		if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
			t.Fatal(err)
		}
		if doc.PolicyDecisionPoint != ts.URL || doc.AccessEvaluationEndpoint != ts.URL+"/access/v1/evaluation" {
			t.Errorf("document = %+v, want base %s", doc, ts.URL)
		}
	})
	t.Run("plain request", func(t *testing.T) {
		check(t, f.handler, "http://pdp.local:8080/.well-known/authzen-configuration", "http://pdp.local:8080")
	})
	t.Run("public URL", func(t *testing.T) {
		srv, err := New(Options{Store: f.store, Engine: f.engine, PublicURL: "https://pdp.example.com/"})
		if err != nil {
			t.Fatal(err)
		}
		check(t, srv.Handler(), "http://10.0.0.1/.well-known/authzen-configuration", "https://pdp.example.com")
	})
}
