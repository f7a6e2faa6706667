package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/legalhold"
)

// holdTypeID returns the id of the account's hold type with the name.
func (f realFixture) holdTypeID(name string) string {
	f.t.Helper()
	types, err := f.store.ListHoldTypes(context.Background(), f.account.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, ty := range types {
		if ty.Name == name {
			return ty.ID
		}
	}
	f.t.Fatalf("no hold type %q", name)
	return ""
}

func (f realFixture) mustCreate(path string, body any, want int, header ...string) map[string]any {
	f.t.Helper()
	w := f.do("POST", path, body, header...)
	if w.Code != want {
		f.t.Fatalf("POST %s: %d %s, want %d", path, w.Code, w.Body, want)
	}
	var out map[string]any
	if w.Body.Len() > 0 {
		decode(f.t, w, &out)
	}
	return out
}

func TestIntegrationLegalHolds(t *testing.T) {
	f := newRealFixture(t)
	legal, hr := f.holdTypeID("Legal"), f.holdTypeID("Human Resources")
	for _, e := range []string{"ann@example.com", "bob@example.com", "cid@example.com"} {
		f.mustCreate("/api/v1/users", map[string]any{"email": e, "name": strings.Split(e, "@")[0]}, http.StatusCreated)
	}
	// A Legal Administrator of the Legal type only.
	f.mustCreate("/api/v1/administrators", map[string]any{"name": "Lena Legal", "email": "lena@example.com", "role": "legal_admin",
		"scopes": map[string]any{"legal_hold_types": []string{legal}, "all_profiles": true, "all_workloads": true}}, http.StatusCreated)
	lena := f.tokenFor("lena@example.com")

	// The platform administrator creates a hold of each type, with custodians.
	h1 := f.mustCreate("/api/v1/legal-holds", map[string]any{"name": "Acme v. Initech", "type_id": legal,
		"data_access": "Data within a Date Range", "from": "2026-01-01", "to": "2026-01-31", "sources": []string{"exchange_online"},
		"custodians": []string{"Ann@Example.com", "nobody@example.com", "not an email"}}, http.StatusCreated)
	rep := h1["custodians"].(map[string]any)
	if fmt.Sprint(rep["added"]) != "[ann@example.com]" || fmt.Sprint(rep["invalid_users"]) != "[nobody@example.com not an email]" {
		t.Errorf("create report = %v", rep)
	}
	if h1["data_access"] != "date_range" || h1["to"] != "2026-01-31T23:59:59.999999Z" || h1["custodian_count"] != 1.0 ||
		!strings.HasSuffix(h1["webdav_url"].(string), "/dav/holds/"+h1["id"].(string)+"/") {
		t.Errorf("created hold = %v", h1)
	}
	id1 := h1["id"].(string)
	h2 := f.mustCreate("/api/v1/legal-holds", map[string]any{"name": "HR case", "type_id": hr, "custodians": []string{"ann@example.com"}}, http.StatusCreated)
	id2 := h2["id"].(string)
	rec := f.lastAudit()
	if rec.Action != "legal_hold.create" || rec.ResourceID != id2 || !strings.Contains(string(rec.Detail), "ann@example.com") {
		t.Errorf("audit = %+v", rec)
	}

	// Bad input changes nothing.
	before, audit := f.snapshot()
	for _, body := range []any{
		map[string]any{"name": ""},
		map[string]any{"name": "x", "data_access": "Data within a Date Range"},
		map[string]any{"name": "x", "sources": []string{"myspace"}},
		map[string]any{"name": "x", "from": "yesterday", "data_access": "date_range", "to": "2026-01-01"},
	} {
		if w := f.do("POST", "/api/v1/legal-holds", body); w.Code != http.StatusUnprocessableEntity && w.Code != http.StatusNotFound {
			t.Errorf("POST %v: %d %s, want 422", body, w.Code, w.Body)
		}
	}
	if after, audit2 := f.snapshot(); after != before || len(audit2) != len(audit) {
		t.Errorf("bad input changed the store")
	}

	// An unknown type: the engine refuses to decide on it.
	if w := f.do("POST", "/api/v1/legal-holds", map[string]any{"name": "x", "type_id": "lht_missing"}); w.Code != http.StatusForbidden && w.Code != http.StatusUnprocessableEntity {
		t.Errorf("unknown type: %d %s", w.Code, w.Body)
	}

	// The Legal Administrator sees only holds of its type.
	w := f.do("GET", "/api/v1/legal-holds", nil, "Authorization", lena)
	var list struct {
		LegalHolds []holdView `json:"legal_holds"`
		Total      int        `json:"total"`
	}
	decode(t, w, &list)
	if w.Code != 200 || len(list.LegalHolds) != 1 || list.LegalHolds[0].ID != id1 || list.Total != 1 {
		t.Errorf("legal admin lists: %d %s", w.Code, w.Body)
	}
	for _, tt := range []struct{ method, path string }{
		{"GET", "/api/v1/legal-holds/" + id2},
		{"GET", "/api/v1/legal-holds/" + id2 + "/custodians"},
		{"DELETE", "/api/v1/legal-holds/" + id2},
		{"GET", "/api/v1/legal-holds/" + id2 + "/webdav"},
	} {
		w := f.do(tt.method, tt.path, nil, "Authorization", lena)
		if w.Code != http.StatusForbidden {
			t.Errorf("legal admin %s %s: %d %s, want 403", tt.method, tt.path, w.Code, w.Body)
		}
		// The refusal does not name the hold it keeps from her.
		if strings.Contains(w.Body.String(), "HR case") {
			t.Errorf("legal admin %s %s: the refusal names the hidden hold: %s", tt.method, tt.path, w.Body)
		}
	}
	if w := f.do("POST", "/api/v1/legal-holds", map[string]any{"name": "Mine", "type_id": hr}, "Authorization", lena); w.Code != http.StatusForbidden {
		t.Errorf("legal admin creates an HR hold: %d %s", w.Code, w.Body)
	}
	if w := f.do("PATCH", "/api/v1/legal-holds/"+id1, map[string]any{"type_id": hr}, "Authorization", lena); w.Code != http.StatusForbidden {
		t.Errorf("legal admin moves its hold to HR: %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", "/api/v1/legal-holds/"+id2+"/custodians", map[string]any{"emails": []string{"bob@example.com"}}, "Authorization", lena); w.Code != http.StatusForbidden {
		t.Errorf("legal admin adds to an HR hold: %d %s", w.Code, w.Body)
	}
	// ... and manages its own.
	w = f.do("PATCH", "/api/v1/legal-holds/"+id1, map[string]any{"description": "Counsel: Smith LLP", "data_access": "Last Collected Data"}, "Authorization", lena)
	var got holdView
	decode(t, w, &got)
	if w.Code != 200 || got.Description != "Counsel: Smith LLP" || got.DataAccess != holdfast.AccessLastData || got.From != nil {
		t.Errorf("legal admin edits: %d %s", w.Code, w.Body)
	}
	if rec := f.lastAudit(); rec.Action != "legal_hold.update" || !strings.Contains(string(rec.Detail), `"data_access":{"from":"date_range","to":"last"}`) {
		t.Errorf("update audit = %s", rec.Detail)
	}
	w = f.do("POST", "/api/v1/legal-holds/"+id1+"/custodians", map[string]any{"emails": []string{"bob@example.com", "ann@example.com", "zed@example.com", "bob@example.com"}}, "Authorization", lena)
	var cr legalhold.CustodianReport
	decode(t, w, &cr)
	if w.Code != 200 || fmt.Sprint(cr.Added, cr.AlreadyOnHold, cr.InvalidUsers) != "[bob@example.com] [ann@example.com] [zed@example.com]" {
		t.Errorf("add custodians: %d %s", w.Code, w.Body)
	}
	w = f.do("POST", "/api/v1/legal-holds/"+id1+"/custodians/remove", map[string]any{"emails": []string{"bob@example.com", "cid@example.com", "zed@example.com"}}, "Authorization", lena)
	decode(t, w, &cr)
	if w.Code != 200 || fmt.Sprint(cr.Removed, cr.NotOnHold, cr.InvalidUsers) != "[bob@example.com] [cid@example.com] [zed@example.com]" {
		t.Errorf("remove custodians: %d %s", w.Code, w.Body)
	}
	if rec := f.lastAudit(); rec.Action != "legal_hold.custodians.remove" || rec.ActorEmail != "lena@example.com" {
		t.Errorf("remove audit = %+v", rec)
	}

	// A custodian cannot be deleted while any hold covers them: 409 naming
	// a hold, decided by the engine.
	users, err := f.store.ListUsers(context.Background(), f.account.ID, holdfast.UserFilter{Email: "ann@example.com"})
	if err != nil || len(users) != 1 {
		t.Fatal(users, err)
	}
	ann := users[0].ID
	w = f.do("DELETE", "/api/v1/users/"+ann, nil)
	if e := errorOf(t, w); w.Code != http.StatusConflict || e.Code != "legal_hold" || !strings.Contains(e.Message, "Acme v. Initech") {
		t.Errorf("delete held user: %d %s", w.Code, w.Body)
	}
	// Removed from one hold, the user stays held by the other.
	f.mustCreate("/api/v1/legal-holds/"+id1+"/custodians/remove", map[string]any{"emails": []string{"ann@example.com"}}, http.StatusOK)
	if w := f.do("DELETE", "/api/v1/users/"+ann, nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "HR case") {
		t.Errorf("delete user still on the HR hold: %d %s", w.Code, w.Body)
	}
	// Deleting the last hold releases them.
	if w := f.do("DELETE", "/api/v1/legal-holds/"+id2, nil); w.Code != http.StatusNoContent {
		t.Fatalf("delete hold: %d %s", w.Code, w.Body)
	}
	if rec := f.lastAudit(); rec.Action != "legal_hold.delete" || !strings.Contains(string(rec.Detail), ann) {
		t.Errorf("delete audit = %s", rec.Detail)
	}
	if w := f.do("DELETE", "/api/v1/users/"+ann, nil); w.Code != http.StatusOK {
		t.Errorf("delete released user: %d %s", w.Code, w.Body)
	}
	if w := f.do("GET", "/api/v1/legal-holds/"+id2, nil); w.Code != http.StatusNotFound && w.Code != http.StatusForbidden {
		t.Errorf("deleted hold: %d", w.Code)
	}
}

func TestIntegrationCustodianImport(t *testing.T) {
	f := newRealFixture(t)
	for _, e := range []string{"ann@example.com", "bob@example.com"} {
		f.mustCreate("/api/v1/users", map[string]any{"email": e, "name": e}, http.StatusCreated)
	}
	h := f.mustCreate("/api/v1/legal-holds", map[string]any{"name": "Import", "custodians": []string{"bob@example.com"}}, http.StatusCreated)
	path := "/api/v1/legal-holds/" + h["id"].(string) + "/custodians/import"
	csvBody := "email\nann@example.com\nbob@example.com\nnobody@example.com\n=HYPERLINK(\"http://x\")\nANN@example.com\n+1-555\n"
	w := f.do("POST", path, csvBody, "Content-Type", "text/csv")
	if w.Code != 200 {
		t.Fatalf("import: %d %s\n%s", w.Code, w.Body, f.logs)
	}
	var rep importReport
	decode(t, w, &rep)
	var got []string
	for _, r := range rep.Rows {
		got = append(got, fmt.Sprintf("%d %s %s", r.Line, r.Email, r.Status))
	}
	want := []string{
		"2 ann@example.com added",
		"3 bob@example.com already_on_hold",
		"4 nobody@example.com unknown_user",
		`5 '=HYPERLINK("http://x") malformed`,
		"6 ANN@example.com duplicate",
		"7 '+1-555 malformed",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rep.Summary["added"] != 1 || rep.Summary["malformed"] != 2 {
		t.Errorf("summary = %v", rep.Summary)
	}
	if rec := f.lastAudit(); rec.Action != "legal_hold.custodians.import" || strings.Contains(string(rec.Detail), "=HYPERLINK") {
		t.Errorf("audit = %s", rec.Detail)
	}
	// The CSV form of the report neutralizes too.
	w = f.do("POST", path, "email\n@SUM(1)\n", "Content-Type", "text/csv", "Accept", "text/csv")
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(w.Body.String(), "\r\n2,'@SUM(1),malformed,") {
		t.Errorf("CSV report: %d %q", w.Code, w.Body)
	}

	// Over the limits: refused whole, nothing changes.
	var b strings.Builder
	b.WriteString("email\n")
	for i := range 501 {
		fmt.Fprintf(&b, "u%d@example.com\n", i)
	}
	before, audit := f.snapshot()
	w = f.do("POST", path, b.String(), "Content-Type", "text/csv")
	if e := errorOf(t, w); w.Code != http.StatusUnprocessableEntity || !strings.Contains(e.Message, "more than 500") {
		t.Errorf("501 rows: %d %s", w.Code, w.Body)
	}
	w = f.do("POST", path, strings.Repeat("a@example.com\n", legalhold.MaxCSVBytes/14+10), "Content-Type", "text/csv")
	if w.Code != http.StatusRequestEntityTooLarge && w.Code != http.StatusUnprocessableEntity {
		t.Errorf("oversized file: %d %s", w.Code, w.Body)
	}
	if w := f.do("POST", path, `{"emails":[]}`, "Content-Type", "application/json"); w.Code != http.StatusBadRequest {
		t.Errorf("JSON body: %d", w.Code)
	}
	if after, audit2 := f.snapshot(); after != before || len(audit2) != len(audit) {
		t.Errorf("a refused file changed the store")
	}
}

func TestIntegrationHoldCredential(t *testing.T) {
	f := newRealFixture(t)
	h := f.mustCreate("/api/v1/legal-holds", map[string]any{"name": "Creds"}, http.StatusCreated)
	path := "/api/v1/legal-holds/" + h["id"].(string) + "/webdav"
	w := f.do("GET", path, nil)
	var v holdAccessView
	decode(t, w, &v)
	if w.Code != 200 || v.Credential {
		t.Fatalf("no credential yet: %d %s", w.Code, w.Body)
	}
	first := f.mustCreate(path, map[string]any{"expires_at": "2099-01-01T00:00:00Z"}, http.StatusCreated)
	pw, user := first["password"].(string), first["user_name"].(string)
	if len(pw) != 43 || !legalhold.IsHoldUser(user) || first["expires_at"] != "2099-01-01T00:00:00Z" {
		t.Errorf("rotate = %v", first)
	}
	rec := f.lastAudit()
	if rec.Action != "legal_hold.webdav.rotate" || strings.Contains(string(rec.Detail), pw) {
		t.Errorf("audit = %s", rec.Detail)
	}
	if strings.Contains(f.logs.String(), pw) {
		t.Error("the password was logged")
	}
	w = f.do("GET", path, nil)
	if w.Code != 200 || strings.Contains(w.Body.String(), pw) || !strings.Contains(w.Body.String(), user) {
		t.Errorf("GET shows %s", w.Body)
	}
	as := f.store
	if _, err := legalhold.Authenticate(context.Background(), as, user, pw, f.now); err != nil {
		t.Errorf("the new credential does not authenticate: %v", err)
	}
	second := f.mustCreate(path, nil, http.StatusCreated)
	if _, err := legalhold.Authenticate(context.Background(), as, user, pw, f.now); err == nil {
		t.Error("the rotated-out credential still authenticates")
	}
	if w := f.do("POST", path, map[string]any{"expires_at": "2001-01-01T00:00:00Z"}); w.Code != http.StatusUnprocessableEntity {
		t.Errorf("past expiry: %d", w.Code)
	}
	if w := f.do("DELETE", path, nil); w.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", w.Code, w.Body)
	}
	if _, err := legalhold.Authenticate(context.Background(), as, second["user_name"].(string), second["password"].(string), f.now); err == nil {
		t.Error("the revoked credential still authenticates")
	}
	if w := f.do("DELETE", path, nil); w.Code != http.StatusNotFound {
		t.Errorf("revoke twice: %d", w.Code)
	}
	raw, _ := json.Marshal(second)
	if strings.Contains(f.logs.String(), second["password"].(string)) {
		t.Errorf("logged: %s", raw)
	}
}

// TestHoldListPages proves the hold list no longer returns everything at
// once: 105 holds come back over two pages (100, 5), each once, with the
// total on both; a Legal Administrator of one type walks only the holds
// of that type, and its total excludes the others. A bad limit or an
// offset is 422 naming the field.
func TestHoldListPages(t *testing.T) {
	f := newRealFixture(t)
	legal, hr := f.holdTypeID("Legal"), f.holdTypeID("Human Resources")
	for i := range 105 {
		typeID := hr
		if i%5 == 0 {
			typeID = legal // 21 of them
		}
		h := holdfast.LegalHold{AccountID: f.account.ID, Name: fmt.Sprintf("Hold %03d", i), TypeID: typeID, DataAccess: holdfast.AccessAllData}
		if err := f.store.CreateHold(t.Context(), &h); err != nil {
			t.Fatal(err)
		}
	}
	f.mustCreate("/api/v1/administrators", map[string]any{"name": "Lena Legal", "email": "lena@example.com", "role": "legal_admin",
		"scopes": map[string]any{"legal_hold_types": []string{legal}, "all_profiles": true, "all_workloads": true}}, http.StatusCreated)
	lena := f.tokenFor("lena@example.com")
	walk := func(header ...string) (sizes []int, types map[string]int, total int) {
		t.Helper()
		types = map[string]int{}
		seen := map[string]bool{}
		path := "/api/v1/legal-holds"
		for range 20 {
			w := f.do("GET", path, nil, header...)
			if w.Code != 200 {
				t.Fatalf("GET %s = %d: %s", path, w.Code, w.Body)
			}
			var p struct {
				LegalHolds []holdView `json:"legal_holds"`
				Total      int        `json:"total"`
				NextCursor string     `json:"next_cursor"`
			}
			decode(t, w, &p)
			total = p.Total
			sizes = append(sizes, len(p.LegalHolds))
			for _, h := range p.LegalHolds {
				if seen[h.ID] {
					t.Errorf("%s listed twice", h.Name)
				}
				seen[h.ID] = true
				types[h.TypeID]++
			}
			if p.NextCursor == "" {
				return sizes, types, total
			}
			path = "/api/v1/legal-holds?cursor=" + url.QueryEscape(p.NextCursor)
		}
		t.Fatal("the pages never end")
		return nil, nil, 0
	}
	if sizes, types, total := walk(); fmt.Sprint(sizes) != "[100 5]" || total != 105 || types[legal] != 21 || types[hr] != 84 {
		t.Errorf("platform admin: pages %v, total %d, types %v; want [100 5], 105", sizes, total, types)
	}
	if sizes, types, total := walk("Authorization", lena); fmt.Sprint(sizes) != "[21]" || total != 21 || types[hr] != 0 {
		t.Errorf("legal admin: pages %v, total %d, types %v; want [21], 21, no HR hold", sizes, total, types)
	}
	w := f.do("GET", "/api/v1/legal-holds?type_id="+url.QueryEscape(hr)+"&limit=1", nil, "Authorization", lena)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `"total":0`) {
		t.Errorf("legal admin asks for HR holds: %d %s, want an empty page", w.Code, w.Body)
	}
	for _, path := range []string{"/api/v1/legal-holds", "/api/v1/legal-hold-types", "/api/v1/legal-holds/x/custodians"} {
		for q, field := range map[string]string{"?limit=0": "limit", "?limit=1001": "limit", "?limit=ten": "limit", "?offset=100": "offset", "?cursor=bogus": "cursor"} {
			w := f.do("GET", path+q, nil)
			if w.Code != 422 || !strings.Contains(w.Body.String(), `"field":"`+field+`"`) {
				t.Errorf("GET %s%s = %d %s, want 422 naming %s", path, q, w.Code, w.Body, field)
			}
		}
	}
}
