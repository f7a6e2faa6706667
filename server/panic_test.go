package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/storage"
)

// No request may panic a handler into a 500. TestNoRequestPanics is the
// test for that class: it drives every WebDAV, CalDAV and CardDAV path
// of a hold holding odd but valid data (the converters' corpus: time
// zones, recurrence, alarms, grouped and typed vCard properties, photos,
// a UID that is no file name; and contacts stored before their card was
// kept, one with a typed address, which used to panic the CardDAV view)
// with every method the views serve, then every API route with odd but
// valid ids and bodies, and fails on any 5xx or any panic in the log.

// hrefPattern finds the hrefs of a multistatus answer, whatever the
// namespace prefix.
var hrefPattern = regexp.MustCompile(`<(?:[A-Za-z0-9]+:)?href>([^<]*)</`)

func TestNoRequestPanics(t *testing.T) {
	f := newDAVFixture(t)
	f.heldCorpus(t)
	at := time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)
	legacy, _ := json.Marshal(storage.Contact{UID: "typed-address", DisplayName: "Typed Address", Modified: at,
		Addresses: []storage.Address{{Label: "home", Street: "1 Main St", City: "Town"}, {Label: "WORK, Main", City: "Ünïcode"}},
		Phones:    []storage.Labeled{{Label: "cell", Value: "+1 555 0100"}}, Emails: []storage.Labeled{{Label: "x-other", Value: "a@example.com"}}})
	ingest(t, f.data, f.account.ID, f.user, storage.SourceContacts, "Exchange Online", at, []testItem{
		{path: "Legacy/typed-address", folder: "Legacy", contentType: storage.ContentTypeContact, data: legacy, modified: at},
	})
	base := "/dav/holds/" + f.hold + "/"
	// Walk every view breadth first with PROPFIND depth 1; GET and HEAD
	// every file; REPORT every collection of the calendar views.
	queue := []string{base, base + "caldav/", base + "carddav/"}
	seen := map[string]bool{}
	for len(queue) > 0 && len(seen) < 500 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		res := davDo(t, f, "PROPFIND", p, "1", "")
		for _, m := range hrefPattern.FindAllStringSubmatch(res, -1) {
			href := m[1]
			if u, err := url.Parse(href); err == nil {
				href = u.EscapedPath()
			}
			if !strings.HasPrefix(href, base) || seen[href] {
				continue
			}
			if strings.HasSuffix(href, "/") {
				queue = append(queue, href)
				continue
			}
			seen[href] = true
			for _, m := range []string{"GET", "HEAD", "PROPFIND"} {
				davDo(t, f, m, href, "0", "")
			}
		}
		davDo(t, f, "PROPFIND", p, "0", "")
		if strings.Contains(p, "/caldav/") || strings.Contains(p, "/carddav/") {
			for _, q := range davReports(p, res) {
				davDo(t, f, "REPORT", p, "1", q)
			}
		}
	}
	if len(seen) < 30 {
		t.Errorf("the walk reached %d paths; the views are not being driven", len(seen))
	}
	for _, route := range f.srv.routes {
		driveRoute(t, f, route)
	}
	if logs := f.logs.String(); strings.Contains(logs, "panic") {
		t.Errorf("a handler panicked:\n%s", logs)
	}
}

// davReports are the REPORT bodies clients send to a calendar or address
// book collection: multiget of every object listed, and queries.
func davReports(collection, listing string) []string {
	var hrefs strings.Builder
	for _, m := range hrefPattern.FindAllStringSubmatch(listing, -1) {
		if !strings.HasSuffix(m[1], "/") {
			hrefs.WriteString("<D:href>" + m[1] + "</D:href>")
		}
	}
	if strings.Contains(collection, "/caldav/") {
		return []string{
			`<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop>` + hrefs.String() + `</C:calendar-multiget>`,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20270101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"/></C:comp-filter></C:filter></C:calendar-query>`,
		}
	}
	return []string{
		`<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>` + hrefs.String() + `</C:addressbook-multiget>`,
		`<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><C:filter><C:prop-filter name="ADR"><C:text-match collation="i;unicode-casemap" match-type="contains">Town</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`,
	}
}

// davDo sends one request with the hold's credential, fails on a 5xx, and
// returns the body.
func davDo(t *testing.T, f *davFixture, method, p, depth, body string) string {
	t.Helper()
	req := httptest.NewRequest(method, p, strings.NewReader(body))
	req.SetBasicAuth(f.userName, f.password)
	req.Header.Set("Depth", depth)
	if body != "" {
		req.Header.Set("Content-Type", "application/xml; charset=utf-8")
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, req)
	if w.Code >= 500 {
		t.Errorf("%s %s: %d %s", method, p, w.Code, w.Body)
	}
	return w.Body.String()
}

// oddBodies are valid requests with unusual content: empty, Unicode,
// long, nested, nulls.
var oddBodies = []string{`{}`, `{"name":"Zoë 🎉 ` + strings.Repeat("é", 100) + `","email":"a+b@example.com","description":"x\ny"}`,
	`{"name":null,"custodians":[],"settings":{}}`}

// driveRoute sends a route odd but valid ids and bodies with the
// bootstrap token, and fails on a 5xx.
func driveRoute(t *testing.T, f *davFixture, route string) {
	t.Helper()
	method, pattern, _ := strings.Cut(route, " ")
	pattern = strings.TrimSuffix(pattern, "{$}")
	ids := []string{f.user, f.hold, "ünïcode", strings.Repeat("a", 300), "x y"}
	for _, id := range ids {
		p := regexp.MustCompile(`\{[a-z_]+\.{0,3}\}`).ReplaceAllString(pattern, url.PathEscape(id))
		bodies := []string{""}
		if method == http.MethodPost || method == http.MethodPatch || method == http.MethodPut {
			bodies = oddBodies
		}
		for _, b := range bodies {
			var body any
			if b != "" {
				body = b
			}
			w := f.do(method, p+"?limit=1&cursor=%C3%BF&user_id="+url.QueryEscape(f.user), body)
			if w.Code >= 500 && w.Code != http.StatusServiceUnavailable {
				t.Errorf("%s %s %.60s: %d %s", method, p, b, w.Code, w.Body)
			}
		}
	}
}
