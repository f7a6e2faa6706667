package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-vcard"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
)

// testItem is one item to back up.
type testItem struct {
	path, folder, contentType string
	data                      []byte
	created, modified         time.Time
}

// ingest backs items up as one snapshot, as a client does.
func ingest(tb testing.TB, s *storage.Store, account, user string, src storage.Source, device string, at time.Time, items []testItem) storage.Snapshot {
	tb.Helper()
	ctx := context.Background()
	key, err := s.ChunkerKey(ctx, account)
	if err != nil {
		tb.Fatal(err)
	}
	c := storage.NewChunker(key)
	var its []storage.Item
	for _, ti := range items {
		it := storage.Item{Path: ti.path, Folder: ti.folder, ContentType: ti.contentType, Size: int64(len(ti.data)), Created: ti.created, Modified: ti.modified}
		err := c.Split(bytes.NewReader(ti.data), func(ref holdfast.ChunkRef, data []byte) error {
			it.Chunks = append(it.Chunks, ref)
			return s.PutChunk(ctx, account, ref, data)
		})
		if err != nil {
			tb.Fatal(err)
		}
		its = append(its, it)
	}
	snap, err := s.CommitSnapshot(ctx, storage.Snapshot{AccountID: account, UserID: user, Source: src, Device: device, Time: at, Items: its})
	if err != nil {
		tb.Fatal(err)
	}
	return snap
}

// davFixture is a real server with a dedup store, one custodian with
// files, mail, an event and a contact, and a hold with a credential.
type davFixture struct {
	realFixture
	data       *storage.Store
	url        string // base URL of the httptest server
	hold, user string
	userName   string
	password   string
	files      map[string][]byte // path under the hold -> bytes served
}

// RFC 5322 appendix A.1.1, with CRLF.
const simpleMessage = "From: John Doe <jdoe@machine.example>\r\nTo: Mary Smith <mary@example.net>\r\nSubject: Saying Hello\r\nDate: Fri, 21 Nov 1997 09:55:06 -0600\r\nMessage-ID: <1234@local.machine.example>\r\n\r\nThis is a message just to say hello.\r\nSo, \"Hello\".\r\n"

func newDAVFixture(t testing.TB) *davFixture {
	t.Helper()
	rf := newRealFixture(t)
	blobs, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := storage.Open(context.Background(), blobs, storage.Options{MasterKey: storage.GenerateMasterKey()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { data.Close() })
	// The server builds its export over Data, as holdfast serve does.
	srv, err := New(Options{Store: rf.store, Engine: rf.srv.engine, Logger: rf.srv.log, Data: data})
	if err != nil {
		t.Fatal(err)
	}
	rf.srv, rf.handler = srv, srv.Handler()
	ts := httptest.NewServer(rf.handler)
	t.Cleanup(ts.Close)
	f := &davFixture{realFixture: rf, data: data, url: ts.URL, files: map[string][]byte{}}
	u := f.mustCreate("/api/v1/users", map[string]any{"email": "ann@example.com", "name": "Ann"}, http.StatusCreated)
	f.user = u["id"].(string)
	acct := f.account.ID
	jan := time.Date(2026, 1, 15, 10, 0, 0, 0, time.UTC)
	big := bytes.Repeat([]byte("held data "), 300_000) // several chunks
	ingest(t, data, acct, f.user, storage.SourceDevice, "laptop", jan, []testItem{
		{path: "docs/report.txt", data: []byte("Q3 report\n"), modified: jan},
		{path: "docs/big.bin", data: big, modified: jan},
		{path: "=cmd.txt", data: []byte("formula name\n"), modified: jan},
	})
	ingest(t, data, acct, f.user, storage.SourceMail, "Exchange Online", jan, []testItem{
		{path: "Inbox/msg-1", contentType: storage.ContentTypeMail, data: []byte(simpleMessage), created: time.Date(2026, 1, 10, 8, 0, 0, 0, time.UTC)},
	})
	ev, _ := json.Marshal(storage.Event{UID: "ev-1@example.com", Summary: "Board meeting; Q3, review\r\nEND:VEVENT\r\nBEGIN:VTODO", Start: jan, End: jan.Add(time.Hour),
		Organizer: &storage.Person{Name: `Ann "Boss" Lee`, Email: "ann@example.com"}, Attendees: []storage.Person{{Name: "Bob", Email: "bob@example.com", Status: "accepted"}},
		Description: strings.Repeat("Long description with ünïcödé ", 10), Modified: jan})
	ingest(t, data, acct, f.user, storage.SourceCalendar, "Exchange Online", jan, []testItem{
		{path: "Calendar/ev-1", folder: "Calendar", contentType: storage.ContentTypeEvent, data: ev, modified: jan},
	})
	ct, _ := json.Marshal(storage.Contact{UID: "c-1", DisplayName: "Lee, Ann;\r\nEND:VCARD", GivenName: "Ann", Surname: "Lee;X",
		Emails: []storage.Labeled{{Label: "work", Value: "ann@example.com"}}, Organization: "Acme, Inc.", Notes: "line1\nline2", Modified: jan})
	ingest(t, data, acct, f.user, storage.SourceContacts, "Exchange Online", jan, []testItem{
		{path: "Contacts/c-1", contentType: storage.ContentTypeContact, data: ct, modified: jan},
	})
	h := f.mustCreate("/api/v1/legal-holds", map[string]any{"name": "Case", "custodians": []string{"ann@example.com"}}, http.StatusCreated)
	f.hold = h["id"].(string)
	cred := f.mustCreate("/api/v1/legal-holds/"+f.hold+"/webdav", nil, http.StatusCreated)
	f.userName, f.password = cred["user_name"].(string), cred["password"].(string)
	f.files["ann@example.com/laptop/docs/report.txt"] = []byte("Q3 report\n")
	f.files["ann@example.com/laptop/docs/big.bin"] = big
	f.files["ann@example.com/laptop/=cmd.txt"] = []byte("formula name\n")
	f.files["ann@example.com/Mail/2026/01/10/msg-1.eml"] = []byte(simpleMessage)
	return f
}

// dav sends a WebDAV request with the hold's credential (or user, pass).
func (f *davFixture) dav(t *testing.T, method, p string, header map[string]string, auth ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, f.url+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	user, pass := f.userName, f.password
	if len(auth) == 2 {
		user, pass = auth[0], auth[1]
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func body(t *testing.T, res *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDAVServesHeldData(t *testing.T) {
	f := newDAVFixture(t)
	base := "/dav/holds/" + f.hold + "/"
	for p, want := range f.files {
		res := f.dav(t, "GET", base+p, nil)
		if got := body(t, res); res.StatusCode != 200 || !bytes.Equal(got, want) {
			t.Errorf("GET %s: %d, %d bytes, want %d identical bytes", p, res.StatusCode, len(got), len(want))
		}
		if res.Header.Get("ETag") == "" || res.Header.Get("Last-Modified") == "" {
			t.Errorf("GET %s: no ETag or Last-Modified", p)
		}
	}
	// Range and If-None-Match.
	p := base + "ann@example.com/laptop/docs/big.bin"
	res := f.dav(t, "GET", p, map[string]string{"Range": "bytes=1999990-2000009"})
	if got := body(t, res); res.StatusCode != http.StatusPartialContent || string(got) != string(f.files["ann@example.com/laptop/docs/big.bin"][1999990:2000010]) {
		t.Errorf("Range: %d %q", res.StatusCode, got)
	}
	etag := res.Header.Get("ETag")
	if res := f.dav(t, "GET", p, map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d", res.StatusCode)
	}
	if res := f.dav(t, "GET", p, map[string]string{"Range": "bytes=9999999-"}); res.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("unsatisfiable range: %d", res.StatusCode)
	}

	// PROPFIND: depth 1 lists the custodian, depth infinity is refused.
	res = f.dav(t, "PROPFIND", base, map[string]string{"Depth": "1"})
	if got := string(body(t, res)); res.StatusCode != 207 || !strings.Contains(got, base+"ann%40example.com/") {
		t.Errorf("PROPFIND depth 1: %d %s", res.StatusCode, got)
	}
	res = f.dav(t, "PROPFIND", base+"ann@example.com/", map[string]string{"Depth": "1"})
	if got := string(body(t, res)); res.StatusCode != 207 || !strings.Contains(got, "manifest.csv") || !strings.Contains(got, "/Calendar/") {
		t.Errorf("PROPFIND custodian: %d %s", res.StatusCode, got)
	}
	for _, d := range []string{"infinity", ""} {
		res = f.dav(t, "PROPFIND", base, map[string]string{"Depth": d})
		if got := string(body(t, res)); res.StatusCode != 403 || !strings.Contains(got, "propfind-finite-depth") {
			t.Errorf("PROPFIND depth %q: %d %s", d, res.StatusCode, got)
		}
	}
	// Writes are refused and change nothing.
	for _, m := range []string{"PUT", "DELETE", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "PROPPATCH", "POST"} {
		if res := f.dav(t, m, base+"ann@example.com/laptop/docs/report.txt", nil); res.StatusCode != 403 {
			t.Errorf("%s: %d, want 403", m, res.StatusCode)
		}
	}
	res = f.dav(t, "OPTIONS", base, nil)
	if res.StatusCode != 200 || res.Header.Get("Allow") != davAllow || res.Header.Get("DAV") != "1" {
		t.Errorf("OPTIONS: %d %v", res.StatusCode, res.Header)
	}

	// .ics and .vcf parse back, and item text injected nothing.
	res = f.dav(t, "GET", base+"ann@example.com/Calendar/Calendar/ev-1@example.com.ics", nil)
	ics := body(t, res)
	cal, err := ical.NewDecoder(bytes.NewReader(ics)).Decode()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("ics: %d %v\n%s", res.StatusCode, err, ics)
	}
	if len(cal.Children) != 1 || cal.Children[0].Name != "VEVENT" || !strings.HasPrefix(summary(t, cal), "Board meeting; Q3, review\nEND:VEVENT") {
		t.Errorf("calendar = %+v", cal.Children)
	}
	res = f.dav(t, "GET", base+"ann@example.com/Contacts/c-1.vcf", nil)
	vcf := body(t, res)
	card, err := vcard.NewDecoder(bytes.NewReader(vcf)).Decode()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("vcf: %d %v\n%s", res.StatusCode, err, vcf)
	}
	// go-vcard's decoder leaves \; escaped; the value stayed one value.
	if fn := card.Value(vcard.FieldFormattedName); !strings.HasPrefix(fn, "Lee, Ann") || !strings.Contains(fn, "END:VCARD") || card.Value(vcard.FieldUID) != "c-1" {
		t.Errorf("card = %v\n%s", card, vcf)
	}
	for _, b := range [][]byte{ics, vcf} {
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n") {
			if len(line) > 75 || strings.ContainsAny(line, "\r\n") {
				t.Errorf("line %q is over 75 octets or holds a bare CR/LF", line)
			}
		}
	}

	// The manifest names every file with its SHA-256; formula cells are data.
	res = f.dav(t, "GET", base+"ann@example.com/manifest.csv", nil)
	man := string(body(t, res))
	for p, want := range f.files {
		sum := sha256.Sum256(want)
		rel := strings.TrimPrefix(p, "ann@example.com")
		if strings.HasPrefix(rel, "/laptop/=") {
			rel = "/laptop/=cmd.txt" // starts with /, so not neutralized
		}
		if !strings.Contains(man, rel+","+fmt.Sprint(len(want))+","+hex.EncodeToString(sum[:])) {
			t.Errorf("manifest lacks %s:\n%s", rel, man)
		}
	}
}

func TestDAVAuthentication(t *testing.T) {
	f := newDAVFixture(t)
	base := "/dav/holds/" + f.hold + "/"
	file := base + "ann@example.com/laptop/docs/report.txt"
	for _, tt := range []struct {
		name, user, pass string
	}{
		{"no credentials", "", ""},
		{"wrong password", f.userName, f.password + "x"},
		{"unknown user", "lh-0000000000000000", f.password},
		{"token as hold password", f.userName, testToken},
		{"email with a wrong token", "root@example.com", "hf_wrong"},
		{"token with another email", "ann@example.com", testToken},
	} {
		res := f.dav(t, "GET", file, nil, tt.user, tt.pass)
		b := string(body(t, res))
		if res.StatusCode != 401 || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic") || strings.Contains(b, "Q3") {
			t.Errorf("%s: %d %q", tt.name, res.StatusCode, b)
		}
	}
	// The platform administrator's API token opens the hold too.
	if res := f.dav(t, "GET", file, nil, "root@example.com", testToken); res.StatusCode != 200 {
		t.Errorf("admin token: %d", res.StatusCode)
	}
	// A Legal Administrator's API token is not a WebDAV credential (only
	// Cloud Administrators' are, W17); nor is a cloud administrator's token
	// for a hold the engine does not let them view.
	f.mustCreate("/api/v1/administrators", map[string]any{"name": "Lena", "email": "lena@example.com", "role": "legal_admin",
		"scopes": map[string]any{"all_legal_hold_types": true, "all_profiles": true, "all_workloads": true}}, http.StatusCreated)
	lena := strings.TrimPrefix(f.tokenFor("lena@example.com"), "Bearer ")
	if res := f.dav(t, "GET", file, nil, "lena@example.com", lena); res.StatusCode != 403 {
		t.Errorf("legal admin token: %d, want 403", res.StatusCode)
	}
	// An expired credential is refused like a wrong one.
	past := f.now.Add(-time.Hour)
	as := f.store
	c, err := as.GetHoldCredential(t.Context(), f.account.ID, f.hold)
	if err != nil {
		t.Fatal(err)
	}
	c.ExpiresAt = &past
	if err := as.PutHoldCredential(t.Context(), &c); err != nil {
		t.Fatal(err)
	}
	if res := f.dav(t, "GET", file, nil); res.StatusCode != 401 {
		t.Errorf("expired credential: %d, want 401", res.StatusCode)
	}
	c.ExpiresAt = nil
	if err := as.PutHoldCredential(t.Context(), &c); err != nil {
		t.Fatal(err)
	}

	// The credential opens its hold only; a missing hold looks the same.
	other := f.mustCreate("/api/v1/legal-holds", map[string]any{"name": "Other", "custodians": []string{"ann@example.com"}}, http.StatusCreated)
	r1 := f.dav(t, "GET", "/dav/holds/"+other["id"].(string)+"/ann@example.com/laptop/docs/report.txt", nil)
	r2 := f.dav(t, "GET", "/dav/holds/lh_missing/ann@example.com/laptop/docs/report.txt", nil)
	b1, b2 := body(t, r1), body(t, r2)
	if r1.StatusCode != 403 || r2.StatusCode != 403 || !bytes.Equal(b1, b2) {
		t.Errorf("other hold %d %q, missing hold %d %q: want the same 403", r1.StatusCode, b1, r2.StatusCode, b2)
	}
	// ../ cannot climb into another hold.
	res := f.dav(t, "GET", base+"..%2F"+other["id"].(string)+"/ann@example.com/laptop/docs/report.txt", nil)
	if res.StatusCode == 200 {
		t.Errorf("dot-dot escaped: %d", res.StatusCode)
	}
	// A user removed from the hold is gone from it.
	f.mustCreate("/api/v1/legal-holds/"+f.hold+"/custodians/remove", map[string]any{"emails": []string{"ann@example.com"}}, http.StatusOK)
	if res := f.dav(t, "GET", file, nil); res.StatusCode != 404 {
		t.Errorf("after removal: %d", res.StatusCode)
	}
	// Revoked: 401.
	if w := f.do("DELETE", "/api/v1/legal-holds/"+f.hold+"/webdav", nil); w.Code != 204 {
		t.Fatal(w.Code)
	}
	if res := f.dav(t, "PROPFIND", base, map[string]string{"Depth": "0"}); res.StatusCode != 401 {
		t.Errorf("revoked: %d", res.StatusCode)
	}
}

func summary(t *testing.T, cal *ical.Calendar) string {
	t.Helper()
	s, err := cal.Children[0].Props.Text(ical.PropSummary)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDAVCalendarViewsAreReadOnly(t *testing.T) {
	f := newDAVFixture(t)
	base := "/dav/holds/" + f.hold
	obj := base + "/caldav/counsel/calendars/ann@example.com/ev-1@example.com.ics"
	res := f.dav(t, "GET", obj, nil)
	b := body(t, res)
	if res.StatusCode != 200 || !bytes.Contains(b, []byte("UID:ev-1@example.com")) {
		t.Fatalf("GET calendar object: %d %s", res.StatusCode, b)
	}
	// The object is the .ics file of the tree, byte for byte, with its ETag.
	file := f.dav(t, "GET", base+"/ann@example.com/Calendar/Calendar/ev-1@example.com.ics", nil)
	if fb := body(t, file); !bytes.Equal(fb, b) || file.Header.Get("ETag") != res.Header.Get("ETag") {
		t.Errorf("the CalDAV object differs from the .ics file (ETag %s vs %s)", res.Header.Get("ETag"), file.Header.Get("ETag"))
	}
	card := base + "/carddav/counsel/contacts/ann@example.com/c-1.vcf"
	if res := f.dav(t, "GET", card, nil); res.StatusCode != 200 || !bytes.Contains(body(t, res), []byte("UID:c-1")) {
		t.Errorf("GET address object: %d", res.StatusCode)
	}
	for _, m := range []string{"PUT", "DELETE", "MKCOL", "PROPPATCH", "MKCALENDAR"} {
		if res := f.dav(t, m, obj, nil); res.StatusCode != 403 {
			t.Errorf("%s on the calendar view: %d, want 403", m, res.StatusCode)
		}
	}
	if res := f.dav(t, "REPORT", base+"/ann@example.com/", nil); res.StatusCode != 403 {
		t.Errorf("REPORT on the file tree: %d", res.StatusCode)
	}
	res = f.dav(t, "OPTIONS", base+"/caldav/", nil)
	if !strings.Contains(res.Header.Get("DAV"), "calendar-access") {
		t.Errorf("OPTIONS caldav: DAV %q", res.Header.Get("DAV"))
	}
	// Another custodian's collection does not exist.
	if res := f.dav(t, "GET", base+"/caldav/counsel/calendars/bob@example.com/ev-1@example.com.ics", nil); res.StatusCode != 404 {
		t.Errorf("unknown calendar: %d", res.StatusCode)
	}
}

func TestDAVMalformedPropfind(t *testing.T) {
	f := newDAVFixture(t)
	base := f.url + "/dav/holds/" + f.hold + "/"
	deep := `<propfind xmlns="DAV:">` + strings.Repeat("<p>", 100000) + strings.Repeat("</p>", 100000) + `</propfind>`
	for _, b := range []string{`<propfind xmlns="DAV:"><prop>`, `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:ns1=""><D:prop><ns1:x/></D:prop></D:propfind>`, deep} {
		req, _ := http.NewRequest("PROPFIND", base, strings.NewReader(b))
		req.SetBasicAuth(f.userName, f.password)
		req.Header.Set("Depth", "0")
		req.Header.Set("Content-Type", "application/xml")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("PROPFIND %.80q: %d, want 400", b, res.StatusCode)
		}
	}
	// A body over the limit is refused whole, PROPFIND and REPORT alike.
	big := `<propfind xmlns="DAV:"><prop>` + strings.Repeat("<getetag/>", maxDAVBody/10) + `</prop></propfind>`
	for method, u := range map[string]string{"PROPFIND": base, "REPORT": base + "caldav/"} {
		req, _ := http.NewRequest(method, u, strings.NewReader(big))
		req.SetBasicAuth(f.userName, f.password)
		req.Header.Set("Depth", "0")
		req.Header.Set("Content-Type", "application/xml")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s of %d bytes: %d, want 413", method, len(big), res.StatusCode)
		}
	}
	// HEAD has the headers and no body.
	res := f.dav(t, "HEAD", "/dav/holds/"+f.hold+"/ann@example.com/laptop/docs/report.txt", nil)
	if b := body(t, res); res.StatusCode != 200 || len(b) != 0 || res.ContentLength != int64(len("Q3 report\n")) || res.Header.Get("ETag") == "" {
		t.Errorf("HEAD: %d, %d bytes, length %d", res.StatusCode, len(b), res.ContentLength)
	}
}

// An administrator's API token used as the WebDAV password is held to the
// account's geofence, as it is on the API.
func TestDAVTokenRespectsGeofence(t *testing.T) {
	f := newDAVFixture(t)
	ids := f.store
	srv, err := New(Options{Store: f.store, Engine: f.srv.engine, Logger: f.srv.log, Data: f.data,
		Auth: AuthOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := ids.GetIdentitySettings(ctx, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	st.GeofenceEnabled, st.GeofenceAllowed, st.UpdatedAt = true, []string{"192.0.2.0/24"}, time.Now()
	if err := ids.PutIdentitySettings(ctx, &st); err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	get := func(path, from string, basic bool) int {
		req := httptest.NewRequest("GET", path, nil)
		req.RemoteAddr = from + ":4000"
		if basic {
			req.SetBasicAuth("root@example.com", testToken)
		} else {
			req.Header.Set("Authorization", "Bearer "+testToken)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	file := "/dav/holds/" + f.hold + "/ann@example.com/laptop/docs/report.txt"
	for _, c := range []struct {
		name, path, from string
		basic            bool
		want             int
	}{
		{"API inside", "/api/v1/legal-holds/" + f.hold, "192.0.2.7", false, http.StatusOK},
		{"WebDAV inside", file, "192.0.2.7", true, http.StatusOK},
		{"API outside", "/api/v1/legal-holds/" + f.hold, "203.0.113.9", false, http.StatusForbidden},
		{"WebDAV outside", file, "203.0.113.9", true, http.StatusForbidden},
	} {
		if got := get(c.path, c.from, c.basic); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
