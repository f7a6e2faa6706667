package server

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/authzen"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/setup"
)

// realFixture is the server over the real engine and a real SQLite store.
type realFixture struct {
	*fixture
	db *sql.DB
}

func newRealFixture(t testing.TB) realFixture {
	t.Helper()
	store := openTestStore(t)
	f := realServer(t, store, Options{Audit: newTestAudit(t, store, nil)})
	f.db = store.DB()
	return f
}

// realServer bootstraps store (the platform administrator's API token is
// testToken) and serves it over the real engine with opts.
func realServer(t testing.TB, store holdfast.MetaStore, opts Options) realFixture {
	t.Helper()
	ctx := context.Background()
	res, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{Token: testToken, AdminEmail: "root@example.com", AdminPassword: "Correct horse battery 1"})
	if err != nil {
		t.Fatal(err)
	}
	engine, err := authz.New(ctx, authz.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: store, account: res.Account, admin: res.Admin, logs: &bytes.Buffer{}, now: time.Now().UTC()}
	opts.Store, opts.Engine, opts.Logger = store, engine, slog.New(slog.NewJSONHandler(f.logs, nil))
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.srv, f.handler = srv, srv.Handler()
	return realFixture{fixture: f}
}

// tokenFor gives the administrator email an API token and returns it.
func (f realFixture) tokenFor(email string) string {
	f.t.Helper()
	ctx := context.Background()
	a, err := f.store.GetAdminByEmail(ctx, email)
	if err != nil {
		f.t.Fatal(err)
	}
	secret, hash, prefix, err := idp.NewToken()
	if err != nil {
		f.t.Fatal(err)
	}
	tok := holdfast.APIToken{AccountID: a.AccountID, AdminID: a.ID, Name: "test", Hash: hash, Prefix: prefix, CreatedAt: time.Now().UTC()}
	if err := f.store.CreateToken(ctx, &tok); err != nil {
		f.t.Fatal(err)
	}
	return "Bearer " + secret.Reveal()
}

func TestIntegrationAdministratorsAndAudit(t *testing.T) {
	f := newRealFixture(t)
	def, err := f.srv.defaultProfile(holdfast.WithPrincipal(context.Background(), holdfast.Principal{AccountID: f.account.ID}))
	if err != nil {
		t.Fatal(err)
	}

	// The platform administrator creates a Cloud Administrator ...
	w := f.do("POST", "/api/v1/administrators", map[string]any{"name": "Carla Cloud", "email": "carla@example.com", "role": "cloud_admin", "country": "US", "time_zone": "America/New_York"})
	if w.Code != http.StatusCreated {
		t.Fatalf("platform admin creates a cloud admin: %d %s", w.Code, w.Body)
	}
	cloud := f.tokenFor("carla@example.com")

	// ... who creates a Help Desk Administrator for the Default profile.
	w = f.do("POST", "/api/v1/administrators", map[string]any{
		"name": "Hank Help", "email": "hank@example.com", "role": "help_desk_admin",
		"scopes": map[string]any{"profiles": []string{def.ID}, "all_workloads": true},
	}, "Authorization", cloud)
	if w.Code != http.StatusCreated {
		t.Fatalf("cloud admin creates a help desk admin: %d %s", w.Code, w.Body)
	}
	rec := f.lastAudit()
	if rec.Action != "administrator.create" || rec.ActorEmail != "carla@example.com" || rec.Outcome != holdfast.OutcomeSuccess || rec.DecisionID == "" {
		t.Errorf("audit = %+v", rec)
	}
	helpDesk := f.tokenFor("hank@example.com")

	// The Help Desk Administrator is refused what its role lacks, with the
	// engine's reason, and nothing changes.
	w = f.do("GET", "/api/v1/legal-hold-types", nil, "Authorization", helpDesk)
	if w.Code != http.StatusForbidden {
		t.Fatalf("help desk lists legal hold types: %d %s", w.Code, w.Body)
	}
	e := errorOf(t, w)
	if e.Message != "Help Desk Administrator cannot view legal holds" || e.DecisionID == "" {
		t.Errorf("refusal = %+v, want the engine's reason naming the role", e)
	}
	before, audit := f.snapshot()
	w = f.do("POST", "/api/v1/administrators", map[string]any{"name": "Eve", "email": "eve@example.com", "role": "cloud_admin"}, "Authorization", helpDesk)
	if w.Code != http.StatusForbidden {
		t.Fatalf("help desk creates a cloud admin: %d %s", w.Code, w.Body)
	}
	after, audit2 := f.snapshot()
	if after != before || len(audit2) != len(audit)+1 || audit2[len(audit2)-1].Outcome != holdfast.OutcomeDenied {
		t.Errorf("a refused change must change nothing but add a denied audit record")
	}

	// The Help Desk Administrator sees the users of its profile.
	w = f.do("POST", "/api/v1/users", map[string]any{"email": "ursula@example.com", "name": "Ursula"})
	if w.Code != http.StatusCreated {
		t.Fatalf("create user: %d %s", w.Code, w.Body)
	}
	w = f.do("GET", "/api/v1/users", nil, "Authorization", helpDesk)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "ursula@example.com") {
		t.Errorf("help desk lists users: %d %s", w.Code, w.Body)
	}

	// AuthZEN over the same engine, confined to the token's account.
	w = f.do("POST", "/access/v1/evaluation",
		`{"subject":{"type":"administrator","id":"hank@example.com"},"action":{"name":"legal_holds.view"},"resource":{"type":"account","id":"`+f.account.ID+`"}}`)
	if w.Code != 200 || decisionOf(t, w) {
		t.Errorf("AuthZEN help desk legal_holds.view: %d %s, want a deny", w.Code, w.Body)
	}
	w = f.do("POST", "/access/v1/evaluations", `{"subject":{"type":"administrator","id":"carla@example.com"},"resource":{"type":"account","id":"`+f.account.ID+`"},`+
		`"evaluations":[{"action":{"name":"admins.view"}},{"action":{"name":"account.sso.manage"}}]}`)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"evaluations":[{"decision":true},{"decision":false}]}` {
		t.Errorf("AuthZEN cloud admin batch: %d %s", w.Code, w.Body)
	}

	// The trail verifies, until someone rewrites a record in the database.
	w = f.do("GET", "/api/v1/audit/verify", nil)
	var v auditVerification
	decode(t, w, &v)
	if !v.OK || v.Records < 4 {
		t.Fatalf("verify = %s", w.Body)
	}
	for _, stmt := range []string{
		`DROP TRIGGER audit_no_update`,
		`UPDATE audit SET outcome = 'success' WHERE outcome = 'denied'`,
	} {
		if _, err := f.db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	w = f.do("GET", "/api/v1/audit/verify", nil)
	v = auditVerification{}
	decode(t, w, &v)
	if v.OK || v.Break == nil || !strings.Contains(v.Break.Reason, "MAC") {
		t.Errorf("verify after tampering = %s, want a break", w.Body)
	}
}

// TestIntegrationAuthZENOddContext: a context the policy cannot be given
// faithfully (a number beyond float64, found in review to be allowed by the
// Wasm evaluator while topdown failed) is a clear denial, not an answer.
func TestIntegrationAuthZENOddContext(t *testing.T) {
	f := newRealFixture(t)
	ask := func(context string) authzen.Response {
		t.Helper()
		body := `{"subject":{"type":"administrator","id":"root@example.com"},"action":{"name":"users.view"},` +
			`"resource":{"type":"account","id":"` + f.account.ID + `"},"context":` + context + `}`
		w := f.do("POST", "/access/v1/evaluation", body)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", context, w.Code, w.Body)
		}
		var r authzen.Response
		decode(t, w, &r)
		return r
	}
	if r := ask(`{"n":1}`); !r.Decision {
		t.Fatalf("control: %+v", r)
	}
	r := ask(`{"n":1e1000000}`)
	if reasons, _ := json.Marshal(r.Context["reasons"]); r.Decision || !strings.Contains(string(reasons), "context: ") {
		t.Fatalf("huge number: %+v", r)
	}
}
