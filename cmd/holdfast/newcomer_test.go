package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// setupLinkRE finds the setup link serve prints.
var setupLinkRE = regexp.MustCompile(`http://\S+/setup\?token=\S+`)

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request: url.Values as a form, anything else as JSON. It
// returns the status, the Location header and the body.
func (b *browser) do(method, path string, body any, out any) (int, string, string) {
	b.t.Helper()
	var r io.Reader
	ct := ""
	switch v := body.(type) {
	case nil:
	case url.Values:
		r, ct = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	default:
		j, _ := json.Marshal(v)
		r, ct = strings.NewReader(string(j)), "application/json"
	}
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.base + path
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		b.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "text/html,application/json")
	if b.csrf != "" {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(raw)
}

// TestNewcomerPath walks the first ten minutes: serve on an empty data
// directory prints the console and a one-time setup link; the link sets a
// password (through the policy) once; sign-in lands on the console after
// TOTP enrolment; the administrator makes an API token and calls the API
// with it.
func TestNewcomerPath(t *testing.T) {
	dir := t.TempDir()
	inst := startServe(t, map[string]string{envDataDir: dir})
	out := inst.stderr.String()
	links := setupLinkRE.FindAllString(out, -1)
	if len(links) != 1 || !strings.Contains(out, "Holdfast console: "+inst.url+"/console") {
		t.Fatalf("serve printed %d setup links and the console URL %v; stderr:\n%s", len(links), strings.Contains(out, inst.url+"/console"), out)
	}
	link := links[0]
	if !strings.HasPrefix(link, inst.url+"/setup?token=") || strings.Contains(out, "Generated password") {
		t.Fatalf("setup link %q, want one under %s and no generated password", link, inst.url)
	}
	if strings.Count(out, strings.TrimPrefix(link, inst.url)) != 1 {
		t.Errorf("the setup link is printed more than once (or logged):\n%s", out)
	}

	b := newBrowser(t, inst.url)
	code, _, page := b.do("GET", link, nil, nil)
	if code != http.StatusOK || !strings.Contains(page, `action="/auth/password/reset"`) || !strings.Contains(page, "Set up Holdfast") {
		t.Fatalf("setup page: %d\n%s", code, page)
	}
	token := strings.TrimPrefix(link, inst.url+"/setup?token=")
	const password = "Newcomer password 1!"
	// The policy applies: a weak password is refused and the link stays usable.
	code, loc, _ := b.do("POST", "/auth/password/reset", url.Values{"token": {token}, "new": {"weakpassword"}, "repeat": {"weakpassword"}}, nil)
	if code != http.StatusSeeOther || !strings.Contains(loc, "error=invalid") {
		t.Fatalf("weak password through the setup link: %d %s, want a refusal", code, loc)
	}
	code, loc, _ = b.do("POST", "/auth/password/reset", url.Values{"token": {token}, "new": {password}, "repeat": {password}}, nil)
	if code != http.StatusSeeOther || loc != "/login?changed=1" {
		t.Fatalf("set password through the setup link: %d %s", code, loc)
	}
	code, loc, _ = b.do("POST", "/auth/password/reset", url.Values{"token": {token}, "new": {"Another password 2!"}, "repeat": {"Another password 2!"}}, nil)
	if code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Fatalf("second use of the setup link: %d %s, want a refusal", code, loc)
	}

	// A browser at / goes to the console, whose page (no data in it) sends
	// a browser without a session to sign in, address and fragment kept
	// (the browser tests follow that part).
	if code, loc, _ := b.do("GET", "/", nil, nil); code != http.StatusSeeOther || loc != "/console" {
		t.Fatalf("GET / = %d %q, want a redirect to /console", code, loc)
	}
	code, _, page = b.do("GET", "/console", nil, nil)
	if code != http.StatusOK || !strings.Contains(page, `src="/console/js/app.js"`) || strings.Contains(page, "admin@holdfast.local") {
		t.Fatalf("GET /console signed out = %d %q", code, page)
	}
	// Signing in without a return address lands on the console too.
	code, loc, _ = b.do("POST", "/auth/login", url.Values{"email": {"admin@holdfast.local"}, "password": {password}}, nil)
	if code != http.StatusSeeOther || loc != "/login?step=mfa_enroll&return_to=%2Fconsole" {
		t.Fatalf("sign-in = %d %q, want the MFA enrolment step", code, loc)
	}
	var enrol struct{ Secret string }
	if code, _, body := b.do("GET", "/auth/mfa/enroll", nil, &enrol); code != http.StatusOK || enrol.Secret == "" {
		t.Fatalf("enrolment: %d %s", code, body)
	}
	otp, err := totp.GenerateCode(enrol.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var step struct {
		Next     string `json:"next"`
		ReturnTo string `json:"return_to"`
	}
	if code, _, body := b.do("POST", "/auth/mfa/enroll", map[string]string{"code": otp}, &step); code != http.StatusOK || step.Next != "done" || step.ReturnTo != "/console" {
		t.Fatalf("enrolment finish: %d %s", code, body)
	}
	if code, _, body := b.do("GET", "/console", nil, nil); code != http.StatusOK || !strings.Contains(body, "<script") {
		t.Fatalf("console after sign-in: %d", code)
	}

	var session struct {
		CSRF string `json:"csrf_token"`
	}
	if code, _, body := b.do("GET", "/auth/session", nil, &session); code != http.StatusOK || session.CSRF == "" {
		t.Fatalf("session: %d %s", code, body)
	}
	b.csrf = session.CSRF
	var created struct {
		ID, Secret string
	}
	if code, _, body := b.do("POST", "/api/v1/tokens", map[string]any{"name": "laptop", "expires_in_days": 30}, &created); code != http.StatusCreated || created.Secret == "" {
		t.Fatalf("create token: %d %s", code, body)
	}
	var list struct {
		Tokens []struct{ ID, Name string }
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/tokens", created.Secret, nil, &list); code != http.StatusOK || len(list.Tokens) != 1 || list.Tokens[0].ID != created.ID {
		t.Fatalf("the API with the new token: %d %s", code, body)
	}

	// Once the password is set, a restart prints no setup link.
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	inst = startServe(t, map[string]string{envDataDir: dir})
	if out := inst.stderr.String(); setupLinkRE.MatchString(out) || !strings.Contains(out, "Holdfast console: ") {
		t.Errorf("restart of a configured directory printed:\n%s", out)
	}
}

// TestSetupLinkRenewedOnRestart: a restart of a directory whose platform
// administrator has no password yet prints a fresh setup link and voids
// the earlier one.
func TestSetupLinkRenewedOnRestart(t *testing.T) {
	dir := t.TempDir()
	inst := startServe(t, map[string]string{envDataDir: dir})
	first := setupLinkRE.FindString(inst.stderr.String())
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	inst = startServe(t, map[string]string{envDataDir: dir})
	second := setupLinkRE.FindString(inst.stderr.String())
	if first == "" || second == "" || first == second {
		t.Fatalf("setup links %q then %q, want two different ones", first, second)
	}
	b := newBrowser(t, inst.url)
	old := first[strings.Index(first, "token=")+len("token="):]
	pw := "Newcomer password 1!"
	if code, loc, _ := b.do("POST", "/auth/password/reset", url.Values{"token": {old}, "new": {pw}, "repeat": {pw}}, nil); code != http.StatusSeeOther || !strings.Contains(loc, "error=") {
		t.Fatalf("the first link after a restart: %d %s, want a refusal", code, loc)
	}
	fresh := second[strings.Index(second, "token=")+len("token="):]
	if code, loc, _ := b.do("POST", "/auth/password/reset", url.Values{"token": {fresh}, "new": {pw}, "repeat": {pw}}, nil); code != http.StatusSeeOther || loc != "/login?changed=1" {
		t.Fatalf("the fresh link: %d %s", code, loc)
	}
}
