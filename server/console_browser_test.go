package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/demo"
	"github.com/holdfast/holdfast/server"
	"github.com/holdfast/holdfast/setup"
	"github.com/holdfast/holdfast/storage/sqlstore"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// The web console tested as a person uses it: Debian's Chromium, headless,
// against the real server (real engine, SQLite, demo data) on loopback.

const consolePassword = "Console test password 1!"

// startConsoleServer serves the demo account on 127.0.0.1 and returns the
// base URL.
func startConsoleServer(t *testing.T) string {
	t.Helper()
	base, _, _ := startConsoleDemo(t)
	return base
}

// startConsoleDemo is startConsoleServer that also returns the engine and
// the store behind it.
func startConsoleDemo(t *testing.T) (string, *authz.Engine, *sqlstore.Store) {
	t.Helper()
	ctx := context.Background()
	store := newStore(t).(*sqlstore.Store)
	engine, err := authz.New(ctx, authz.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Load(ctx, store, engine, setup.BootstrapOptions{AdminPassword: consolePassword}); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: store, Engine: engine, Auth: server.AuthOptions{Enabled: true},
		Audit: newAudit(t, store)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String(), engine, store
}

// chromiumPath finds Debian's chromium; without it the test skips (fails
// in CI, where HOLDFAST_TEST_REQUIRE names chromium).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	storagetest.SkipOrFail(t, "chromium", "no chromium on PATH (apt-get install chromium)")
	return ""
}

// browserTab is one headless Chromium tab with a fresh profile.
type browserTab struct {
	t    *testing.T
	ctx  context.Context
	base string
	axe  string // the axe-core script, read at the first check
}

func newBrowserTab(t *testing.T, base string) *browserTab {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b := &browserTab{t: t, ctx: ctx, base: base}
	// The first action starts the browser, on a context without deadline.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

// fail saves a screenshot of the page and stops the test.
func (b *browserTab) fail(format string, args ...any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		name := filepath.Join(os.TempDir(), "holdfast-console-"+strings.ReplaceAll(b.t.Name(), "/", "_")+".png")
		if os.WriteFile(name, png, 0o644) == nil {
			b.t.Logf("screenshot: %s", name)
		}
	}
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		b.t.Logf("page: %s", loc)
	}
	b.t.Fatalf(format, args...)
}

// do runs steps with a time limit.
func (b *browserTab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%s: %v", what, err)
	}
}

// waitJS waits until the JavaScript expression is true.
func (b *browserTab) waitJS(what, expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(40*time.Second))); err != nil {
		b.fail("%s: waiting for %s: %v", what, expr, err)
	}
}

// clickJS waits for the element of a CSS selector, enabled, and clicks it
// in the page: the element is looked up at the moment of the click, so a
// list re-rendered meanwhile cannot leave the click on a stale node.
func (b *browserTab) clickJS(what, selector string) {
	b.t.Helper()
	sel, _ := json.Marshal(selector)
	b.waitJS(what, `(() => { const el = document.querySelector(`+string(sel)+`); if (!el || el.disabled) return false; el.click(); return true; })()`)
}

// evalJS returns the value of a JavaScript expression.
func evalJS[T any](b *browserTab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.fail("evaluate %s: %v", expr, err)
	}
	return v
}

func (b *browserTab) location() *url.URL {
	b.t.Helper()
	u, err := url.Parse(evalJS[string](b, `location.href`))
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// setValue sets the value of the form control sel and tells the page,
// as typing or choosing would.
func (b *browserTab) setValue(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => {
		const e = document.querySelector(` + js(sel) + `);
		e.value = ` + js(value) + `;
		e.dispatchEvent(new Event('input', {bubbles: true}));
		e.dispatchEvent(new Event('change', {bubbles: true}));
	})()`)
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// signIn fills in and sends the sign-in page's password form, which the
// browser is on.
func (b *browserTab) signIn(email string) {
	b.t.Helper()
	b.do("sign in as "+email,
		chromedp.WaitVisible(chromedp.CSS(`form[action="/auth/login"] #email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), consolePassword),
		chromedp.Click(chromedp.CSS(`form[action="/auth/login"] button[type="submit"]`)),
	)
}

// adminNames is the expression of the names in the administrators table.
const adminNames = `Array.from(document.querySelectorAll('#admins tbody td.name'), (td) => td.textContent)`

func TestConsoleInChromium(t *testing.T) {
	base := startConsoleServer(t)
	b := newBrowserTab(t, base)

	// Without a session, /console sends the browser to the sign-in page,
	// which brings it back after the password.
	b.do("open the console", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	if u := b.location(); u.Path != "/login" || u.Query().Get("return_to") != "/console" {
		t.Fatalf("without a session /console went to %s, want /login?return_to=/console", u)
	}
	b.checkAxe("sign-in page")
	b.signIn("marcus.chen@" + demo.Domain)
	b.do("the administrators page", chromedp.WaitVisible(chromedp.CSS(`#admins tbody tr`)))
	if u := b.location(); u.Path != "/console" {
		t.Fatalf("after sign-in the browser is at %s, want /console", u)
	}
	b.waitJS("who is signed in", `document.getElementById('who').textContent.includes('marcus.chen@')`)
	b.checkAxe("administrators page")

	// The list shows the demo administrators.
	names := evalJS[[]string](b, adminNames)
	for _, want := range []string{"Olivia Bennett", "Marcus Chen", "Sofia Alvarez", "Liam O'Connor"} {
		if !contains(names, want) {
			t.Errorf("administrators %q lack %q", names, want)
		}
	}

	// Filters: by role, by search, by never signed in (Marcus just did).
	b.do("filter by role",
		b.setValue(`select[name="role"]`, "help_desk_admin"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	b.waitJS("only help desk administrators", adminNames+`.join('|') === 'Sofia Alvarez'`)
	b.do("filter by search",
		b.setValue(`select[name="role"]`, ""),
		chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), "kenji"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	b.waitJS("search for kenji", adminNames+`.join('|') === 'Kenji Tanaka'`)
	b.do("filter never signed in",
		b.setValue(`input[name="q"]`, ""),
		chromedp.Click(chromedp.CSS(`input[name="never_logged_in"]`)),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	b.waitJS("never signed in", adminNames+`.includes('Priya Raman') && !`+adminNames+`.includes('Marcus Chen')`)
	b.do("filter last sign-in more than 7 days ago",
		chromedp.Click(chromedp.CSS(`input[name="never_logged_in"]`)),
		b.setValue(`select[name="last_login_before"]`, "7"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	b.waitJS("last sign-in long ago or never", adminNames+`.includes('Priya Raman') && !`+adminNames+`.includes('Marcus Chen')`)
	b.do("filter by product",
		b.setValue(`select[name="last_login_before"]`, ""),
		b.setValue(`select[name="product"]`, "enterprise_workloads"),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	b.waitJS("Enterprise Workloads administrators", adminNames+`.includes('Grace Liu') && `+adminNames+`.includes('Freya Nielsen') && !`+adminNames+`.includes('Marcus Chen') && !`+adminNames+`.includes('Priya Raman')`)
	b.do("clear the filters",
		b.setValue(`select[name="product"]`, ""),
		chromedp.Click(chromedp.CSS(`form[role="search"] button[type="submit"]`)))
	b.waitJS("all again", adminNames+`.includes('Marcus Chen')`)
	before := len(evalJS[[]string](b, adminNames))

	// A bad email: the API's field error stands next to the email field,
	// and nothing is created.
	const hostile = `<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>Zoe Quinn`
	b.do("fill in a new administrator",
		chromedp.Click(chromedp.CSS(`#new-admin`)),
		chromedp.WaitVisible(chromedp.CSS(`#create-admin`)),
		chromedp.SendKeys(chromedp.CSS(`#create-admin [data-field="name"]`), hostile),
		chromedp.SendKeys(chromedp.CSS(`#create-admin [data-field="email"]`), "zoe.quinn-at-example.com"),
		chromedp.SendKeys(chromedp.CSS(`#create-admin [data-field="country"]`), "NZ"),
		chromedp.SendKeys(chromedp.CSS(`#create-admin [data-field="time_zone"]`), "Pacific/Auckland"),
		b.setValue(`#create-admin select[data-field="role"]`, "view_only_admin"),
		chromedp.Click(chromedp.CSS(`#create-admin input[name="all_profiles"]`)),
		chromedp.Click(chromedp.CSS(`#create-admin input[name="all_workloads"]`)),
		chromedp.Click(chromedp.CSS(`#create-admin button[type="submit"]`)))
	b.waitJS("the email's field error", `!!document.querySelector('#create-admin .field-error[data-error-for="email"]')`)
	b.checkAxe("new administrator form with a field error")
	emailError := evalJS[string](b, `(() => {
		const f = document.querySelector('#create-admin [data-field="email"]');
		const p = f.closest('.field').querySelector('.field-error');
		return f.getAttribute('aria-invalid') === 'true' && (f.getAttribute('aria-describedby') || '').includes(p.id) ? p.textContent : '';
	})()`)
	if emailError == "" || strings.Contains(emailError, "<") {
		t.Errorf("email field error = %q, want the API's message next to the field, tied to it with aria-describedby", emailError)
	}
	if n := len(evalJS[[]string](b, adminNames)); n != before {
		t.Errorf("a refused creation changed the list: %d -> %d rows", before, n)
	}

	// Corrected, it is created and listed, its name shown as text.
	b.do("correct the email",
		b.setValue(`#create-admin [data-field="email"]`, "zoe.quinn@example.com"),
		chromedp.Click(chromedp.CSS(`#create-admin button[type="submit"]`)))
	b.waitJS("the new administrator in the list", adminNames+`.includes(`+js(hostile)+`)`)
	b.waitJS("the status", `document.querySelector('[role="status"]').textContent.includes('created')`)
	if got := evalJS[bool](b, `window.pwned === undefined && document.querySelectorAll('main img, main script').length === 0`); !got {
		t.Error("the administrator's name was run as HTML")
	}
	row := evalJS[string](b, `Array.from(document.querySelectorAll('#admins tbody tr')).find((tr) => tr.querySelector('td.email').textContent === 'zoe.quinn@example.com').textContent`)
	if !strings.Contains(row, "View-Only Administrator") && !strings.Contains(row, "View Only") {
		t.Logf("row: %s", row)
	}
	if !strings.Contains(row, "Pacific/Auckland") || !strings.Contains(row, "NZ") || !strings.Contains(row, "Never") {
		t.Errorf("new administrator's row = %q, want country, time zone and never signed in", row)
	}

	// Edit: only what changed is sent, and the list shows it.
	b.do("edit the new administrator",
		chromedp.Click(chromedp.CSS(`button[aria-label="Edit `+strings.ReplaceAll(hostile, `"`, `\"`)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#edit-admin`)),
		b.setValue(`#edit-admin [data-field="time_zone"]`, "Pacific/Chatham"),
		chromedp.Click(chromedp.CSS(`#edit-admin button[type="submit"]`)))
	b.waitJS("the edited row", `!document.querySelector('#edit-admin') && Array.from(document.querySelectorAll('#admins tbody tr')).some((tr) => tr.querySelector('td.email').textContent === 'zoe.quinn@example.com' && tr.textContent.includes('Pacific/Chatham'))`)
	b.do("a bad time zone",
		chromedp.Click(chromedp.CSS(`button[aria-label="Edit `+strings.ReplaceAll(hostile, `"`, `\"`)+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#edit-admin`)),
		b.setValue(`#edit-admin [data-field="time_zone"]`, "Mars/Olympus_Mons"),
		chromedp.Click(chromedp.CSS(`#edit-admin button[type="submit"]`)))
	b.waitJS("the time zone's field error", `!!document.querySelector('#edit-admin [data-field="time_zone"]').closest('.field').querySelector('.field-error')`)
	b.do("cancel the edit", chromedp.Click(chromedp.CSS(`#edit-admin button[type="button"]`)))

	// Scopes are shown by name: Sofia Alvarez's two profiles are ticked.
	b.do("edit a scoped administrator",
		chromedp.Click(chromedp.CSS(`button[aria-label="Edit Sofia Alvarez"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#edit-admin fieldset[data-field="scopes.profiles"]`)))
	ticked := evalJS[[]string](b, `Array.from(document.querySelectorAll('#edit-admin fieldset[data-field="scopes.profiles"] input:checked'), (c) => c.parentElement.textContent.trim()).sort()`)
	if strings.Join(ticked, ",") != "Engineering,Sales" {
		t.Errorf("Sofia Alvarez's profiles ticked: %q, want Engineering and Sales", ticked)
	}
	b.do("cancel", chromedp.Click(chromedp.CSS(`#edit-admin button[type="button"]`)))

	// Delete, confirmed in place.
	b.do("delete an administrator",
		chromedp.Click(chromedp.CSS(`button[aria-label="Delete Kenji Tanaka"]`)),
		chromedp.Click(chromedp.CSS(`#admins button.confirm`)))
	b.waitJS("the administrator gone", `!`+adminNames+`.includes('Kenji Tanaka') && document.querySelector('main [role="status"]').textContent.includes('deleted')`)

	// The session is a cookie the page cannot read; nothing is stored.
	if got := evalJS[bool](b, `localStorage.length === 0 && sessionStorage.length === 0 && !document.cookie.includes('holdfast_session')`); !got {
		t.Error("the console keeps something in web storage, or the session cookie is readable by script")
	}

	// Sign out; the console asks for sign-in again.
	b.do("sign out", chromedp.Click(chromedp.CSS(`#sign-out`)), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	b.do("console after sign-out", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	if u := b.location(); u.Path != "/login" {
		t.Fatalf("after sign-out /console is at %s, want the sign-in page", u)
	}

	// A Help Desk Administrator lands on a page it may use (Users), is
	// offered only the pages the engine allows, and reading an old link to
	// legal holds gets the engine's reason for the refusal.
	b.signIn("sofia.alvarez@" + demo.Domain)
	b.do("console as help desk", chromedp.WaitVisible(chromedp.CSS(`#users tbody tr`)))
	b.waitJS("signed in as sofia", `document.getElementById('who').textContent.includes('sofia.alvarez@')`)
	if h1 := evalJS[string](b, `document.querySelector('main h1').textContent`); h1 != "Users" {
		t.Errorf("help desk lands on %q, want Users", h1)
	}
	nav := evalJS[[]string](b, `Array.from(document.querySelectorAll('nav a'), (a) => a.textContent)`)
	for _, hidden := range []string{"Administrators", "Roles", "Legal holds", "Audit trail", "API tokens"} {
		if contains(nav, hidden) {
			t.Errorf("help desk navigation %q offers %s", nav, hidden)
		}
	}
	for _, shown := range []string{"Users", "Devices", "My account"} {
		if !contains(nav, shown) {
			t.Errorf("help desk navigation %q lacks %s", nav, shown)
		}
	}
	b.do("open legal holds by address", chromedp.Evaluate[chromedp.Void](`location.hash = '#legal-holds'`))
	b.waitJS("the refusal", `!!document.querySelector('main [role="alert"] p') && document.querySelector('main h1').textContent === 'Legal holds'`)
	b.checkAxe("a refused screen")
	refusal := evalJS[string](b, `document.querySelector('main [role="alert"]').textContent`)
	if !strings.Contains(refusal, "Refused") || !strings.Contains(refusal, "Help Desk Administrator cannot view legal holds") {
		t.Errorf("legal holds for help desk shows %q, want the engine's refusal reason", refusal)
	}
	if n := evalJS[int](b, `document.querySelectorAll('#holds').length`); n != 0 {
		t.Errorf("a refused page still shows a holds table")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// rowText is the expression of the text of the row of table whose first
// cell is name ("" when there is none).
func rowText(table, name string) string {
	return `((Array.from(document.querySelectorAll('` + table + ` tbody tr')).find((tr) => tr.cells[0].firstChild && tr.cells[0].firstChild.textContent === ` + js(name) + `) || {}).textContent || '')`
}

func TestConsoleRolesHoldsAndAuditInChromium(t *testing.T) {
	base := startConsoleServer(t)
	b := newBrowserTab(t, base)
	b.do("open the console", chromedp.Navigate(base+"/console"))
	b.signIn("marcus.chen@" + demo.Domain)
	b.do("the administrators page", chromedp.WaitVisible(chromedp.CSS(`#admins tbody tr`)))

	// Roles: predefined and custom, rights by category.
	b.do("open roles", chromedp.Click(chromedp.CSS(`nav a[href="#roles"]`)), chromedp.WaitVisible(chromedp.CSS(`#roles tbody tr`)))
	b.checkAxe("roles page")
	if row := evalJS[string](b, rowText("#roles", "Help Desk Administrator")); !strings.Contains(row, "Predefined") || !strings.Contains(row, "rights") {
		t.Errorf("Help Desk Administrator row = %q", row)
	}
	if row := evalJS[string](b, rowText("#roles", "Backup Operator")); !strings.Contains(row, "Custom") || !strings.Contains(row, "Delete") {
		t.Errorf("Backup Operator row = %q, want a custom role that can be deleted", row)
	}

	// A custom role without a name: the field error is next to the name.
	b.do("new role without a name",
		chromedp.Click(chromedp.CSS(`#new-role`)),
		chromedp.WaitVisible(chromedp.CSS(`#create-role`)),
		b.setValue(`#create-role select[data-field="import_from"]`, "help_desk_admin"),
		chromedp.Click(chromedp.CSS(`#create-role button[type="submit"]`)))
	b.waitJS("the name's field error", `!!document.querySelector('#create-role [data-field="name"]').closest('.field').querySelector('.field-error')`)
	b.checkAxe("new role form with a field error")

	// Imported from Help Desk Administrator, plus a whole category and a
	// single right of another category.
	b.do("create the role",
		chromedp.SendKeys(chromedp.CSS(`#create-role [data-field="name"]`), "Restore Desk"),
		chromedp.Click(chromedp.CSS(`#create-role input[data-category="reporting_alert_management"]`)),
		chromedp.Click(chromedp.CSS(`#create-role input[data-right="profiles.view"]`)))
	if !evalJS[bool](b, `document.querySelector('#create-role input[data-right="reports.schedule"]').disabled`) {
		t.Error("a whole category chosen leaves its single rights to choose")
	}
	b.do("send the role", chromedp.Click(chromedp.CSS(`#create-role button[type="submit"]`)))
	b.waitJS("the new role listed", rowText("#roles", "Restore Desk")+` !== ''`)
	if evalJS[bool](b, `!!document.querySelector('#create-role')`) {
		t.Error("the role form stays after the role was created")
	}
	row := evalJS[string](b, rowText("#roles", "Restore Desk"))
	if !strings.Contains(row, "Custom, from Help Desk Administrator") {
		t.Errorf("new role row = %q, want custom, imported from Help Desk Administrator", row)
	}
	status := evalJS[string](b, `document.querySelector('main [role="status"]').textContent`)
	if !strings.Contains(status, "Role Restore Desk created with") {
		t.Errorf("status after creating a role = %q", status)
	}
	// Its rights, by category: the imported ones, the whole category, the
	// single right.
	rights := evalJS[string](b, `Array.from(document.querySelectorAll('#roles tbody tr')).find((tr) => tr.cells[0].firstChild.textContent === 'Restore Desk').querySelector('details').textContent`)
	for _, want := range []string{"Reporting and Alert Management: View reports, Schedule reports, Manage alerts", "Profile Management: View Profiles", "Manage Restores"} {
		if !strings.Contains(rights, want) {
			t.Errorf("new role's rights %q lack %q", rights, want)
		}
	}
	b.do("delete the role",
		chromedp.Click(chromedp.CSS(`button[aria-label="Delete role Restore Desk"]`)),
		chromedp.Click(chromedp.CSS(`#roles button.confirm`)))
	b.waitJS("the role gone", rowText("#roles", "Restore Desk")+` === '' && document.querySelector('main [role="status"]').textContent.includes('deleted')`)

	// Legal holds: the demo's hold, a new one with custodians.
	b.do("open legal holds", chromedp.Click(chromedp.CSS(`nav a[href="#legal-holds"]`)), chromedp.WaitVisible(chromedp.CSS(`#holds tbody tr`)))
	b.checkAxe("legal holds page")
	if row := evalJS[string](b, rowText("#holds", "Q3 audit")); !strings.Contains(row, "Legal") {
		t.Errorf("Q3 audit row = %q, want type Legal", row)
	}
	custodian := "aarav.patel@" + demo.Domain
	b.do("a hold with a date range but no dates",
		chromedp.Click(chromedp.CSS(`#new-hold`)),
		chromedp.WaitVisible(chromedp.CSS(`#create-hold`)),
		chromedp.SendKeys(chromedp.CSS(`#create-hold [data-field="name"]`), "Console hold"),
		b.setValue(`#create-hold select[data-field="data_access"]`, "date_range"),
		chromedp.Click(chromedp.CSS(`#create-hold button[type="submit"]`)))
	b.waitJS("the date range's field error", `!!document.querySelector('#create-hold fieldset[data-field="date_range"] .field-error')`)
	b.do("create the hold",
		b.setValue(`#create-hold select[data-field="data_access"]`, "all"),
		chromedp.SendKeys(chromedp.CSS(`#create-hold [data-field="custodians"]`), custodian+"\nnobody@example.com"),
		chromedp.Click(chromedp.CSS(`#create-hold button[type="submit"]`)))
	b.waitJS("the new hold listed", rowText("#holds", "Console hold")+` !== ''`)
	status = evalJS[string](b, `document.querySelector('main [role="status"]').textContent`)
	if !strings.Contains(status, "Custodians added: "+custodian) || !strings.Contains(status, "Not users of the account: nobody@example.com") {
		t.Errorf("status after creating a hold = %q", status)
	}

	// Custodians: add one, remove another.
	other := "emma.johansson@" + demo.Domain
	b.do("custodians of the hold",
		chromedp.Click(chromedp.CSS(`button[aria-label="Custodians of Console hold"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#custodians tbody tr`)))
	b.waitJS("the first custodian", rowText("#custodians", custodian)+` !== ''`)
	b.checkAxe("custodians page")
	b.do("add a custodian",
		chromedp.SendKeys(chromedp.CSS(`#add-custodians [data-field="emails"]`), other),
		chromedp.Click(chromedp.CSS(`#add-custodians button[type="submit"]`)))
	b.waitJS("the added custodian", rowText("#custodians", other)+` !== ''`)
	b.do("remove a custodian", chromedp.Click(chromedp.CSS(`button[aria-label="Remove `+custodian+`"]`)))
	b.waitJS("the removed custodian", rowText("#custodians", custodian)+` === '' && `+rowText("#custodians", other)+` !== ''`)

	// WebDAV: the password is shown once, in the answer that made it.
	// The hold list re-renders after the custodian change: click by a
	// fresh query each time, never a node found before the re-render.
	b.clickJS("webdav access", `button[aria-label="WebDAV access to Console hold"]`)
	b.do("webdav access", chromedp.WaitVisible(chromedp.CSS(`#rotate-webdav`)))
	b.clickJS("rotate webdav", `#rotate-webdav`)
	b.waitJS("the password", `!!document.getElementById('webdav-password') && document.getElementById('webdav-password').textContent.length >= 16`)
	b.clickJS("webdav access again", `button[aria-label="WebDAV access to Console hold"]`)
	b.do("webdav access again", chromedp.WaitVisible(chromedp.CSS(`#rotate-webdav`)))
	b.waitJS("the credential's details", `document.querySelector('main .panel dl') && document.querySelector('main .panel dl').textContent.includes('Credentialyes')`)
	if evalJS[bool](b, `!!document.getElementById('webdav-password')`) {
		t.Error("the WebDAV password is shown again")
	}

	// Audit trail: the changes above, and the chain verified.
	b.do("open the audit trail", chromedp.Click(chromedp.CSS(`nav a[href="#audit"]`)), chromedp.WaitVisible(chromedp.CSS(`#audit tbody tr`)))
	b.waitJS("the oldest records first", `document.querySelector('#audit tbody tr').cells[0].textContent === '1'`)
	b.do("filter by action",
		chromedp.SendKeys(chromedp.CSS(`main form[role="search"] input[name="action"]`), "legal_hold.create"),
		chromedp.Click(chromedp.CSS(`main form[role="search"] button[type="submit"]`)))
	b.waitJS("only hold creations", `(() => {
		const rows = Array.from(document.querySelectorAll('#audit tbody tr'));
		return rows.length >= 2 && rows.every((tr) => tr.cells[3].textContent === 'legal_hold.create') &&
			rows[rows.length - 1].cells[2].textContent === 'marcus.chen@`+demo.Domain+`';
	})()`)
	b.do("verify the chain", chromedp.Click(chromedp.CSS(`#verify-audit`)))
	b.waitJS("the verdict", `document.getElementById('audit-verdict').textContent.includes('intact')`)
	b.checkAxe("audit trail page")

	// The session ends under the page (here: its cookie is gone): the next
	// call sends the browser to sign in, and back to the same page after.
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	b.do("roles without a session", chromedp.Click(chromedp.CSS(`nav a[href="#roles"]`)), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	if u := b.location(); u.Path != "/login" || u.Query().Get("return_to") != "/console#roles" {
		t.Fatalf("a call without a session went to %s, want /login?return_to=/console#roles", u)
	}
	b.signIn("marcus.chen@" + demo.Domain)
	b.do("back on roles", chromedp.WaitVisible(chromedp.CSS(`#roles tbody tr`)))
	if u := b.location(); u.Path != "/console" || u.Fragment != "roles" {
		t.Errorf("after signing in again the browser is at %s, want /console#roles", u)
	}
}

// TestSetupAndTokensInChromium: the newcomer's first screens in a real
// browser. The setup link's page sets the platform administrator's
// password (a weak one is refused with the policy's words), sign-in lands
// on the console, and the API tokens screen creates a token (its secret
// shown once), lists it and revokes it after a confirmation.
func TestSetupAndTokensInChromium(t *testing.T) {
	ctx := context.Background()
	store := newStore(t).(*sqlstore.Store)
	engine, err := authz.New(ctx, authz.Options{Store: store})
	if err != nil {
		t.Fatal(err)
	}
	boot, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Store: store, Engine: engine, Auth: server.AuthOptions{Enabled: true}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	base := "http://" + ln.Addr().String()
	b := newBrowserTab(t, base)

	b.do("open the setup link", chromedp.Navigate(boot.Setup.URL(base)), chromedp.WaitVisible(chromedp.CSS(`#new`)))
	if h1 := evalJS[string](b, `document.querySelector('h1').textContent`); h1 != "Set up Holdfast" {
		t.Errorf("setup page heading %q", h1)
	}
	checkFormLabels(b, "setup page")
	b.do("a weak password",
		chromedp.SendKeys(chromedp.CSS(`#new`), "weakpassword"),
		chromedp.SendKeys(chromedp.CSS(`#repeat`), "weakpassword"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)))
	b.do("a good password",
		chromedp.SendKeys(chromedp.CSS(`#new`), consolePassword),
		chromedp.SendKeys(chromedp.CSS(`#repeat`), consolePassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="status"]`)))
	if u := b.location(); u.Path != "/login" || u.Query().Get("changed") != "1" {
		t.Fatalf("after setting the password the browser is at %s", u)
	}
	// Sign-in from the bare sign-in page lands on the console's first
	// step, TOTP enrolment, and not on a JSON 404.
	b.signIn(setup.DefaultAdminEmail)
	b.do("the enrolment step", chromedp.WaitVisible(chromedp.CSS(`form[action="/auth/mfa/enroll"] #code`)))
	checkFormLabels(b, "enrolment page")
	secret := evalJS[string](b, `document.querySelector('code').textContent`)
	code, err := totp.GenerateCode(secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b.do("enrol", chromedp.SendKeys(chromedp.CSS(`#code`), code), chromedp.Click(chromedp.CSS(`form[action="/auth/mfa/enroll"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console"]`)), chromedp.Click(chromedp.CSS(`a[href="/console"]`)))
	b.do("the console", chromedp.WaitVisible(chromedp.CSS(`nav a[href="#tokens"]`)))
	if u := b.location(); u.Path != "/console" {
		t.Fatalf("after sign-in the browser is at %s, want /console", u)
	}

	// API tokens: a bad expiry is refused next to its field.
	b.do("open API tokens", chromedp.Click(chromedp.CSS(`nav a[href="#tokens"]`)), chromedp.WaitVisible(chromedp.CSS(`#create-token`)))
	b.waitJS("the empty list", `document.querySelector('#tokens caption') && document.querySelector('#tokens caption').textContent === '0 tokens'`)
	checkFormLabels(b, "tokens screen")
	b.do("a token with a bad expiry",
		chromedp.SendKeys(chromedp.CSS(`#create-token [data-field="name"]`), "build server"),
		b.setValue(`#create-token [data-field="expires_in_days"]`, "99999"),
		chromedp.Click(chromedp.CSS(`#create-token button[type="submit"]`)))
	b.waitJS("the expiry's field error", `!!document.querySelector('#create-token .field-error[data-error-for="expires_in_days"]')`)
	b.do("a good token",
		b.setValue(`#create-token [data-field="expires_in_days"]`, "30"),
		chromedp.Click(chromedp.CSS(`#create-token button[type="submit"]`)))
	b.waitJS("the secret, once", `!!document.getElementById('new-token-secret') && document.getElementById('new-token-secret').textContent.startsWith('hf_')`)
	b.waitJS("the token listed", rowText("#tokens", "build server")+`.includes('Active')`)
	tokenSecret := evalJS[string](b, `document.getElementById('new-token-secret').textContent`)
	req, _ := http.NewRequest("GET", base+"/api/v1/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+tokenSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the API with the token made in the console: %d", resp.StatusCode)
	}
	b.do("reload the screen", chromedp.Click(chromedp.CSS(`nav a[href="#audit"]`)), chromedp.Click(chromedp.CSS(`nav a[href="#tokens"]`)))
	b.waitJS("the token listed again", rowText("#tokens", "build server")+` !== ''`)
	if evalJS[bool](b, `!!document.getElementById('new-token-secret') || document.body.textContent.includes(`+js(tokenSecret)+`)`) {
		t.Error("the token's secret is shown again")
	}
	b.do("revoke it",
		chromedp.Click(chromedp.CSS(`button[aria-label="Revoke token build server"]`)),
		chromedp.Click(chromedp.CSS(`#tokens button.confirm`)))
	b.waitJS("revoked", rowText("#tokens", "build server")+`.includes('Revoked') && document.querySelector('main [role="status"]').textContent.includes('revoked')`)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a revoked token still works: %d", resp.StatusCode)
	}
}

// checkFormLabels fails when a visible form control of the page has no
// accessible name (a label, aria-label or aria-labelledby).
func checkFormLabels(b *browserTab, what string) {
	b.t.Helper()
	b.checkAxe(what)
	unlabelled := evalJS[[]string](b, `Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea'))
		.filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
		.map((e) => e.name || e.id || e.outerHTML)`)
	if len(unlabelled) > 0 {
		b.t.Errorf("%s: controls without a label: %q", what, unlabelled)
	}
	if evalJS[string](b, `document.documentElement.lang`) != "en" || evalJS[int](b, `document.querySelectorAll('h1').length`) != 1 {
		b.t.Errorf("%s: want lang=en and one h1", what)
	}
}

// axeEnv names the axe-core script (axe.min.js) the browser tests run on
// every screen; .ci/run installs a pinned version and sets it.
const axeEnv = "HOLDFAST_TEST_AXE"

// axeSource reads the axe-core script; without it the test skips (fails in
// CI, where HOLDFAST_TEST_REQUIRE names axe).
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv(axeEnv)
	if path == "" {
		storagetest.SkipOrFail(t, "axe", axeEnv+" is not set (npm install axe-core; point it at axe.min.js)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		storagetest.SkipOrFail(t, "axe", err.Error())
	}
	return string(b)
}

// checkAxe runs axe-core on the page as it is now and fails the test on
// any violation, naming the rule and the elements.
func (b *browserTab) checkAxe(what string) {
	b.t.Helper()
	for _, v := range b.axeViolations(what) {
		b.t.Errorf("%s: accessibility violation: %s", what, v)
	}
}

// axeViolations runs axe-core on the page as it is now and returns its
// violations, each as "rule (impact): help: elements".
func (b *browserTab) axeViolations(what string) []string {
	b.t.Helper()
	if b.axe == "" {
		b.axe = axeSource(b.t)
	}
	ctx, cancel := context.WithTimeout(b.ctx, 45*time.Second)
	defer cancel()
	// DevTools evaluation is not bound by the page's CSP, so the script
	// runs in the page as it is served.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof axe === 'object' || (() => { `+b.axe+`; return true })()`)); err != nil {
		b.fail("%s: load axe-core: %v", what, err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ['violations']}).then((r) =>
		r.violations.map((v) => v.id + ' (' + v.impact + '): ' + v.help + ': ' + v.nodes.map((n) => n.target.join(' ')).join(', ')))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("%s: run axe-core: %v", what, err)
	}
	return found
}

// TestAxeCheckInChromium: the accessibility check the browser tests run
// finds a violation when a page has one (an image without a text
// alternative), so its silence on the console's pages means something.
func TestAxeCheckInChromium(t *testing.T) {
	base := startConsoleServer(t)
	b := newBrowserTab(t, base)
	b.do("open the sign-in page", chromedp.Navigate(base+"/login"), chromedp.WaitVisible(chromedp.CSS(`#password`)))
	if v := b.axeViolations("sign-in page"); len(v) != 0 {
		t.Errorf("sign-in page: violations %q", v)
	}
	b.do("break the page", chromedp.Evaluate[chromedp.Void](`document.querySelector('main').appendChild(document.createElement('img'))`))
	v := b.axeViolations("sign-in page with an image without alt")
	if len(v) == 0 || !strings.HasPrefix(v[0], "image-alt") {
		t.Errorf("violations %q, want image-alt", v)
	}
}
