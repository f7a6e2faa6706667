package server_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/pquerna/otp/totp"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/demo"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// consolePages are the console's pages as its navigation lists them, in
// order, with the rights any one of which opens each (none: everyone).
// The test asks the engine itself whether each role may open each page
// and expects the console to offer exactly those.
var consolePages = []struct {
	id, title string
	rights    []string
}{
	{"administrators", "Administrators", []string{"admins.view"}},
	{"roles", "Roles", []string{"admins.view"}},
	{"users", "Users", []string{"users.view"}},
	{"devices", "Devices", []string{"users.view"}},
	{"profiles", "Profiles", []string{"profiles.view"}},
	{"legal-holds", "Legal holds", []string{"legal_holds.view", "legal_holds.create_manage"}},
	{"hold-types", "Legal hold types", []string{"legal_holds.view", "legal_holds.create_manage", "legal_holds.delete", "legal_hold_types.manage"}},
	{"audit", "Audit trail", []string{"admins.view"}},
	{"settings", "Settings", []string{"settings.view"}},
	{"identity-providers", "Identity providers", []string{"account.sso.manage"}},
	{"tokens", "API tokens", []string{"api_tokens.manage"}},
	{"account", "My account", nil},
}

// screenshotDir is where the browser tests write the screenshots of every
// screen: HOLDFAST_TEST_SCREENSHOTS, else a directory under the system's
// temporary directory.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("HOLDFAST_TEST_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "holdfast-console-screens")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// openPages returns the titles of the pages the engine lets email open.
func openPages(t *testing.T, engine *authz.Engine, store *sqlstore.Store, email string) []string {
	t.Helper()
	ctx := context.Background()
	a, err := store.GetAdminByEmail(ctx, email)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range consolePages {
		open := len(p.rights) == 0
		for _, right := range p.rights {
			d, err := engine.Decide(ctx, holdfast.DecisionRequest{AccountID: a.AccountID,
				Subject:  holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: a.ID},
				Action:   holdfast.Action{Name: right},
				Resource: holdfast.Entity{Type: holdfast.ResourceAccount, ID: a.AccountID}})
			if err != nil {
				t.Fatal(err)
			}
			open = open || d.Allow
		}
		if open {
			out = append(out, p.title)
		}
	}
	return out
}

// pageReady is true once the page at main has drawn its content or its
// error.
const pageReady = `(() => {
	const m = document.getElementById('main');
	return !!m && !!m.querySelector('h1') && !!m.querySelector('table caption, form, dl, [role="alert"]:not(:empty)');
})()`

// TestConsoleFrameInChromium: the frame every screen shares. A deep link
// survives sign-in; the skip link moves the focus without leaving the
// page; each of a platform administrator, a Cloud Administrator, a
// type-scoped Legal Administrator, a Help Desk Administrator and a custom
// role lands on a page it may use and is offered exactly the pages the
// engine lets it open; every page it opens draws without an error, passes
// axe-core in light and dark, does not scroll sideways at 390 px, and is
// photographed at 390 and 1440 px.
func TestConsoleFrameInChromium(t *testing.T) {
	base, engine, store := startConsoleDemo(t)
	b := newBrowserTab(t, base)
	shots := screenshotDir(t)
	t.Logf("screenshots: %s", shots)

	// A deep link is kept through sign-in.
	b.do("a deep link without a session", chromedp.Navigate(base+"/console#devices"), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	if u := b.location(); u.Path != "/login" || u.Query().Get("return_to") != "/console#devices" {
		t.Fatalf("the deep link went to %s, want /login?return_to=/console#devices", u)
	}
	b.signIn("marcus.chen@" + demo.Domain)
	b.do("the devices page", chromedp.WaitVisible(chromedp.CSS(`#devices tbody tr`)))
	if u := b.location(); u.Path != "/console" || u.Fragment != "devices" {
		t.Errorf("after sign-in the browser is at %s, want /console#devices", u)
	}

	// The skip link focuses the page's heading and stays on the page.
	b.do("use the skip link", chromedp.Focus(chromedp.CSS(`.skip`)), chromedp.KeyEvent(kb.Enter))
	b.waitJS("the focus on the heading", `document.activeElement === document.querySelector('main h1')`)
	if u := b.location(); u.Fragment != "devices" || evalJS[string](b, `document.querySelector('main h1').textContent`) != "Devices" {
		t.Errorf("the skip link left the page: %s", u)
	}
	// Decommission asks first, then the device stays listed as decommissioned.
	device := evalJS[string](b, `Array.from(document.querySelectorAll('#devices tbody tr')).find((tr) => tr.cells[5].textContent === 'enabled').cells[0].textContent`)
	b.do("decommission "+device, chromedp.Click(chromedp.CSS(`button[aria-label="Decommission `+device+`"]`)))
	b.waitJS("the confirmation", `document.querySelector('#devices button.confirm').textContent === `+js("Yes, decommission "+device))
	b.do("confirm", chromedp.Click(chromedp.CSS(`#devices button.confirm`)))
	b.waitJS("decommissioned", `document.querySelector('main [role="status"]').textContent.includes('decommissioned') && `+
		`Array.from(document.querySelectorAll('#devices tbody tr')).some((tr) => tr.cells[0].textContent === `+js(device)+` && tr.cells[5].textContent === 'decommissioned')`)
	b.do("sign out", chromedp.Click(chromedp.CSS(`#sign-out`)), chromedp.WaitVisible(chromedp.CSS(`#password`)))

	for _, who := range []struct{ name, role, landing string }{
		{"Olivia Bennett", "platform", "Administrators"},
		{"Marcus Chen", "cloud", "Administrators"},
		{"Hannah Okafor", "legal", "Legal holds"},
		{"Sofia Alvarez", "helpdesk", "Users"},
		{"Noah Fischer", "custom", "Users"},
	} {
		email := demo.Email(who.name)
		want := openPages(t, engine, store, email)
		b.do("the sign-in page", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS(`#password`)))
		b.signIn(email)
		b.enrolIfAsked()
		b.waitJS(who.name+" signed in", `!!document.getElementById('who') && document.getElementById('who').textContent.includes(`+js(email)+`) && `+pageReady)
		if h1 := evalJS[string](b, `document.querySelector('main h1').textContent`); h1 != who.landing || want[0] != who.landing {
			t.Errorf("%s lands on %q (the engine's first page %q), want %q", who.name, h1, want[0], who.landing)
		}
		nav := evalJS[[]string](b, `Array.from(document.querySelectorAll('nav a'), (a) => a.textContent)`)
		if strings.Join(nav, "|") != strings.Join(want, "|") {
			t.Errorf("%s is offered %q, the engine allows %q", who.name, nav, want)
		}
		for _, title := range nav {
			b.visitPage(who.name, who.role, title, shots)
		}
		b.do("sign out "+who.name, chromedp.Click(chromedp.CSS(`#sign-out`)), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	}
}

// visitPage opens the page titled title from the navigation and checks
// it at 390 and 1440 px, in light and dark.
func (b *browserTab) visitPage(who, role, title, shots string) {
	b.t.Helper()
	id := ""
	for _, p := range consolePages {
		if p.title == title {
			id = p.id
		}
	}
	what := who + ": " + title
	b.do(what, chromedp.EmulateViewport(1440, 900), chromedp.Click(chromedp.CSS(`nav a[href="#`+id+`"]`)))
	b.waitJS(what, `document.querySelector('main h1').textContent === `+js(title)+` && `+pageReady)
	if alert := evalJS[string](b, `(document.querySelector('main [role="alert"]') || {}).textContent || ''`); alert != "" {
		b.t.Errorf("%s: the page shows an error: %s", what, alert)
	}
	b.checkAxe(what)
	b.screenshot(filepath.Join(shots, role+"-"+id+"-1440.png"))
	b.do(what+" at 390 px", chromedp.EmulateViewport(390, 844))
	b.waitJS(what+" at 390 px", `window.innerWidth === 390`)
	if over := evalJS[int](b, `document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		b.t.Errorf("%s: the page is %d px wider than the 390 px screen", what, over)
	}
	b.screenshot(filepath.Join(shots, role+"-"+id+"-390.png"))
	b.colorScheme("dark")
	b.checkAxe(what + " (dark, 390 px)")
	b.colorScheme("light")
	b.do(what+" back at 1440 px", chromedp.EmulateViewport(1440, 900))
	// On a narrow screen the navigation is behind the Menu button; the
	// next page is chosen at full width.
}

// enrolIfAsked finishes the TOTP enrolment a first sign-in may ask for
// (a platform administrator must use MFA), through the recovery codes
// page, back to the console.
func (b *browserTab) enrolIfAsked() {
	b.t.Helper()
	b.do("after the password", chromedp.WaitVisible(chromedp.CSS(`#who, form[action="/auth/mfa/enroll"] #code`)))
	if evalJS[string](b, `location.pathname`) == "/console" {
		return
	}
	secret := evalJS[string](b, `document.querySelector('code').textContent`)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		b.t.Fatal(err)
	}
	b.do("enrol", chromedp.SendKeys(chromedp.CSS(`#code`), code), chromedp.Click(chromedp.CSS(`form[action="/auth/mfa/enroll"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href^="/console"]`)))
	b.checkAxe("recovery codes page")
	b.do("on to the console", chromedp.Click(chromedp.CSS(`a[href^="/console"]`)), chromedp.WaitVisible(chromedp.CSS(`#who`)))
}

// colorScheme makes the page see prefers-color-scheme as scheme.
func (b *browserTab) colorScheme(scheme string) {
	b.t.Helper()
	_, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
	if err != nil {
		b.fail("prefers-color-scheme %s: %v", scheme, err)
	}
}

// screenshot writes the page's full screenshot to name.
func (b *browserTab) screenshot(name string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.fail("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(name, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// TestConsoleServedCompressed: the page and its files come compressed
// with an ETag that answers 304, and the page is served without a
// session (it holds no data; the script sends the browser to sign in).
func TestConsoleServedCompressed(t *testing.T) {
	base := startConsoleServer(t)
	for _, path := range []string{"/console", "/console/js/app.js", "/console/app.css"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Accept-Encoding", "br")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		tag := resp.Header.Get("ETag")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "br" || tag == "" ||
			!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
			t.Errorf("%s: %d, encoding %q, ETag %q, CSP %q", path, resp.StatusCode, resp.Header.Get("Content-Encoding"), tag, resp.Header.Get("Content-Security-Policy"))
		}
		req.Header.Set("If-None-Match", tag)
		resp, err = http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d, want 304", path, resp.StatusCode)
		}
	}
	resp, err := http.Get(base + "/console/nothing.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown file: %d, want 404", resp.StatusCode)
	}
}

// TestConsoleAuditInChromium: the audit trail as a person reads it. The
// chain's verification shows on arrival; objects appear by name, not
// id; the actor is chosen by name from a picker; a date range in the
// future keeps nothing; the CSV export follows the filters.
func TestConsoleAuditInChromium(t *testing.T) {
	base := startConsoleServer(t)
	b := newBrowserTab(t, base)
	b.do("open the audit trail", chromedp.Navigate(base+"/console#audit"), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	b.signIn("marcus.chen@" + demo.Domain)
	b.do("the trail", chromedp.WaitVisible(chromedp.CSS(`#audit tbody tr`)))
	b.waitJS("the verification", `document.getElementById('audit-verdict').textContent.includes('intact')`)
	b.checkAxe("audit trail")
	objects := `Array.from(document.querySelectorAll('#audit tbody tr'), (tr) => tr.cells[4].textContent)`
	b.do("hold creations", chromedp.SendKeys(chromedp.CSS(`main input[name="action"]`), "legal_hold.create"),
		chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)))
	b.waitJS("a hold by name", objects+`.includes('Legal hold: Q3 audit')`)
	b.do("every action", b.setValue(`main input[name="action"]`, ""))

	olivia := "olivia.bennett@" + demo.Domain
	b.do("choose an actor", chromedp.SendKeys(chromedp.CSS(`main input[name="actor"]`), "Olivia"))
	b.waitJS("the picker's offer", `document.querySelector('main datalist option') && document.querySelector('main datalist option').value.includes(`+js(olivia)+`)`)
	b.do("pick her", b.setValue(`main input[name="actor"]`, "Olivia Bennett <"+olivia+">"),
		chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)))
	actors := `Array.from(document.querySelectorAll('#audit tbody tr'), (tr) => tr.cells[2].textContent)`
	b.waitJS("only her records", actors+`.length > 0 && `+actors+`.every((a) => a === `+js(olivia)+`)`)
	if href := evalJS[string](b, `document.getElementById('audit-export').getAttribute('href')`); !strings.Contains(href, "actor=") {
		t.Errorf("the export link %q does not follow the actor filter", href)
	}
	csv, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`fetch(document.getElementById('audit-export').href).then((r) => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[0], "seq,time,actor_id,actor_email,action") {
		t.Fatalf("export: %q", csv)
	}
	for _, l := range lines[1:] {
		if !strings.Contains(l, olivia) {
			t.Errorf("export row of another actor: %s", l)
		}
	}

	tomorrow := time.Now().AddDate(0, 0, 2).Format("2006-01-02")
	b.do("a range in the future", b.setValue(`main input[name="since"]`, tomorrow),
		chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)))
	b.waitJS("nothing", `document.querySelector('#audit caption').textContent === '0 records'`)
	b.checkAxe("audit trail filtered to nothing")
}
