package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/scim"
)

// scimErr is a SCIM error body.
type scimErr struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType"`
	Detail   string   `json:"detail"`
}

type scimList struct {
	Schemas      []string    `json:"schemas"`
	TotalResults int         `json:"totalResults"`
	StartIndex   int         `json:"startIndex"`
	ItemsPerPage int         `json:"itemsPerPage"`
	Resources    []scim.User `json:"Resources"`
}

func TestSCIMUsers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	contentType := "Content-Type"

	// Create (as Okta sends it), then a duplicate.
	body := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"Ann@Example.com","externalId":"00u1",
		"name":{"givenName":"Ann","familyName":"Lee"},"emails":[{"value":"Ann@Example.com","primary":true,"type":"work"}],"active":true}`
	w := f.do("POST", "/scim/v2/Users", body, contentType, scim.MediaType)
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != scim.MediaType {
		t.Errorf("content type %q", ct)
	}
	var ann scim.User
	decode(t, w, &ann)
	if ann.ID == "" || ann.UserName != "ann@example.com" || ann.ExternalID != "00u1" || ann.DisplayName != "Ann Lee" ||
		ann.Active == nil || !bool(*ann.Active) || ann.Meta == nil || ann.Meta.ResourceType != "User" {
		t.Fatalf("created %+v", ann)
	}
	if loc := w.Header().Get("Location"); loc != "http://example.com/scim/v2/Users/"+ann.ID || ann.Meta.Location != loc {
		t.Errorf("Location %q, meta.location %q", loc, ann.Meta.Location)
	}
	stored, err := f.store.GetUser(ctx, f.account.ID, ann.ID)
	if err != nil || stored.State != holdfast.UserActive || stored.Email != "ann@example.com" {
		t.Fatalf("stored %+v %v", stored, err)
	}
	w = f.do("POST", "/scim/v2/Users", body, contentType, scim.MediaType)
	var se scimErr
	decode(t, w, &se)
	if w.Code != http.StatusConflict || se.Status != "409" || se.ScimType != "uniqueness" || se.Schemas[0] != scim.ErrorSchema {
		t.Errorf("duplicate: %d %+v", w.Code, se)
	}

	// Filter by userName, case-insensitively; paging fields.
	w = f.do("GET", "/scim/v2/Users?"+url.Values{"filter": {`userName eq "ANN@example.com"`}}.Encode(), nil)
	var list scimList
	decode(t, w, &list)
	if w.Code != 200 || list.TotalResults != 1 || len(list.Resources) != 1 || list.Resources[0].ID != ann.ID ||
		list.StartIndex != 1 || list.ItemsPerPage != 1 || list.Schemas[0] != scim.ListSchema {
		t.Fatalf("filter: %d %s", w.Code, w.Body)
	}
	w = f.do("GET", "/scim/v2/Users?"+url.Values{"filter": {`userName eq "nobody@example.com"`}}.Encode(), nil)
	decode(t, w, &list)
	if list.TotalResults != 0 || list.Resources == nil {
		t.Errorf("no match: %s", w.Body)
	}
	w = f.do("GET", "/scim/v2/Users?"+url.Values{"filter": {`title co "x"`}}.Encode(), nil)
	decode(t, w, &se)
	if w.Code != 400 || se.ScimType != "invalidFilter" {
		t.Errorf("bad filter: %d %s", w.Code, w.Body)
	}

	// PATCH active false as Microsoft Entra sends it: PascalCase op,
	// the boolean as a string.
	w = f.do("PATCH", "/scim/v2/Users/"+ann.ID, `{"schemas":["`+scim.PatchSchema+`"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`, contentType, scim.MediaType)
	decode(t, w, &ann)
	if w.Code != 200 || bool(*ann.Active) {
		t.Fatalf("deactivate: %d %s", w.Code, w.Body)
	}
	if u, _ := f.store.GetUser(ctx, f.account.ID, ann.ID); u.State != holdfast.UserPreserved {
		t.Errorf("after active=false the user is %s, want preserved", u.State)
	}
	// Without a path, value is an object.
	w = f.do("PATCH", "/scim/v2/Users/"+ann.ID, `{"schemas":["`+scim.PatchSchema+`"],"Operations":[{"op":"replace","value":{"active":true,"displayName":"Ann B. Lee"}}]}`)
	decode(t, w, &ann)
	if w.Code != 200 || !bool(*ann.Active) || ann.DisplayName != "Ann B. Lee" {
		t.Fatalf("reactivate: %d %s", w.Code, w.Body)
	}
	w = f.do("PATCH", "/scim/v2/Users/"+ann.ID, `{"Operations":[{"op":"replace","path":"userName","value":"x@example.com"}]}`)
	decode(t, w, &se)
	if w.Code != 400 || se.ScimType != "mutability" {
		t.Errorf("patch of userName: %d %s", w.Code, w.Body)
	}
	w = f.do("PATCH", "/scim/v2/Users/"+ann.ID, `{"Operations":[{"op":"replace","path":"nonsense","value":"x"}]}`)
	decode(t, w, &se)
	if w.Code != 400 || se.ScimType != "invalidPath" {
		t.Errorf("patch of an unknown attribute: %d %s", w.Code, w.Body)
	}
	// What Entra sends along with a change: attributes we do not keep are
	// accepted and left alone.
	w = f.do("PATCH", "/scim/v2/Users/"+ann.ID, `{"Operations":[
		{"op":"Replace","path":"name.givenName","value":"Ann"},
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"ann@example.com"},
		{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"},
		{"op":"Replace","path":"userName","value":"ANN@example.com"},
		{"op":"Replace","path":"displayName","value":"Ann B. Lee"}]}`)
	decode(t, w, &ann)
	if w.Code != 200 || ann.DisplayName != "Ann B. Lee" {
		t.Errorf("Entra-style patch: %d %s", w.Code, w.Body)
	}
	w = f.do("PATCH", "/scim/v2/Users/"+ann.ID, `{"Operations":[{"op":"remove","path":"active"}]}`)
	if w.Code != 400 {
		t.Errorf("remove op: %d %s", w.Code, w.Body)
	}

	// PUT replaces; userName is immutable.
	w = f.do("PUT", "/scim/v2/Users/"+ann.ID, `{"schemas":["`+scim.UserSchema+`"],"userName":"ann@example.com","displayName":"Ann Lee","externalId":"00u2","active":true}`)
	decode(t, w, &ann)
	if w.Code != 200 || ann.DisplayName != "Ann Lee" || ann.ExternalID != "00u2" {
		t.Fatalf("put: %d %s", w.Code, w.Body)
	}
	w = f.do("PUT", "/scim/v2/Users/"+ann.ID, `{"userName":"other@example.com"}`)
	decode(t, w, &se)
	if w.Code != 400 || se.ScimType != "mutability" {
		t.Errorf("put with another userName: %d %s", w.Code, w.Body)
	}

	// DELETE preserves: the user and its data stay.
	w = f.do("DELETE", "/scim/v2/Users/"+ann.ID, nil)
	if w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	u, err := f.store.GetUser(ctx, f.account.ID, ann.ID)
	if err != nil || u.State != holdfast.UserPreserved {
		t.Fatalf("after DELETE: %+v %v, want the user preserved", u, err)
	}
	if w := f.do("DELETE", "/scim/v2/Users/"+ann.ID, nil); w.Code != http.StatusNoContent {
		t.Errorf("delete again: %d", w.Code)
	}
	w = f.do("GET", "/scim/v2/Users/"+ann.ID, nil)
	decode(t, w, &ann)
	if w.Code != 200 || bool(*ann.Active) {
		t.Errorf("get after delete: %d %s", w.Code, w.Body)
	}

	w = f.do("GET", "/scim/v2/Users/usr_missing", nil)
	decode(t, w, &se)
	if w.Code != 404 || se.Status != "404" {
		t.Errorf("missing user: %d %s", w.Code, w.Body)
	}
	for _, p := range []string{"/scim/v2/ServiceProviderConfig", "/scim/v2/ResourceTypes", "/scim/v2/Schemas"} {
		if w := f.do("GET", p, nil); w.Code != 200 || !strings.Contains(w.Body.String(), "urn:ietf:params:scim") {
			t.Errorf("%s: %d %s", p, w.Code, w.Body)
		}
	}
}

func TestSCIMRefusalsChangeNothing(t *testing.T) {
	f := newFixture(t)
	before, _ := f.snapshot()
	f.engine.denyRight("users.create_import", "no right")
	w := f.do("POST", "/scim/v2/Users", `{"userName":"bob@example.com"}`)
	var se scimErr
	decode(t, w, &se)
	if w.Code != http.StatusForbidden || se.Status != "403" {
		t.Errorf("denied create: %d %s", w.Code, w.Body)
	}
	for _, tt := range []struct{ name, body, ct string }{
		{"not JSON", `{"userName":`, ""},
		{"bad email", `{"userName":"not an email"}`, ""},
		{"wrong content type", `{"userName":"c@example.com"}`, "text/plain"},
	} {
		hdr := []string{}
		if tt.ct != "" {
			hdr = []string{"Content-Type", tt.ct}
		}
		w := f.do("POST", "/scim/v2/Users", tt.body, hdr...)
		if w.Code < 400 || w.Code > 499 {
			t.Errorf("%s: %d %s", tt.name, w.Code, w.Body)
		}
	}
	if w := f.do("GET", "/scim/v2/Users", nil, "Authorization", ""); w.Code != http.StatusUnauthorized {
		t.Errorf("no token: %d", w.Code)
	}
	after, _ := f.snapshot()
	if before != after {
		t.Error("refused SCIM requests changed the store")
	}
}

func TestSCIMDeleteKeepsAHeldUser(t *testing.T) {
	f := newFixture(t)
	s := f.seedData()
	w := f.do("DELETE", "/scim/v2/Users/"+s.heldUser, nil)
	if w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", w.Code, w.Body)
	}
	u, err := f.store.GetUser(context.Background(), f.account.ID, s.heldUser)
	if err != nil || u.State != holdfast.UserPreserved {
		t.Fatalf("held user after SCIM DELETE: %+v %v", u, err)
	}
	holds, err := f.store.HoldsForUser(context.Background(), f.account.ID, s.heldUser)
	if err != nil || len(holds) != 1 {
		t.Fatalf("holds after SCIM DELETE: %v %v", holds, err)
	}
}

// TestSCIMTakesOnlyBearerTokens: a signed-in console session, with its
// CSRF token, reaches the management API but not SCIM; the same
// administrator's API token does.
func TestSCIMTakesOnlyBearerTokens(t *testing.T) {
	f := newAuthFixture(t)
	b, _ := f.signInPlatformAdmin()
	wantStatus(t, "session on the API", b.do("GET", "/api/v1/users", nil), http.StatusOK)
	before, auditBefore := f.snapshot()
	for _, tc := range []struct{ method, path string }{
		{"GET", "/scim/v2/Users"},
		{"POST", "/scim/v2/Users"},
		{"GET", "/scim/v2/ServiceProviderConfig"},
	} {
		var body any
		if tc.method == "POST" {
			body = map[string]any{"schemas": []string{scim.UserSchema}, "userName": "eve@example.com"}
		}
		a := b.do(tc.method, tc.path, body, csrfHeader, b.csrf)
		wantStatus(t, tc.method+" "+tc.path+" with a session", a, http.StatusUnauthorized)
	}
	after, auditAfter := f.snapshot()
	if after != before || len(auditAfter) != len(auditBefore) {
		t.Errorf("a refused SCIM call changed the store or the audit trail")
	}
	a := b.do("GET", "/scim/v2/Users", nil, "Authorization", "Bearer "+testToken)
	wantStatus(t, "SCIM with the API token", a, http.StatusOK)
}
