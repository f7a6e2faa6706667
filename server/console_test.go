package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// TestConsoleSendsTheBrowserToSignIn: the console's page holds no data, so
// it is served without a session (revalidated, never stale); its script
// asks /auth/session and sends a browser without a finished session to
// /login with the whole address to come back to (the browser test follows
// that path, fragment included). The sign-in form brings it back.
func TestConsoleSendsTheBrowserToSignIn(t *testing.T) {
	f := newAuthFixture(t)
	a := f.browser().do("GET", "/console", nil)
	wantStatus(t, "console page without a session", a, http.StatusOK)
	if !strings.Contains(a.body, `<script type="module" src="/console/js/app.js"></script>`) {
		t.Errorf("console page does not load its script module:\n%s", a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("console Content-Type = %q", ct)
	}
	checkConsoleHeaders(t, "/console", a.header)
	if a.header.Get("Cache-Control") != "no-cache" || a.header.Get("ETag") == "" {
		t.Errorf("console page Cache-Control = %q, ETag %q: want revalidation on every use", a.header.Get("Cache-Control"), a.header.Get("ETag"))
	}
	js := f.browser().do("GET", "/console/js/api.js", nil)
	wantStatus(t, "console api module", js, http.StatusOK)
	if !strings.Contains(js.body, "/login?return_to=") {
		t.Errorf("the console's api module does not send a signed-out browser to /login with its address")
	}

	// A session that still owes MFA is not signed in: the API the page
	// asks refuses it.
	b := f.browser()
	nextStep(t, "platform admin password", b.do("POST", "/auth/login", map[string]string{"email": "root@example.com", "password": "Correct horse battery 1"}), "mfa_enroll")
	if got := b.do("GET", "/api/v1/administrators", nil); got.status != http.StatusUnauthorized {
		t.Errorf("API with a pending session: %d, want 401", got.status)
	}

	// The sign-in form brings the browser back to the console.
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	b = f.browser()
	a = b.do("POST", "/auth/login", url.Values{"email": {admin.Email}, "password": {testPassword}, "return_to": {"/console"}})
	wantStatus(t, "form sign-in", a, http.StatusSeeOther)
	if loc := a.header.Get("Location"); loc != "/console" {
		t.Fatalf("sign-in with return_to=/console went to %q", loc)
	}
	wantStatus(t, "console with a session", b.do("GET", "/console", nil), http.StatusOK)
}

// checkConsoleHeaders checks the security headers of a console response.
func checkConsoleHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	directives := map[string]string{}
	for _, d := range strings.Split(csp, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	for name, want := range map[string]string{"default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
		"frame-ancestors": "'none'", "object-src": "'none'", "base-uri": "'none'"} {
		if directives[name] != want {
			t.Errorf("%s: CSP %s = %q, want %q (policy %q)", what, name, directives[name], want, csp)
		}
	}
	if strings.Contains(csp, "unsafe") || strings.Contains(csp, "http") || strings.Contains(csp, "*") {
		t.Errorf("%s: CSP %q allows inline code or another origin", what, csp)
	}
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
		t.Errorf("%s: X-Content-Type-Options %q, X-Frame-Options %q", what, h.Get("X-Content-Type-Options"), h.Get("X-Frame-Options"))
	}
}

func TestConsoleAssets(t *testing.T) {
	f := newAuthFixture(t)
	for path, ct := range map[string]string{"/console/js/app.js": "text/javascript; charset=utf-8", "/console/app.css": "text/css; charset=utf-8"} {
		a := f.browser().do("GET", path, nil)
		wantStatus(t, path, a, http.StatusOK)
		if a.header.Get("Content-Type") != ct || a.body == "" {
			t.Errorf("%s: Content-Type %q, %d bytes", path, a.header.Get("Content-Type"), len(a.body))
		}
		checkConsoleHeaders(t, path, a.header)
	}
	for _, path := range []string{"/console/index.html", "/console/app.js", "/console/js/app.js.map", "/console/js/missing.js", "/console/..%2fconsole.go", "/console/openapi.json"} {
		a := f.browser().do("GET", path, nil)
		if a.status != http.StatusNotFound || !strings.Contains(a.body, `"not_found"`) {
			t.Errorf("GET %s: %d %s, want 404 in the envelope", path, a.status, a.body)
		}
	}
}

// TestSignInFromANoReferrerPage: the sign-in page sends no referrer, so
// Chromium posts its form with Origin: null; Sec-Fetch-Site tells a form
// of this server from another site's.
func TestSignInFromANoReferrerPage(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	form := url.Values{"email": {admin.Email}, "password": {testPassword}, "return_to": {"/console"}}
	a := f.browser().do("POST", "/auth/login", form, "Origin", "null", "Sec-Fetch-Site", "same-origin")
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console" {
		t.Errorf("same-origin form with Origin null: %d %q, want 303 to /console", a.status, a.header.Get("Location"))
	}
	for _, site := range []string{"cross-site", "same-site"} {
		a := f.browser().do("POST", "/auth/login", form, "Origin", "null", "Sec-Fetch-Site", site)
		if a.status == http.StatusSeeOther && a.header.Get("Location") == "/console" {
			t.Errorf("%s form with Origin null signed in", site)
		}
	}
}

// TestBrowsersLandOnTheConsole: a browser at / goes to the console (API
// clients still get the JSON 404), and a sign-in without a return address,
// or with one that leaves this server, lands on the console, never on /.
func TestBrowsersLandOnTheConsole(t *testing.T) {
	f := newAuthFixture(t)
	a := f.browser().do("GET", "/", nil, "Accept", "text/html,application/xhtml+xml")
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console" {
		t.Errorf("GET / from a browser = %d %q, want 303 /console", a.status, a.header.Get("Location"))
	}
	a = f.browser().do("GET", "/", nil, "Accept", "application/json")
	if a.status != http.StatusNotFound || !strings.Contains(a.body, `"not_found"`) {
		t.Errorf("GET / from an API client = %d %s, want the JSON 404", a.status, a.body)
	}
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	for _, ret := range []string{"", "https://evil.example/", "//evil.example/x"} {
		form := url.Values{"email": {admin.Email}, "password": {testPassword}}
		if ret != "" {
			form.Set("return_to", ret)
		}
		a := f.browser().do("POST", "/auth/login", form)
		if a.status != http.StatusSeeOther || a.header.Get("Location") != "/console" {
			t.Errorf("sign-in with return_to %q = %d %q, want 303 /console", ret, a.status, a.header.Get("Location"))
		}
	}
	// A deep link survives sign-in.
	a = f.browser().do("POST", "/auth/login", url.Values{"email": {admin.Email}, "password": {testPassword}, "return_to": {"/console?view=tokens"}})
	if a.header.Get("Location") != "/console?view=tokens" {
		t.Errorf("sign-in with a deep link went to %q", a.header.Get("Location"))
	}
}

// TestSetupPage: the setup page is the accessible password form, posting
// the link's token to the reset endpoint; without a token it says why.
func TestSetupPage(t *testing.T) {
	f := newAuthFixture(t)
	a := f.browser().do("GET", "/setup?token=abc123", nil)
	if a.status != http.StatusOK || a.header.Get("Cache-Control") != "no-store" || a.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("GET /setup = %d, headers %v", a.status, a.header)
	}
	doc, err := html.Parse(strings.NewReader(a.body))
	if err != nil {
		t.Fatal(err)
	}
	var action, token string
	labels := map[string]bool{}
	var inputs []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, at := range n.Attr {
				attr[at.Key] = at.Val
			}
			switch n.Data {
			case "form":
				action = attr["action"]
			case "label":
				labels[attr["for"]] = true
			case "input":
				if attr["name"] == "token" {
					token = attr["value"]
				} else {
					inputs = append(inputs, attr["id"])
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if action != "/auth/password/reset" || token != "abc123" || len(inputs) != 2 {
		t.Fatalf("setup form posts to %q with token %q and fields %v", action, token, inputs)
	}
	for _, id := range inputs {
		if !labels[id] {
			t.Errorf("field %q has no label", id)
		}
	}
	if a := f.browser().do("GET", "/setup", nil); a.status != http.StatusOK || !strings.Contains(a.body, `role="alert"`) {
		t.Errorf("GET /setup without a token = %d, want the page with an alert", a.status)
	}
}
