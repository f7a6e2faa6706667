package server

import (
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/idp"
)

func TestDescribeError(t *testing.T) {
	verr := &holdfast.ValidationError{}
	verr.Add("email", "is required")
	denied := &holdfast.DeniedError{Decision: holdfast.Decision{ID: "dec_1", Reasons: []string{"Help Desk Administrator cannot view legal holds"}}}
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
	}{
		{"not found", fmt.Errorf("user u1: %w", holdfast.ErrNotFound), 404, "not_found", "user u1: not found"},
		{"validation", fmt.Errorf("create: %w", verr), 422, "invalid", "create: invalid input: email: is required"},
		{"bad request", fmt.Errorf("%w: malformed JSON at byte 3", errBadRequest), 400, "bad_request", "bad request: malformed JSON at byte 3"},
		{"too large", errTooLarge, 413, "too_large", "request body too large"},
		{"denied", fmt.Errorf("delete: %w", denied), 403, "forbidden", "Help Desk Administrator cannot view legal holds"},
		{"conflict", fmt.Errorf("admin a@b.c: %w", holdfast.ErrConflict), 409, "conflict", "admin a@b.c: conflict"},
		{"held", fmt.Errorf("%w: user is on legal hold %q", holdfast.ErrHeld, "Q3"), 409, "legal_hold", `under legal hold: user is on legal hold "Q3"`},
		{"held and conflict", errors.Join(holdfast.ErrHeld, holdfast.ErrConflict), 409, "legal_hold", "under legal hold\nconflict"},
		{"unauthenticated", holdfast.ErrUnauthenticated, 401, "unauthenticated", "unauthenticated"},
		{"deadline", fmt.Errorf("list: %w", context.DeadlineExceeded), 504, "timeout", "list: context deadline exceeded"},
		{"canceled", context.Canceled, 499, "canceled", "context canceled"},
		{"unavailable", fmt.Errorf("%w: audit trail cannot be written, nothing was changed", holdfast.ErrUnavailable), 503, "unavailable", "service unavailable: audit trail cannot be written, nothing was changed"},
		{"database down", fmt.Errorf("list users: %w", holdfast.Unavailable("database", errors.New("dial tcp 10.0.0.7:5432: connect: connection refused"))), 503, "unavailable", "service unavailable: the database is not answering; retry later"},
		{"database deadline", holdfast.Unavailable("database", fmt.Errorf("query: %w", context.DeadlineExceeded)), 503, "unavailable", "service unavailable: the database is not answering; retry later"},
		{"disk full", holdfast.NoSpace("blob store", errors.New("write /data/blobs/ab/cd: no space left on device")), 507, "insufficient_storage", "insufficient storage: the blob store is full; nothing was stored"},
		{"driver error", errors.New("pq: relation users does not exist"), 500, "internal", "internal error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := describeError(tt.err, "req_1")
			if status != tt.status || body.Code != tt.code || body.Message != tt.message || body.RequestID != "req_1" {
				t.Errorf("describeError = %d %+v, want %d %q %q", status, body, tt.status, tt.code, tt.message)
			}
		})
	}
	_, body := describeError(verr, "r")
	if len(body.Fields) != 1 || body.Fields[0].Field != "email" {
		t.Errorf("fields = %+v, want the email field", body.Fields)
	}
	_, body = describeError(denied, "r")
	if body.DecisionID != "dec_1" || len(body.Reasons) != 1 {
		t.Errorf("denied body = %+v, want decision id and reasons", body)
	}
}

func TestInternalErrorIsLoggedOnceWithoutDetailsInResponse(t *testing.T) {
	f := newFixture(t)
	f.engine.fail = errors.New("rego: something broke deep inside")
	w := f.do("GET", "/api/v1/administrators", nil)
	if w.Code != 500 {
		t.Fatalf("status = %d, want 500", w.Code)
	}
	e := errorOf(t, w)
	if e.Message != "internal error" || e.RequestID == "" || strings.Contains(w.Body.String(), "rego") {
		t.Errorf("envelope = %s, want a bare internal error with request id", w.Body)
	}
	if n := strings.Count(f.logs.String(), "something broke deep inside"); n != 1 {
		t.Errorf("the chain is logged %d times, want once:\n%s", n, f.logs)
	}
}

func TestUnavailableDependencyIs503WithRetryAfter(t *testing.T) {
	f := newFixture(t)
	f.engine.fail = holdfast.Unavailable("database", errors.New("dial tcp 10.0.0.7:5432: connect: connection refused"))
	w := f.do("GET", "/api/v1/administrators", nil)
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status = %d, Retry-After = %q, want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	e := errorOf(t, w)
	if e.Code != "unavailable" || !strings.Contains(e.Message, "database") || strings.Contains(w.Body.String(), "10.0.0.7") {
		t.Errorf("envelope = %s, want code unavailable naming the database and not its address", w.Body)
	}
	for range 3 {
		if w := f.do("GET", "/api/v1/administrators", nil); w.Code != http.StatusServiceUnavailable {
			t.Fatalf("status = %d, want 503", w.Code)
		}
	}
	if n := strings.Count(f.logs.String(), "connection refused"); n != 1 {
		t.Errorf("the cause is logged %d times over 4 failures, want once per condition:\n%s", n, f.logs)
	}
}

func TestEveryRouteNeedsAToken(t *testing.T) {
	f := newFixture(t)
	public := []string{"GET /metrics", "GET /.well-known/authzen-configuration", "GET /api/v1/openapi.json"}
	for _, pattern := range f.srv.routes {
		if slices.Contains(public, pattern) {
			continue
		}
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.ReplaceAll(path, "{id}", "x")
		for _, auth := range []string{"", "Bearer hf_not-a-real-token", "Bearer "} {
			t.Run(pattern+" "+auth, func(t *testing.T) {
				w := f.do(method, path, nil, "Authorization", auth)
				if w.Code != http.StatusUnauthorized {
					t.Fatalf("status = %d, want 401: %s", w.Code, w.Body)
				}
				if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want Bearer", got)
				}
				if e := errorOf(t, w); e.Code != "unauthenticated" || e.RequestID == "" {
					t.Errorf("envelope = %+v", e)
				}
			})
		}
	}
	if logs := f.logs.String(); strings.Contains(logs, "hf_not-a-real-token") || strings.Contains(logs, testToken) {
		t.Errorf("a token reached the log:\n%s", logs)
	}
}

// mutation is one change request of the management API.
type mutationCase struct {
	name, method, path string
	body               any
	right, action      string
}

func mutations(s seed) []mutationCase {
	return []mutationCase{
		{"create admin", "POST", "/api/v1/administrators", map[string]any{"name": "Bo", "email": "bo@example.com", "role": "cloud_admin"}, "admins.create", "administrator.create"},
		{"edit admin", "PATCH", "/api/v1/administrators/{admin}", map[string]any{"name": "Root"}, "admins.edit", "administrator.update"},
		{"delete admin", "DELETE", "/api/v1/administrators/{admin}", nil, "admins.delete", "administrator.delete"},
		{"create role", "POST", "/api/v1/roles", map[string]any{"name": "Ops", "rights": []string{"users.view"}}, "roles.manage", "role.create"},
		{"edit role", "PATCH", "/api/v1/roles/" + s.role, map[string]any{"rights": []string{"users.manage"}}, "roles.manage", "role.update"},
		{"delete role", "DELETE", "/api/v1/roles/" + s.role, nil, "roles.manage", "role.delete"},
		{"create profile", "POST", "/api/v1/profiles", map[string]any{"name": "Eng"}, "profiles.create_delete", "profile.create"},
		{"edit profile", "PATCH", "/api/v1/profiles/" + s.profile, map[string]any{"description": "x"}, "profiles.manage", "profile.update"},
		{"delete profile", "DELETE", "/api/v1/profiles/" + s.profile, nil, "profiles.create_delete", "profile.delete"},
		{"create user", "POST", "/api/v1/users", map[string]any{"email": "cy@example.com", "name": "Cy"}, "users.create_import", "user.create"},
		{"edit user", "PATCH", "/api/v1/users/" + s.user, map[string]any{"name": "Anne"}, "users.manage", "user.update"},
		{"preserve user", "POST", "/api/v1/users/" + s.user + "/preserve", nil, "users.manage", "user.preserve"},
		{"activate user", "POST", "/api/v1/users/" + s.user + "/activate", nil, "users.manage", "user.activate"},
		{"delete user", "DELETE", "/api/v1/users/" + s.user, nil, "users.delete", "user.delete"},
		{"restore user", "POST", "/api/v1/users/" + s.user + "/restore", nil, "users.manage", "user.restore"},
		{"create device", "POST", "/api/v1/devices", map[string]any{"user_id": s.user, "name": "phone", "kind": "endpoint", "workload": "endpoints"}, "workloads.manage", "device.create"},
		{"edit device", "PATCH", "/api/v1/devices/" + s.device, map[string]any{"state": "disabled"}, "workloads.manage", "device.update"},
		{"delete device", "DELETE", "/api/v1/devices/" + s.device, nil, "workloads.delete", "device.delete"},
		{"create hold type", "POST", "/api/v1/legal-hold-types", map[string]any{"name": "Tax"}, "legal_hold_types.manage", "legal_hold_type.create"},
		{"rename hold type", "PATCH", "/api/v1/legal-hold-types/" + s.customType, map[string]any{"name": "Tax 2"}, "legal_hold_types.manage", "legal_hold_type.update"},
		{"delete hold type", "DELETE", "/api/v1/legal-hold-types/" + s.customType, nil, "legal_hold_types.manage", "legal_hold_type.delete"},
		{"rollback days", "PATCH", "/api/v1/account/settings", map[string]any{"rollback_days": 10}, "settings.manage", "account.settings.update"},
		{"sso", "PATCH", "/api/v1/account/settings", map[string]any{"sso_enforced": true}, "account.sso.manage", "account.settings.update"},
	}
}

func TestRefusalChangesNothing(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	for _, m := range mutations(s) {
		t.Run(m.name, func(t *testing.T) {
			path := strings.ReplaceAll(m.path, "{admin}", f.admin.ID)
			reason := "Help Desk Administrator cannot " + m.right
			f.engine.denyRight(m.right, reason)
			defer delete(f.engine.deny, m.right)
			before, auditBefore := f.snapshot()

			w := f.do(m.method, path, m.body)
			if w.Code != http.StatusForbidden {
				t.Fatalf("status = %d, want 403: %s", w.Code, w.Body)
			}
			e := errorOf(t, w)
			if e.Code != "forbidden" || e.Message != reason || !slices.Equal(e.Reasons, []string{reason}) || e.DecisionID == "" {
				t.Errorf("envelope = %+v, want the refusal with its reason and decision id", e)
			}
			after, auditAfter := f.snapshot()
			if after != before {
				t.Errorf("the store changed:\nbefore %s\nafter  %s", before, after)
			}
			if len(auditAfter) != len(auditBefore)+1 {
				t.Fatalf("audit records %d -> %d, want one denied record", len(auditBefore), len(auditAfter))
			}
			rec := auditAfter[len(auditAfter)-1]
			if rec.Outcome != holdfast.OutcomeDenied || rec.Action != m.action || rec.DecisionID != e.DecisionID ||
				rec.ActorID != f.admin.ID || rec.RequestID != w.Header().Get("X-Request-ID") {
				t.Errorf("audit record = %+v", rec)
			}
		})
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	long := strings.Repeat("x", 101)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		fields             []string
	}{
		{"malformed JSON", "POST", "/api/v1/administrators", `{"name":`, 400, nil},
		{"not JSON at all", "POST", "/api/v1/users", `hello`, 400, nil},
		{"empty body", "POST", "/api/v1/profiles", ``, 400, nil},
		{"two values", "POST", "/api/v1/profiles", `{"name":"a"}{"name":"b"}`, 400, nil},
		{"unknown field", "POST", "/api/v1/administrators", map[string]any{"name": "Bo", "email": "bo@example.com", "role": "cloud_admin", "is_root": true}, 400, nil},
		{"wrong type", "PATCH", "/api/v1/account/settings", map[string]any{"rollback_days": "ten"}, 400, nil},
		{"admin fields", "POST", "/api/v1/administrators", map[string]any{"name": long, "email": "not-an-email", "country": "XX", "time_zone": "Mars/Olympus", "role": "no_such_role"}, 422,
			[]string{"name", "email", "country", "time_zone", "role"}},
		{"admin without role", "POST", "/api/v1/administrators", map[string]any{"name": "Bo", "email": "Bo <bo@example.com>"}, 422, []string{"email", "role"}},
		{"admin patch", "PATCH", "/api/v1/administrators/{admin}", map[string]any{"state": "frozen", "time_zone": "Local"}, 422, []string{"time_zone", "state"}},
		{"empty admin patch", "PATCH", "/api/v1/administrators/{admin}", map[string]any{}, 422, []string{""}},
		{"role rights", "POST", "/api/v1/roles", map[string]any{"name": "R", "rights": []string{"users.fly"}, "categories": []string{"magic"}, "import_from": "nope"}, 422,
			[]string{"import_from", "categories", "rights"}},
		{"role without rights", "POST", "/api/v1/roles", map[string]any{"name": "R"}, 422, []string{"rights"}},
		{"profile auto delete", "POST", "/api/v1/profiles", map[string]any{"name": "P", "auto_delete_preserved_days": 5}, 422, []string{"auto_delete_preserved_days"}},
		{"user email", "POST", "/api/v1/users", map[string]any{"email": "nope", "name": ""}, 422, []string{"email", "name"}},
		{"device kind", "POST", "/api/v1/devices", map[string]any{"user_id": s.user, "name": "x", "kind": "toaster"}, 422, []string{"kind", "workload"}},
		{"device workload", "POST", "/api/v1/devices", map[string]any{"user_id": s.user, "name": "x", "kind": "endpoint", "workload": "toaster_cloud"}, 422, []string{"workload"}},
		{"device name taken", "POST", "/api/v1/devices", map[string]any{"user_id": s.user, "name": "laptop", "kind": "endpoint", "workload": "endpoints"}, 409, nil},
		{"device name taken, spaced", "POST", "/api/v1/devices", map[string]any{"user_id": s.user, "name": " laptop ", "kind": "endpoint", "workload": "endpoints"}, 409, nil},
		{"device state", "PATCH", "/api/v1/devices/" + s.device, map[string]any{"state": "decommissioned"}, 422, []string{"state"}},
		{"hold type name", "POST", "/api/v1/legal-hold-types", map[string]any{"name": "  "}, 422, []string{"name"}},
		{"rollback range", "PATCH", "/api/v1/account/settings", map[string]any{"rollback_days": 91, "inactive_admin_days": 14}, 422, []string{"rollback_days", "inactive_admin_days"}},
		{"last login choice", "GET", "/api/v1/administrators?last_login_before=45", nil, 422, []string{"last_login_before"}},
		{"bad limit", "GET", "/api/v1/users?limit=0", nil, 422, []string{"limit"}},
		{"bad state", "GET", "/api/v1/administrators?state=gone", nil, 422, []string{"state"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, auditBefore := f.snapshot()
			path := strings.ReplaceAll(tt.path, "{admin}", f.admin.ID)
			w := f.do(tt.method, path, tt.body)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			e := errorOf(t, w)
			var fields []string
			for _, fe := range e.Fields {
				fields = append(fields, fe.Field)
			}
			if !slices.Equal(fields, tt.fields) {
				t.Errorf("fields = %q, want %q (%s)", fields, tt.fields, w.Body)
			}
			after, auditAfter := f.snapshot()
			if after != before || len(auditAfter) != len(auditBefore) {
				t.Errorf("the store or the audit trail changed")
			}
		})
	}
}

func TestBodyTooLarge(t *testing.T) {
	f := newFixture(t)
	big := `{"name":"` + strings.Repeat("a", maxBodyBytes) + `"}`
	w := f.do("POST", "/api/v1/profiles", big)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", w.Code)
	}
}

func TestChangesAreAudited(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	for _, m := range mutations(s) {
		if m.name == "delete admin" || m.name == "delete profile" {
			continue // the caller itself; a profile with users (TestConflicts)
		}
		t.Run(m.name, func(t *testing.T) {
			path := strings.ReplaceAll(m.path, "{admin}", f.admin.ID)
			w := f.do(m.method, path, m.body)
			if w.Code >= 300 {
				t.Fatalf("status = %d: %s", w.Code, w.Body)
			}
			rec := f.lastAudit()
			if rec.Outcome != holdfast.OutcomeSuccess || rec.Action != m.action || rec.ActorEmail != "root@example.com" ||
				rec.DecisionID == "" || rec.RequestID == "" || rec.ResourceID == "" {
				t.Errorf("audit record = %+v", rec)
			}
			if strings.Contains(string(rec.Detail), testToken) {
				t.Errorf("audit detail holds a secret: %s", rec.Detail)
			}
		})
	}
	w := f.do("GET", "/api/v1/audit/verify", nil)
	var v auditVerification
	decode(t, w, &v)
	// Every mutation but the two skipped, and the bootstrap record.
	if !v.OK || v.Records != int64(len(mutations(s))-2+1) {
		t.Errorf("verify = %+v, want an intact trail", v)
	}
}

func TestEngineSeesTheCallerAndTheResource(t *testing.T) {
	f := newFixture(t)
	w := f.do("POST", "/api/v1/administrators", map[string]any{
		"name": "Bo", "email": "Bo@Example.com", "role": "help_desk_admin", "country": "de", "time_zone": "Europe/Berlin",
		"scopes": map[string]any{"profiles": []string{"p1"}},
	})
	if w.Code != http.StatusCreated {
		t.Fatalf("status = %d: %s", w.Code, w.Body)
	}
	var a holdfast.Administrator
	decode(t, w, &a)
	if a.Email != "bo@example.com" || a.Country != "DE" || a.CreatedBy != f.admin.ID || a.State != holdfast.AdminActive {
		t.Errorf("created %+v", a)
	}
	reqs := f.engine.requests()
	last := reqs[len(reqs)-1]
	if last.AccountID != f.account.ID || last.Subject.Type != "administrator" || last.Subject.ID != f.admin.ID ||
		last.Action.Name != "admins.create" || last.Resource.Type != "administrator" || last.Resource.ID != "" ||
		last.Resource.Properties["role"] != "help_desk_admin" {
		t.Errorf("decision request = %+v", last)
	}
	if sc, ok := last.Resource.Properties["scopes"].(holdfast.Scopes); !ok || !slices.Equal(sc.Profiles, []string{"p1"}) {
		t.Errorf("scopes property = %#v", last.Resource.Properties["scopes"])
	}

	w = f.do("POST", "/api/v1/administrators", map[string]any{"name": "Bo 2", "email": "bo@example.com", "role": "cloud_admin"})
	if w.Code != http.StatusConflict {
		t.Errorf("same email: status = %d, want 409", w.Code)
	}

	w = f.do("PATCH", "/api/v1/administrators/"+a.ID, map[string]any{"role": "cloud_admin", "scopes": map[string]any{"all_profiles": true}})
	if w.Code != http.StatusOK {
		t.Fatalf("patch: status = %d: %s", w.Code, w.Body)
	}
	reqs = f.engine.requests()
	last = reqs[len(reqs)-1]
	if last.Action.Name != "admins.edit" || last.Resource.ID != a.ID || last.Resource.Properties["new_role"] != "cloud_admin" || last.Resource.Properties["new_scopes"] == nil {
		t.Errorf("edit decision request = %+v", last)
	}
}

func TestAdminListFilters(t *testing.T) {
	f := newFixture(t)
	for _, b := range []map[string]any{
		{"name": "Help Desk", "email": "hd@example.com", "role": "help_desk_admin"},
		{"name": "Cloud", "email": "cloud@example.com", "role": "cloud_admin"},
	} {
		if w := f.do("POST", "/api/v1/administrators", b); w.Code != 201 {
			t.Fatalf("create: %d %s", w.Code, w.Body)
		}
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"cloud@example.com", "hd@example.com", "root@example.com"}},
		{"?role=cloud_admin", []string{"cloud@example.com"}},
		{"?product=platform", []string{"root@example.com"}},
		{"?product=insync", []string{"cloud@example.com", "hd@example.com"}},
		{"?product=enterprise_workloads", nil},
		{"?q=HELP", []string{"hd@example.com"}},
		{"?never_logged_in=true", []string{"cloud@example.com", "hd@example.com", "root@example.com"}},
		{"?last_login_before=7", []string{"cloud@example.com", "hd@example.com", "root@example.com"}},
		{"?limit=1", nil}, // one of them, checked by count below
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := f.do("GET", "/api/v1/administrators"+tt.query, nil)
			if w.Code != 200 {
				t.Fatalf("status = %d: %s", w.Code, w.Body)
			}
			var l struct{ Administrators []holdfast.Administrator }
			decode(t, w, &l)
			var got []string
			for _, a := range l.Administrators {
				got = append(got, a.Email)
			}
			slices.Sort(got)
			if strings.HasPrefix(tt.query, "?limit") {
				if len(got) != 1 {
					t.Errorf("got %q, want one", got)
				}
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestUserLifecycle(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	state := func(w *httptest.ResponseRecorder) holdfast.User {
		t.Helper()
		var u holdfast.User
		decode(t, w, &u)
		return u
	}
	if w := f.do("POST", "/api/v1/users/"+s.user+"/activate", nil); w.Code != 409 {
		t.Errorf("activate an active user: %d, want 409", w.Code)
	}
	if u := state(f.do("POST", "/api/v1/users/"+s.user+"/preserve", nil)); u.State != holdfast.UserPreserved || u.PreservedAt == nil {
		t.Errorf("preserve: %+v", u)
	}
	if u := state(f.do("POST", "/api/v1/users/"+s.user+"/activate", nil)); u.State != holdfast.UserActive {
		t.Errorf("activate: %+v", u)
	}
	w := f.do("DELETE", "/api/v1/users/"+s.user, nil)
	u := state(w)
	if w.Code != 200 || u.State != holdfast.UserDeleted || u.PurgeAfter == nil || !u.PurgeAfter.Equal(f.now.AddDate(0, 0, 30)) {
		t.Fatalf("delete: %d %+v", w.Code, u)
	}
	if w := f.do("DELETE", "/api/v1/users/"+s.user, nil); w.Code != 409 {
		t.Errorf("delete twice: %d, want 409", w.Code)
	}
	f.now = f.now.AddDate(0, 0, 29)
	if u := state(f.do("POST", "/api/v1/users/"+s.user+"/restore", nil)); u.State != holdfast.UserActive || u.DeletedAt != nil {
		t.Errorf("restore within the window: %+v", u)
	}
	f.do("DELETE", "/api/v1/users/"+s.user, nil)
	f.now = f.now.AddDate(0, 0, 31)
	if w := f.do("POST", "/api/v1/users/"+s.user+"/restore", nil); w.Code != 409 || !strings.Contains(errorOf(t, w).Message, "rollback window") {
		t.Errorf("restore after the window: %d %s, want 409", w.Code, w.Body)
	}
}

func TestHeldDataIsKeptEvenWhenTheEngineAllows(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	for _, tt := range []struct{ method, path string }{
		{"DELETE", "/api/v1/users/" + s.heldUser},
		{"DELETE", "/api/v1/devices/" + s.heldDevice},
	} {
		before, audit := f.snapshot()
		w := f.do(tt.method, tt.path, nil)
		if w.Code != http.StatusConflict {
			t.Fatalf("%s %s: status = %d, want 409: %s", tt.method, tt.path, w.Code, w.Body)
		}
		// The caller may be outside the hold's type: the backstop names
		// no hold.
		if e := errorOf(t, w); e.Code != "legal_hold" || !strings.Contains(e.Message, "on a legal hold") || strings.Contains(e.Message, "Q3 audit") {
			t.Errorf("envelope = %+v, want legal_hold without the hold's name", e)
		}
		if after, audit2 := f.snapshot(); after != before || len(audit2) != len(audit) {
			t.Errorf("the store changed")
		}
	}
}

func TestConflicts(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	def, err := f.srv.defaultProfile(holdfast.WithPrincipal(context.Background(), holdfast.Principal{AccountID: f.account.ID}))
	if err != nil {
		t.Fatal(err)
	}
	types, err := f.store.ListHoldTypes(context.Background(), f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	assigned := holdfast.Administrator{AccountID: f.account.ID, Name: "Seed", Email: "seed@example.com", RoleID: s.role,
		State: holdfast.AdminActive, CreatedBy: f.admin.ID, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateAdmin(context.Background(), &assigned); err != nil {
		t.Fatal(err)
	}
	var predefined string
	for _, ty := range types {
		if ty.Predefined {
			predefined = ty.ID
		}
	}
	tests := []struct {
		name, method, path string
		body               any
	}{
		{"delete Default profile", "DELETE", "/api/v1/profiles/" + def.ID, nil},
		{"rename Default profile", "PATCH", "/api/v1/profiles/" + def.ID, map[string]any{"name": "Other"}},
		{"delete profile with users", "DELETE", "/api/v1/profiles/" + s.profile, nil},
		{"delete used hold type", "DELETE", "/api/v1/legal-hold-types/" + s.usedType, nil},
		{"delete predefined hold type", "DELETE", "/api/v1/legal-hold-types/" + predefined, nil},
		{"rename predefined hold type", "PATCH", "/api/v1/legal-hold-types/" + predefined, map[string]any{"name": "HR"}},
		{"duplicate hold type", "POST", "/api/v1/legal-hold-types", map[string]any{"name": "Custom"}},
		{"duplicate profile", "POST", "/api/v1/profiles", map[string]any{"name": "Sales"}},
		{"duplicate user", "POST", "/api/v1/users", map[string]any{"email": "ann@example.com", "name": "Ann"}},
		{"delete unedited predefined role", "DELETE", "/api/v1/roles/platform_admin", nil},
		{"delete assigned role", "DELETE", "/api/v1/roles/" + s.role, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := f.snapshot()
			w := f.do(tt.method, tt.path, tt.body)
			if w.Code != http.StatusConflict {
				t.Fatalf("status = %d, want 409: %s", w.Code, w.Body)
			}
			if after, _ := f.snapshot(); after != before {
				t.Errorf("the store changed")
			}
		})
	}
}

func TestRoles(t *testing.T) {
	f := newFixture(t)
	cat := f.engine.Catalog()
	if len(cat.Categories) == 0 {
		t.Fatal("empty catalog")
	}
	category := cat.Categories[0].ID
	var catRights []string
	for _, r := range cat.Rights {
		if r.Category == category {
			catRights = append(catRights, r.ID)
		}
	}

	w := f.do("POST", "/api/v1/roles", map[string]any{
		"name": "Ops", "import_from": "help_desk_admin", "categories": []string{category}, "rights": []string{"reports.view"},
	})
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	var rv admins.RoleView
	decode(t, w, &rv)
	want := append([]string{"reports.view", "users.manage", "users.view"}, catRights...)
	slices.Sort(want)
	want = slices.Compact(want)
	if !strings.HasPrefix(rv.ID, "role_") || !slices.Equal(rv.Rights, want) || rv.ImportedFrom != "help_desk_admin" {
		t.Errorf("role = %+v, want rights %q", rv.Role, want)
	}
	reqs := f.engine.requests()
	last := reqs[len(reqs)-1]
	if last.Action.Properties["operation"] != "create" || last.Resource.Properties["import_from"] != "help_desk_admin" {
		t.Errorf("decision request = %+v", last)
	}
	allotted := 0
	for _, c := range rv.Categories {
		for _, r := range c.Rights {
			if r.Allotted != nil && *r.Allotted {
				allotted++
			}
		}
	}
	if allotted != len(want) {
		t.Errorf("%d rights allotted in the categories, want %d", allotted, len(want))
	}

	// Editing a predefined role stores the account's edit of it.
	w = f.do("PATCH", "/api/v1/roles/help_desk_admin", map[string]any{"rights": []string{"users.view"}})
	if w.Code != 200 {
		t.Fatalf("edit predefined: %d %s", w.Code, w.Body)
	}
	stored, err := f.store.GetRole(context.Background(), f.account.ID, "help_desk_admin")
	if err != nil || stored.OverrideOf != "help_desk_admin" || !slices.Equal(stored.Rights, []string{"users.view"}) {
		t.Errorf("override = %+v, %v", stored, err)
	}
	if w := f.do("PATCH", "/api/v1/roles/help_desk_admin", map[string]any{"name": "Desk"}); w.Code != 422 {
		t.Errorf("rename predefined: %d, want 422", w.Code)
	}
	if w := f.do("DELETE", "/api/v1/roles/help_desk_admin", nil); w.Code != 204 {
		t.Errorf("reset predefined: %d %s", w.Code, w.Body)
	}
	if w := f.do("DELETE", "/api/v1/roles/"+rv.ID, nil); w.Code != 204 {
		t.Errorf("delete custom: %d %s", w.Code, w.Body)
	}
	rules, _ := f.store.ListPolicyRules(context.Background())
	if len(rules) != 0 {
		t.Errorf("rules left after deleting every stored role: %v", rules)
	}

	w = f.do("GET", "/api/v1/rights", nil)
	var rl rightsList
	decode(t, w, &rl)
	if len(rl.Categories) != len(cat.Categories) || rl.Categories[0].Rights[0].Allotted != nil {
		t.Errorf("rights = %s", w.Body)
	}
}

func TestListsKeepOnlyAllowedItems(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	// A help desk administrator confined to the Sales profile.
	ctx := context.Background()
	hd := holdfast.Administrator{AccountID: f.account.ID, Name: "HD", Email: "hd@example.com", RoleID: "help_desk_admin", State: holdfast.AdminActive,
		Scopes: holdfast.Scopes{Profiles: []string{s.profile}, AllWorkloads: true}, CreatedBy: f.admin.ID, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateAdmin(ctx, &hd); err != nil {
		t.Fatal(err)
	}
	tok := holdfast.APIToken{AccountID: f.account.ID, AdminID: hd.ID, Name: "t", Hash: idp.HashToken("hf_helpdesk-token"), Prefix: "hf_helpdes", CreatedAt: f.now}
	if err := f.store.CreateToken(ctx, &tok); err != nil {
		t.Fatal(err)
	}
	def, _ := f.srv.defaultProfile(holdfast.WithPrincipal(ctx, holdfast.Principal{AccountID: f.account.ID}))
	other := holdfast.User{AccountID: f.account.ID, Email: "zed@example.com", Name: "Zed", ProfileID: def.ID, State: holdfast.UserActive, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateUser(ctx, &other); err != nil {
		t.Fatal(err)
	}
	w := f.do("GET", "/api/v1/users", nil, "Authorization", "Bearer hf_helpdesk-token")
	var l userList
	decode(t, w, &l)
	var got []string
	for _, u := range l.Users {
		got = append(got, u.Email)
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"ann@example.com", "held@example.com"}) {
		t.Errorf("help desk sees %q, want the Sales users only", got)
	}
	// The engine decides every item: a refusal drops it.
	f.engine.denyRight("profiles.view", "Help Desk Administrator cannot view profiles")
	w = f.do("GET", "/api/v1/profiles", nil)
	var pl profileList
	decode(t, w, &pl)
	if w.Code != 200 || len(pl.Profiles) != 0 {
		t.Errorf("profiles = %s, want an empty list", w.Body)
	}
}

func TestHoldTypesNeedAnyLegalHoldRight(t *testing.T) {
	f := newFixture(t)
	f.seedData()
	holdTypeViewRights := []string{"legal_holds.view", "legal_holds.create_manage", "legal_holds.delete", "legal_hold_types.manage"}
	for _, r := range holdTypeViewRights[1:] {
		f.engine.denyRight(r, "no")
	}
	if w := f.do("GET", "/api/v1/legal-hold-types", nil); w.Code != 200 {
		t.Fatalf("with legal_holds.view: %d %s", w.Code, w.Body)
	}
	f.engine.denyRight(holdTypeViewRights[0], "Help Desk Administrator cannot view legal holds")
	w := f.do("GET", "/api/v1/legal-hold-types", nil)
	if w.Code != 403 {
		t.Fatalf("without any: %d, want 403", w.Code)
	}
}

func TestAccountSettings(t *testing.T) {
	f := newFixture(t)
	w := f.do("PATCH", "/api/v1/account/settings", map[string]any{"rollback_days": 45, "inactive_admin_days": 60, "audit_retention_days": 365, "sso_enforced": true})
	if w.Code != 200 {
		t.Fatalf("status = %d: %s", w.Code, w.Body)
	}
	var a holdfast.Account
	decode(t, w, &a)
	if a.Settings != (holdfast.AccountSettings{RollbackDays: 45, InactiveAdminDays: 60, AuditRetentionDays: 365, SSOEnforced: true}) {
		t.Errorf("settings = %+v", a.Settings)
	}
	var rights []string
	for _, r := range f.engine.requests() {
		rights = append(rights, r.Action.Name)
	}
	for _, want := range []string{"settings.manage", "account.inactive_admin_policy.manage", "account.audit_trail_retention.manage", "account.sso.manage"} {
		if !slices.Contains(rights, want) {
			t.Errorf("the engine was not asked for %s (asked %q)", want, rights)
		}
	}
	if w := f.do("GET", "/api/v1/account", nil); w.Code != 200 {
		t.Errorf("get account: %d", w.Code)
	}
}

func TestAuditTrailAndTampering(t *testing.T) {
	f := newFixture(t)
	f.do("POST", "/api/v1/profiles", map[string]any{"name": "A"})
	f.do("POST", "/api/v1/profiles", map[string]any{"name": "B"})
	w := f.do("GET", "/api/v1/audit?action=profile.create&limit=1", nil)
	var l struct{ Records []holdfast.AuditRecord }
	decode(t, w, &l)
	if len(l.Records) != 1 || l.Records[0].Action != "profile.create" {
		t.Fatalf("audit = %s", w.Body)
	}
	// The time window and the CSV export of the same filters.
	w = f.do("GET", "/api/v1/audit?action=profile.create&since="+url.QueryEscape(l.Records[0].Time.Format(time.RFC3339)), nil)
	decode(t, w, &l)
	if len(l.Records) != 2 {
		t.Errorf("since the first creation: %s, want both", w.Body)
	}
	if w = f.do("GET", "/api/v1/audit?since=yesterday", nil); w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `"since"`) {
		t.Errorf("a bad since: %d %s, want 422 naming since", w.Code, w.Body)
	}
	w = f.do("GET", "/api/v1/audit/export?action=profile.create", nil)
	if rows, err := csv.NewReader(w.Body).ReadAll(); err != nil || len(rows) != 3 || rows[1][4] != "profile.create" ||
		w.Header().Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(w.Header().Get("Content-Disposition"), "attachment") {
		t.Errorf("export: %v %q %v", err, rows, w.Header())
	}
	w = f.do("GET", "/api/v1/audit/verify", nil)
	var v auditVerification
	decode(t, w, &v)
	if !v.OK || v.Records != 3 || v.Break != nil {
		t.Fatalf("verify = %+v, want 3 intact records", v)
	}
	// An attacker with database access drops the append-only trigger and
	// rewrites a record.
	db := f.store.(interface{ DB() *sql.DB }).DB()
	for _, stmt := range []string{
		`DROP TRIGGER audit_no_update`,
		`UPDATE audit SET actor_email = 'mallory@example.com' WHERE seq = 2`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	w = f.do("GET", "/api/v1/audit/verify", nil)
	v = auditVerification{}
	decode(t, w, &v)
	if v.OK || v.Break == nil || v.Break.Seq != 2 || v.Records != 1 {
		t.Errorf("verify after tampering = %s, want a break at 2", w.Body)
	}
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t)
	w := f.do("GET", "/api/v1/rights", nil, "X-Request-ID", "abc-123")
	if got := w.Header().Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("X-Request-ID = %q, want it echoed", got)
	}
	w = f.do("GET", "/api/v1/rights", nil, "X-Request-ID", "bad\x01id")
	if got := w.Header().Get("X-Request-ID"); !strings.HasPrefix(got, "req_") {
		t.Errorf("X-Request-ID = %q, want a generated one", got)
	}
	logs := f.logs.String()
	for _, want := range []string{`"request_id":"abc-123"`, `"method":"GET"`, `"path":"/api/v1/rights"`, `"status":200`, `"duration"`, `"principal":"` + f.admin.ID} {
		if !strings.Contains(logs, want) {
			t.Errorf("access log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, testToken) || strings.Contains(logs, "Bearer") {
		t.Errorf("the Authorization header reached the log")
	}

	w = f.do("GET", "/metrics", nil)
	body := w.Body.String()
	for _, want := range []string{`http_requests_total{code="200",method="GET",route="GET /api/v1/rights"}`, "http_request_duration_seconds", "holdfast_decisions_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}

	panicky := f.srv.observe(f.srv.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") })))
	rec := httptest.NewRecorder()
	panicky.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 500 || errorOf(t, rec).Message != "internal error" || !strings.Contains(f.logs.String(), "panic: boom") {
		t.Errorf("panic: %d %s", rec.Code, rec.Body)
	}
	// The WebDAV mount answers in plain text, and the stack is logged.
	rec = httptest.NewRecorder()
	panicky.ServeHTTP(rec, httptest.NewRequest("PROPFIND", "/dav/holds/x/", nil))
	if rec.Code != 500 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") || !strings.Contains(rec.Body.String(), "internal error (request req_") ||
		!strings.Contains(f.logs.String(), "handler panicked") || !strings.Contains(f.logs.String(), "runtime/debug.Stack") {
		t.Errorf("panic under /dav/: %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	f := newAuthFixture(t) // with sign-in on, as cmd/holdfast serves it
	w := f.do("GET", "/api/v1/openapi.json", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	decode(t, w, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, pattern := range f.srv.routes {
		pattern = strings.TrimSuffix(pattern, "{$}") // "GET /{$}" is the path "/" only
		if !documented[pattern] {
			t.Errorf("route %s is not in the OpenAPI document", pattern)
		}
		delete(documented, pattern)
	}
	for op := range documented {
		t.Errorf("the OpenAPI document names %s, which is not a route", op)
	}
}

func TestNewValidatesOptions(t *testing.T) {
	f := newFixture(t)
	for _, opts := range []Options{
		{Engine: f.engine},
		{Store: f.store},
		{Store: f.store, Engine: f.engine, PublicURL: "ftp://x"},
		{Store: f.store, Engine: f.engine, PublicURL: "https://x/?a=b"},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) = nil error", opts)
		}
	}
	// Two servers can share a registry.
	if _, err := New(Options{Store: f.store, Engine: f.engine, Clock: holdfast.SystemClock{}}); err != nil {
		t.Error(err)
	}
}
