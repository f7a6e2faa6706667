package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/egress"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/idp/sso"
	"github.com/holdfast/holdfast/signin"
)

// testPassword meets the administrator password policy.
const testPassword = "Correct-Horse-42"

// fakeMailer records the messages the server sends.
type fakeMailer struct {
	mu   sync.Mutex
	sent []sentMail
	got  chan struct{}
}

type sentMail struct{ to, subject, body string }

func (m *fakeMailer) Send(_ context.Context, msg holdfast.Message) error {
	m.mu.Lock()
	m.sent = append(m.sent, sentMail{strings.Join(msg.To, ","), msg.Subject, msg.Text})
	m.mu.Unlock()
	m.got <- struct{}{}
	return nil
}

// next waits for the next message.
func (m *fakeMailer) next(tb testing.TB) sentMail {
	tb.Helper()
	select {
	case <-m.got:
	case <-time.After(5 * time.Second):
		tb.Fatal("no mail sent")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sent[len(m.sent)-1]
}

// authFixture is a fixture with sign-in on, served over loopback HTTP.
type authFixture struct {
	*fixture
	mail *fakeMailer
	ts   *httptest.Server
	log  *lockedBuffer // the server's log: handlers write it from other goroutines
}

// lockedBuffer is a log buffer safe for concurrent use.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder // guarded by mu
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

func newAuthFixture(tb testing.TB, configure ...func(*fixture, *Options)) *authFixture {
	tb.Helper()
	mail := &fakeMailer{got: make(chan struct{}, 100)}
	log := &lockedBuffer{}
	all := append([]func(*fixture, *Options){func(_ *fixture, o *Options) {
		// Test identity providers listen on 127.0.0.1.
		o.Logger = slog.New(slog.NewJSONHandler(log, nil))
		o.Auth = AuthOptions{Enabled: true, Mailer: mail, Providers: ssoProviders(tb, o, egress.NewClient(egress.Options{AllowPrivate: true}))}
	}}, configure...)
	f := newFixture(tb, all...)
	ts := httptest.NewServer(f.handler)
	tb.Cleanup(ts.Close)
	// The fixture's clock is far from the wall clock; move it to now so
	// that cookies and the clock agree.
	f.now = time.Now().UTC()
	return &authFixture{fixture: f, mail: mail, ts: ts, log: log}
}

// addAdmin creates an active administrator with role and password.
func (f *authFixture) addAdmin(email, role, password string) holdfast.Administrator {
	f.t.Helper()
	a := holdfast.Administrator{AccountID: f.account.ID, Name: email, Email: email, RoleID: role,
		State: holdfast.AdminActive, CreatedAt: f.now, UpdatedAt: f.now}
	if password != "" {
		h, err := idp.HashPassword(password)
		if err != nil {
			f.t.Fatal(err)
		}
		a.PasswordHash = h
	}
	if err := f.store.CreateAdmin(context.Background(), &a); err != nil {
		f.t.Fatal(err)
	}
	return a
}

// browser is a cookie-keeping HTTP client that does not follow
// redirects, so tests see each hop.
type browser struct {
	tb     testing.TB
	base   string
	client *http.Client
	csrf   string
}

func (f *authFixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{tb: f.t, base: f.ts.URL, client: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a answer) json(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal([]byte(a.body), v); err != nil {
		tb.Fatalf("decode %q: %v", a.body, err)
	}
}

// do sends a request; body is JSON unless it is url.Values (a form).
func (b *browser) do(method, path string, body any, header ...string) answer {
	b.tb.Helper()
	var r io.Reader
	ct := ""
	switch v := body.(type) {
	case nil:
	case url.Values:
		r, ct = strings.NewReader(v.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			b.tb.Fatal(err)
		}
		r, ct = strings.NewReader(string(raw)), "application/json"
	}
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.base + path
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		b.tb.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.base)
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// session returns GET /auth/session and remembers the CSRF token.
func (b *browser) session() answer {
	b.tb.Helper()
	a := b.do("GET", "/auth/session", nil)
	if a.status == http.StatusOK {
		var si signin.Info
		a.json(b.tb, &si)
		b.csrf = si.CSRFToken
	}
	return a
}

// wantStatus fails unless a has status.
func wantStatus(tb testing.TB, what string, a answer, status int) {
	tb.Helper()
	if a.status != status {
		tb.Fatalf("%s: status %d, want %d; body %s", what, a.status, status, a.body)
	}
}

// nextStep decodes a sign-in answer and checks its next step.
func nextStep(tb testing.TB, what string, a answer, want string) signInResult {
	tb.Helper()
	wantStatus(tb, what, a, http.StatusOK)
	var res signInResult
	a.json(tb, &res)
	if res.Next != want {
		tb.Fatalf("%s: next %q, want %q", what, res.Next, want)
	}
	return res
}

// signInPlatformAdmin signs the bootstrap administrator in with password
// and TOTP enrolment; it returns the browser and the TOTP secret.
func (f *authFixture) signInPlatformAdmin() (*browser, holdfast.Secret) {
	f.t.Helper()
	f.setPassword(f.admin, testPassword)
	b := f.browser()
	nextStep(f.t, "login", b.do("POST", "/auth/login", map[string]string{"email": f.admin.Email, "password": testPassword}), holdfast.SessionMFAEnroll)
	var e signin.Enrollment
	a := b.do("GET", "/auth/mfa/enroll", nil)
	wantStatus(f.t, "enroll start", a, http.StatusOK)
	a.json(f.t, &e)
	code, err := idp.TOTPCode(holdfast.Secret(e.Secret), f.now)
	if err != nil {
		f.t.Fatal(err)
	}
	res := nextStep(f.t, "enroll finish", b.do("POST", "/auth/mfa/enroll", map[string]string{"code": code}), "done")
	if len(res.RecoveryCodes) != idp.RecoveryCodeCount {
		f.t.Fatalf("recovery codes: %d, want %d", len(res.RecoveryCodes), idp.RecoveryCodeCount)
	}
	wantStatus(f.t, "session", b.session(), http.StatusOK)
	return b, holdfast.Secret(e.Secret)
}

// setPassword stores a password hash for admin directly.
func (f *authFixture) setPassword(a holdfast.Administrator, pw string) {
	f.t.Helper()
	ctx := context.Background()
	cur, err := f.store.GetAdmin(ctx, a.AccountID, a.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	if cur.PasswordHash, err = idp.HashPassword(pw); err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.UpdateAdmin(ctx, &cur); err != nil {
		f.t.Fatal(err)
	}
}

func TestPasswordLoginWithMFAEnrolmentThenCSRFAndTokens(t *testing.T) {
	f := newAuthFixture(t)
	b, secret := f.signInPlatformAdmin()

	// The last login is recorded.
	got, err := f.store.GetAdmin(context.Background(), f.account.ID, f.admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastLoginAt == nil {
		t.Error("LastLoginAt not recorded at sign-in")
	}

	// A change with the cookie but without the CSRF token is refused,
	// and creates nothing.
	a := b.do("POST", "/api/v1/tokens", map[string]any{"name": "ci"})
	wantStatus(t, "create token without CSRF", a, http.StatusForbidden)
	a = b.do("POST", "/api/v1/tokens", map[string]any{"name": "ci"}, csrfHeader, "wrong")
	wantStatus(t, "create token with a wrong CSRF token", a, http.StatusForbidden)
	toks, err := f.store.ListTokens(context.Background(), f.account.ID, f.admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	before := len(toks)

	a = b.do("POST", "/api/v1/tokens", map[string]any{"name": "ci", "expires_in_days": 30}, csrfHeader, b.csrf)
	wantStatus(t, "create token", a, http.StatusCreated)
	var ct createdToken
	a.json(t, &ct)
	if ct.Secret == "" || ct.Prefix == "" || !strings.HasPrefix(ct.Secret, ct.Prefix) {
		t.Fatalf("created token %+v: secret shown once with its prefix", ct)
	}

	// The token works as a Bearer token and as the Basic password.
	api := f.browser()
	wantStatus(t, "bearer", api.do("GET", "/auth/session", nil, "Authorization", "Bearer "+ct.Secret), http.StatusOK)
	req, _ := http.NewRequest("GET", f.ts.URL+"/auth/session", nil)
	req.SetBasicAuth(f.admin.Email, ct.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("basic with the token as password: %d", resp.StatusCode)
	}
	req.SetBasicAuth("someone-else@example.com", ct.Secret)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("basic with another user name: %d, want 401", resp.StatusCode)
	}

	// Listed without the secret, never the hash.
	a = b.do("GET", "/api/v1/tokens", nil)
	wantStatus(t, "list tokens", a, http.StatusOK)
	if strings.Contains(a.body, ct.Secret) || strings.Contains(a.body, "hash") {
		t.Errorf("token list shows the secret or hash: %s", a.body)
	}
	var list struct{ Tokens []holdfast.APIToken }
	a.json(t, &list)
	if len(list.Tokens) != before+1 {
		t.Errorf("list: %d tokens, want %d", len(list.Tokens), before+1)
	}

	// A token cannot mint one that outlives it.
	bearer := []string{"Authorization", "Bearer " + ct.Secret}
	for _, days := range []int{0, 31} {
		a = api.do("POST", "/api/v1/tokens", map[string]any{"name": "longer", "expires_in_days": days}, bearer...)
		wantStatus(t, fmt.Sprintf("token minting a %d-day token", days), a, http.StatusUnprocessableEntity)
		if !strings.Contains(a.body, "expires_in_days") || !strings.Contains(a.body, "when the token making this request expires") {
			t.Errorf("%d days: %s", days, a.body)
		}
	}
	a = api.do("POST", "/api/v1/tokens", map[string]any{"name": "shorter", "expires_in_days": 29}, bearer...)
	wantStatus(t, "token minting a shorter-lived token", a, http.StatusCreated)
	if toks, err := f.store.ListTokens(context.Background(), f.admin.AccountID, f.admin.ID); err != nil || len(toks) != before+2 {
		t.Errorf("tokens after the refusals: %d (%v), want %d", len(toks), err, before+2)
	}

	// Revoked, it stops working.
	wantStatus(t, "revoke", b.do("DELETE", "/api/v1/tokens/"+ct.ID, nil, csrfHeader, b.csrf), http.StatusNoContent)
	wantStatus(t, "bearer after revoke", api.do("GET", "/auth/session", nil, "Authorization", "Bearer "+ct.Secret), http.StatusUnauthorized)
	wantStatus(t, "revoke again", b.do("DELETE", "/api/v1/tokens/"+ct.ID, nil, csrfHeader, b.csrf), http.StatusNotFound)

	// Second sign-in: MFA code, not enrolment; a code is good once.
	b2 := f.browser()
	nextStep(t, "second login", b2.do("POST", "/auth/login", map[string]string{"email": f.admin.Email, "password": testPassword}), holdfast.SessionMFA)
	wantStatus(t, "session owing MFA", b2.do("GET", "/auth/session", nil), http.StatusUnauthorized)
	f.now = f.now.Add(time.Minute) // a fresh time step
	code, _ := idp.TOTPCode(secret, f.now)
	nextStep(t, "mfa", b2.do("POST", "/auth/mfa", map[string]string{"code": code}), "done")
	b3 := f.browser()
	nextStep(t, "third login", b3.do("POST", "/auth/login", map[string]string{"email": f.admin.Email, "password": testPassword}), holdfast.SessionMFA)
	wantStatus(t, "reused MFA code", b3.do("POST", "/auth/mfa", map[string]string{"code": code}), http.StatusUnauthorized)
	wantStatus(t, "session after refused MFA", b3.do("GET", "/auth/session", nil), http.StatusUnauthorized)

	// Logout needs the CSRF token, then ends the session.
	wantStatus(t, "logout without CSRF", b.do("POST", "/auth/logout", nil), http.StatusForbidden)
	wantStatus(t, "logout", b.do("POST", "/auth/logout", nil, csrfHeader, b.csrf), http.StatusNoContent)
	wantStatus(t, "session after logout", b.do("GET", "/auth/session", nil), http.StatusUnauthorized)
}

func TestSessionFixation(t *testing.T) {
	f := newAuthFixture(t)
	f.setPassword(f.admin, testPassword)
	b := f.browser()
	const planted = "attacker-chosen-session-id-0123456789"
	b.setCookie(sessionCookie, planted)
	nextStep(t, "login", b.do("POST", "/auth/login", map[string]string{"email": f.admin.Email, "password": testPassword}), holdfast.SessionMFAEnroll)
	pending := b.cookie(sessionCookie)
	if pending == planted || pending == "" {
		t.Fatalf("session cookie after login = %q: the planted id survived", pending)
	}
	var e signin.Enrollment
	b.do("GET", "/auth/mfa/enroll", nil).json(t, &e)
	code, _ := idp.TOTPCode(holdfast.Secret(e.Secret), f.now)
	nextStep(t, "enroll", b.do("POST", "/auth/mfa/enroll", map[string]string{"code": code}), "done")
	full := b.cookie(sessionCookie)
	if full == pending {
		t.Fatal("the session id did not change after MFA")
	}
	// Neither the planted nor the pre-MFA id authenticates anything.
	for _, id := range []string{planted, pending} {
		o := f.browser()
		o.setCookie(sessionCookie, id)
		wantStatus(t, "old session id", o.do("GET", "/auth/session", nil), http.StatusUnauthorized)
	}
	wantStatus(t, "new session", b.session(), http.StatusOK)
}

func TestSessionTimeouts(t *testing.T) {
	f := newAuthFixture(t)
	b, _ := f.signInPlatformAdmin()
	f.now = f.now.Add(signin.DefaultIdleTimeout + time.Second)
	wantStatus(t, "idle session", b.do("GET", "/auth/session", nil), http.StatusUnauthorized)

	f2 := newAuthFixture(t)
	b, _ = f2.signInPlatformAdmin()
	// Used every 20 minutes, it still ends at the absolute limit.
	start := f2.now
	for f2.now.Sub(start) < signin.DefaultMaxAge-20*time.Minute {
		f2.now = f2.now.Add(20 * time.Minute)
		wantStatus(t, "active session", b.do("GET", "/auth/session", nil), http.StatusOK)
	}
	f2.now = start.Add(signin.DefaultMaxAge)
	wantStatus(t, "session past its absolute limit", b.do("GET", "/auth/session", nil), http.StatusUnauthorized)
}

func TestLockoutAndNoEnumeration(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	b := f.browser()
	unknown := b.do("POST", "/auth/login", map[string]string{"email": "nobody@example.com", "password": testPassword})
	wrong := b.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": "Wrong-Password-1"})
	wantStatus(t, "unknown email", unknown, http.StatusUnauthorized)
	wantStatus(t, "wrong password", wrong, http.StatusUnauthorized)
	if strip(unknown.body) != strip(wrong.body) {
		t.Errorf("unknown email and wrong password answer differently:\n%s\n%s", unknown.body, wrong.body)
	}
	for range idp.MaxFailedLogins - 1 {
		wantStatus(t, "wrong password", b.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": "Wrong-Password-1"}), http.StatusUnauthorized)
	}
	locked := b.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": testPassword})
	wantStatus(t, "right password while locked", locked, http.StatusUnauthorized)
	if strip(locked.body) != strip(unknown.body) {
		t.Errorf("a locked account answers differently from an unknown email:\n%s\n%s", locked.body, unknown.body)
	}
	if b.cookie(sessionCookie) != "" {
		t.Error("a refused login set a session cookie")
	}
	f.now = f.now.Add(idp.LockoutDuration)
	nextStep(t, "after the lockout", b.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": testPassword}), "done")
	wantStatus(t, "session", b.session(), http.StatusOK)
}

// strip removes the request id from an error body.
func strip(body string) string {
	var env errorEnvelope
	if json.Unmarshal([]byte(body), &env) != nil {
		return body
	}
	env.Error.RequestID = ""
	out, _ := json.Marshal(env)
	return string(out)
}

func TestResetLink(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	b := f.browser()
	known := b.do("POST", "/auth/password/forgot", map[string]string{"email": admin.Email})
	m := f.mail.next(t)
	unknown := b.do("POST", "/auth/password/forgot", map[string]string{"email": "nobody@example.com"})
	wantStatus(t, "forgot, known", known, http.StatusAccepted)
	if known.body != unknown.body || unknown.status != known.status {
		t.Errorf("forgot answers differ for known and unknown emails:\n%s\n%s", known.body, unknown.body)
	}
	if m.to != admin.Email {
		t.Fatalf("mail to %q", m.to)
	}
	token := linkToken(t, m.body)

	// A re-sent link voids the first one.
	b.do("POST", "/auth/password/forgot", map[string]string{"email": admin.Email})
	token2 := linkToken(t, f.mail.next(t).body)
	a := b.do("POST", "/auth/password/reset", map[string]string{"token": token, "new": "Another-Secret-7", "repeat": "Another-Secret-7"})
	wantStatus(t, "voided link", a, http.StatusUnprocessableEntity)

	// A password against the policy leaves the link usable.
	a = b.do("POST", "/auth/password/reset", map[string]string{"token": token2, "new": "short", "repeat": "short"})
	wantStatus(t, "weak password", a, http.StatusUnprocessableEntity)
	a = b.do("POST", "/auth/password/reset", map[string]string{"token": token2, "new": testPassword, "repeat": testPassword})
	wantStatus(t, "the current password again", a, http.StatusUnprocessableEntity)
	a = b.do("POST", "/auth/password/reset", map[string]string{"token": token2, "new": "Another-Secret-7", "repeat": "Another-Secret-7"})
	wantStatus(t, "reset", a, http.StatusNoContent)
	a = b.do("POST", "/auth/password/reset", map[string]string{"token": token2, "new": "Third-Secret-99", "repeat": "Third-Secret-99"})
	wantStatus(t, "reused link", a, http.StatusUnprocessableEntity)
	wantStatus(t, "old password", b.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": testPassword}), http.StatusUnauthorized)
	nextStep(t, "new password", b.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": "Another-Secret-7"}), "done")

	// An expired link is refused and changes nothing.
	b.do("POST", "/auth/password/forgot", map[string]string{"email": admin.Email})
	token3 := linkToken(t, f.mail.next(t).body)
	f.now = f.now.Add(signin.LinkValidity + time.Second)
	a = b.do("POST", "/auth/password/reset", map[string]string{"token": token3, "new": "Third-Secret-99", "repeat": "Third-Secret-99"})
	wantStatus(t, "expired link", a, http.StatusUnprocessableEntity)
	nextStep(t, "password unchanged", f.browser().do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": "Another-Secret-7"}), "done")
}

// linkToken picks the secret out of a mailed link.
func linkToken(tb testing.TB, body string) string {
	tb.Helper()
	i := strings.Index(body, "/login?reset=")
	if i < 0 {
		tb.Fatalf("no link in %q", body)
	}
	rest := body[i+len("/login?reset="):]
	if j := strings.IndexAny(rest, " \r\n"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

func TestChangePasswordPolicyAndHistory(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	b := f.browser()
	nextStep(t, "login", b.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": testPassword}), "done")
	b.session()
	change := func(cur, nw, rep string) answer {
		a := b.do("POST", "/auth/password", map[string]string{"current": cur, "new": nw, "repeat": rep}, csrfHeader, b.csrf)
		if a.status == http.StatusNoContent {
			b.session() // a new session id, and CSRF token
		}
		return a
	}
	wantStatus(t, "wrong current", change("Wrong-Current-1", "Brand-New-Pass-1", "Brand-New-Pass-1"), http.StatusUnprocessableEntity)
	if c, _ := f.store.GetCredentials(context.Background(), f.account.ID, admin.ID); c.FailedLogins != 1 {
		t.Errorf("a wrong current password is not counted as a failure: %d", c.FailedLogins)
	}
	wantStatus(t, "no special character", change(testPassword, "BrandNewPass12", "BrandNewPass12"), http.StatusUnprocessableEntity)
	wantStatus(t, "too long", change(testPassword, "Aa1!"+strings.Repeat("x", 61), "Aa1!"+strings.Repeat("x", 61)), http.StatusUnprocessableEntity)
	wantStatus(t, "repeat differs", change(testPassword, "Brand-New-Pass-1", "Brand-New-Pass-2"), http.StatusUnprocessableEntity)
	cur := testPassword
	for i := range 4 {
		nw := "Brand-New-Pass-9" + string(rune('a'+i))
		wantStatus(t, "change", change(cur, nw, nw), http.StatusNoContent)
		cur = nw
	}
	// testPassword is the fifth-last password: still remembered.
	wantStatus(t, "reuse of one of the last five", change(cur, testPassword, testPassword), http.StatusUnprocessableEntity)
	wantStatus(t, "a sixth", change(cur, "Brand-New-Pass-9e", "Brand-New-Pass-9e"), http.StatusNoContent)
	wantStatus(t, "now the sixth-last", change("Brand-New-Pass-9e", testPassword, testPassword), http.StatusNoContent)

	// Expiry: the policy's expiry forces a change at sign-in.
	f.now = f.now.Add(61 * 24 * time.Hour)
	b2 := f.browser()
	nextStep(t, "login with an expired password", b2.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": testPassword}), holdfast.SessionPasswordChange)
	wantStatus(t, "session owing a change", b2.do("GET", "/auth/session", nil), http.StatusUnauthorized)
	nextStep(t, "change expired", b2.do("POST", "/auth/password/expired", map[string]string{"new": "Fresh-Password-9", "repeat": "Fresh-Password-9"}), "done")
	wantStatus(t, "session", b2.session(), http.StatusOK)
}

func TestSSOEnforcementLeavesPasswordsToFailsafeAndLegal(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	acct, err := f.store.GetAccount(ctx, f.account.ID)
	if err != nil {
		t.Fatal(err)
	}
	acct.Settings.SSOEnforced = true
	if err := f.store.UpdateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	cloud := f.addAdmin("cloud@example.com", "cloud_admin", testPassword)
	legal := f.addAdmin("legal@example.com", "legal_admin", testPassword)
	b := f.browser()
	a := b.do("POST", "/auth/login", map[string]string{"email": cloud.Email, "password": testPassword})
	wantStatus(t, "cloud admin with a password under SSO", a, http.StatusForbidden)
	if b.cookie(sessionCookie) != "" {
		t.Error("refused login set a session cookie")
	}
	nextStep(t, "legal admin with a password under SSO", b.do("POST", "/auth/login", map[string]string{"email": legal.Email, "password": testPassword}), "done")
	f.setPassword(f.admin, testPassword)
	nextStep(t, "platform admin (fail-safe) under SSO", f.browser().do("POST", "/auth/login", map[string]string{"email": f.admin.Email, "password": testPassword}), holdfast.SessionMFAEnroll)
	// Nor does a reset link go out to an SSO-only administrator.
	f.browser().do("POST", "/auth/password/forgot", map[string]string{"email": cloud.Email})
	select {
	case <-f.mail.got:
		t.Error("reset link mailed to an administrator who must use SSO")
	case <-time.After(200 * time.Millisecond):
	}
}

func TestLoginCSRFAndOpenRedirect(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	b := f.browser()
	a := b.do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": testPassword}, "Origin", "https://evil.example")
	wantStatus(t, "cross-site login", a, http.StatusForbidden)
	for _, ret := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/%0d%0aSet-Cookie:x=1"} {
		form := url.Values{"email": {admin.Email}, "password": {testPassword}, "return_to": {ret}}
		a := f.browser().do("POST", "/auth/login", form)
		wantStatus(t, "form login", a, http.StatusSeeOther)
		loc := a.header.Get("Location")
		u, err := url.Parse(loc)
		if err != nil || u.Host != "" || u.Scheme != "" || strings.HasPrefix(loc, "//") || strings.Contains(loc, "\\") {
			t.Errorf("return_to %q: redirected to %q", ret, loc)
		}
	}
	form := url.Values{"email": {admin.Email}, "password": {testPassword}, "return_to": {"/api/v1/account"}}
	if loc := f.browser().do("POST", "/auth/login", form).header.Get("Location"); loc != "/api/v1/account" {
		t.Errorf("local return_to: redirected to %q", loc)
	}
}

func TestLoginPage(t *testing.T) {
	f := newAuthFixture(t)
	a := f.browser().do("GET", "/login", nil)
	wantStatus(t, "login page", a, http.StatusOK)
	for _, want := range []string{`<label for="email">`, `<label for="password">`, `action="/auth/login"`, `lang="en"`, "/login?forgot=1"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("login page lacks %s", want)
		}
	}
	if a.header.Get("Content-Security-Policy") == "" || a.header.Get("X-Frame-Options") != "DENY" {
		t.Error("login page without CSP or frame protection")
	}
}

func TestNewAdministratorIsInvited(t *testing.T) {
	f := newAuthFixture(t)
	w := f.do("POST", "/api/v1/administrators", map[string]any{"name": "Sofia", "email": "sofia@example.com",
		"role": "help_desk_admin", "scopes": map[string]any{"all_profiles": true, "all_workloads": true}})
	if w.Code != http.StatusCreated {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	m := f.mail.next(t)
	if m.to != "sofia@example.com" || !strings.Contains(m.subject, "invited") {
		t.Fatalf("mail %+v", m)
	}
	b := f.browser()
	wantStatus(t, "accept the invitation", b.do("POST", "/auth/password/reset", map[string]string{"token": linkToken(t, m.body),
		"new": testPassword, "repeat": testPassword}), http.StatusNoContent)
	nextStep(t, "first sign-in", b.do("POST", "/auth/login", map[string]string{"email": "sofia@example.com", "password": testPassword}), "done")
	// Re-sent, the old link is void.
	var a holdfast.Administrator
	decode(t, w, &a)
	if w := f.do("POST", "/api/v1/administrators/"+a.ID+"/invite", nil); w.Code != http.StatusAccepted {
		t.Fatalf("re-send: %d %s", w.Code, w.Body)
	}
	first := linkToken(t, f.mail.next(t).body)
	if w := f.do("POST", "/api/v1/administrators/"+a.ID+"/invite", nil); w.Code != http.StatusAccepted {
		t.Fatalf("re-send: %d", w.Code)
	}
	second := linkToken(t, f.mail.next(t).body)
	wantStatus(t, "voided invitation", b.do("POST", "/auth/password/reset", map[string]string{"token": first, "new": "Other-Secret-42", "repeat": "Other-Secret-42"}), http.StatusUnprocessableEntity)
	wantStatus(t, "newest invitation", b.do("POST", "/auth/password/reset", map[string]string{"token": second, "new": "Other-Secret-42", "repeat": "Other-Secret-42"}), http.StatusNoContent)
	f.engine.denyRight("admins.reset_password", "no")
	if w := f.do("POST", "/api/v1/administrators/"+a.ID+"/reset-password", nil); w.Code != http.StatusForbidden {
		t.Errorf("reset link without the right: %d", w.Code)
	}
}

func TestLoginPageSSOButtonsStayWithinTheirAccount(t *testing.T) {
	f := newAuthFixture(t)
	ctx := context.Background()
	ids := f.store
	put := func(acct, id, name string) {
		c := holdfast.IdPConfig{ID: id, AccountID: acct, Kind: holdfast.IdPOIDC, Name: name, Issuer: "https://idp.example/" + id,
			ClientID: "c", Enabled: true, CreatedAt: f.now, UpdatedAt: f.now}
		if err := ids.PutIdP(ctx, &c); err != nil {
			t.Fatal(err)
		}
	}
	put(f.account.ID, "idp_a", "Acme Okta")
	page := f.browser().do("GET", "/login", nil).body
	if !strings.Contains(page, "Sign in with Acme Okta") || !strings.Contains(page, "/auth/oidc/start?idp=idp_a&amp;account="+f.account.ID) {
		t.Fatalf("the only account's IdP is not offered:\n%s", page)
	}
	other := holdfast.Account{Name: "Other", Edition: f.account.Edition, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateAccount(ctx, &other); err != nil {
		t.Fatal(err)
	}
	put(other.ID, "idp_b", "Other Entra")
	page = f.browser().do("GET", "/login", nil).body
	if strings.Contains(page, "Acme Okta") || strings.Contains(page, "Other Entra") {
		t.Errorf("with two accounts, /login lists IdPs:\n%s", page)
	}
	page = f.browser().do("GET", "/login?account="+other.ID, nil).body
	if !strings.Contains(page, "Other Entra") || strings.Contains(page, "Acme Okta") {
		t.Errorf("/login?account= shows another account's IdP:\n%s", page)
	}
}

func TestSignInAttemptsLimitedPerAddress(t *testing.T) {
	f := newAuthFixture(t)
	try := func(ip string) *httptest.ResponseRecorder {
		return f.from(ip, "POST", "/auth/login", map[string]string{"email": "nobody@example.com", "password": "Wrong-Password-1"}, &http.Cookie{Name: "x", Value: "y"})
	}
	for i := range signin.AttemptsPerIP {
		if w := try("198.51.100.1"); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, w.Code)
		}
	}
	w := try("198.51.100.1")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || errorOf(t, w).Code != "rate_limited" {
		t.Fatalf("attempt over the limit: %d %s", w.Code, w.Body)
	}
	// Forgot-password counts too, with the same answer for any email.
	if w := f.from("198.51.100.1", "POST", "/auth/password/forgot", map[string]string{"email": "root@example.com"}, &http.Cookie{Name: "x", Value: "y"}); w.Code != http.StatusTooManyRequests {
		t.Errorf("forgot over the limit: %d", w.Code)
	}
	// The sign-in page's form gets the page back, with the reason.
	req := httptest.NewRequest("POST", "/auth/login", strings.NewReader("email=a%40b.c&password=x"))
	req.RemoteAddr = "198.51.100.1:4000"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login?error=rate_limited" {
		t.Errorf("form over the limit: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if page := f.browser().do("GET", "/login?error=rate_limited", nil); !strings.Contains(page.body, "Too many attempts") {
		t.Errorf("the page does not explain rate_limited")
	}
	if page := f.browser().do("GET", "/login?error=sso", nil); !strings.Contains(page.body, "Single sign-on did not work") {
		t.Errorf("the page does not explain sso")
	}
	if w := try("198.51.100.2"); w.Code != http.StatusUnauthorized {
		t.Errorf("another address: %d", w.Code)
	}
	f.now = f.now.Add(signin.AttemptWindow)
	if w := try("198.51.100.1"); w.Code != http.StatusUnauthorized {
		t.Errorf("next window: %d", w.Code)
	}
}

// TestLoginPageFormFlow signs in through the HTML forms alone, as a
// browser without script would: password, MFA enrolment, recovery codes.
func TestLoginPageFormFlow(t *testing.T) {
	f := newAuthFixture(t)
	f.setPassword(f.admin, testPassword)
	b := f.browser()
	page, pageURL := b.follow(f.ts.URL+"/login?return_to=/api/v1/account", nil)
	page, pageURL = b.submit(page, pageURL, "password", map[string]string{"email": f.admin.Email, "password": testPassword}, nil)
	if !strings.Contains(pageURL, "step=mfa_enroll") || !strings.Contains(page.body, "Set up multi-factor authentication") {
		t.Fatalf("after the password form: %s\n%s", pageURL, page.body)
	}
	i := strings.Index(page.body, "Key: <code>")
	if i < 0 {
		t.Fatalf("no key on the enrolment page:\n%s", page.body)
	}
	secret := page.body[i+len("Key: <code>"):]
	secret = secret[:strings.Index(secret, "</code>")]
	code, err := idp.TOTPCode(holdfast.Secret(secret), f.now)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = b.submit(page, pageURL, "code", map[string]string{"code": code}, nil)
	if page.status != http.StatusOK || strings.Count(page.body, "<li><code>") != idp.RecoveryCodeCount || page.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("recovery codes page: %d\n%s", page.status, page.body)
	}
	if !strings.Contains(page.body, `href="/api/v1/account"`) {
		t.Errorf("the recovery codes page does not continue to return_to:\n%s", page.body)
	}
	if got := b.sessionEmail(); got != f.admin.Email {
		t.Fatalf("session of %q", got)
	}
	// A wrong code on the MFA form comes back to the form with the error.
	b2 := f.browser()
	page, pageURL = b2.follow(f.ts.URL+"/login", nil)
	page, pageURL = b2.submit(page, pageURL, "password", map[string]string{"email": f.admin.Email, "password": testPassword}, nil)
	page, pageURL = b2.submit(page, pageURL, "code", map[string]string{"code": "000000"}, nil)
	if !strings.Contains(pageURL, "step=mfa") || !strings.Contains(page.body, `role="alert"`) || b2.sessionEmail() != "" {
		t.Errorf("wrong MFA code through the form: %s\n%s", pageURL, page.body)
	}
}

// A reset link is mailed with the server's own address, whatever Host (and
// matching Origin) the request that asked for it names: anyone may ask for
// a link to someone else's mailbox.
func TestResetLinkIgnoresRequestHost(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	req, err := http.NewRequest("POST", f.ts.URL+"/auth/password/forgot", strings.NewReader(`{"email":"ops@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "attacker.example"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://attacker.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("forgot with a foreign Host: %s", resp.Status)
	}
	m := f.mail.next(t)
	if m.to != admin.Email {
		t.Fatalf("mail to %q", m.to)
	}
	if strings.Contains(m.body, "attacker.example") || !strings.Contains(m.body, f.ts.URL+"/login?reset=") {
		t.Errorf("mailed link does not name this server (%s):\n%s", f.ts.URL, m.body)
	}
}

// Wrong passwords sent in parallel are each counted: five lock the
// administrator out, and the right password then fails too.
func TestParallelWrongPasswordsLockOut(t *testing.T) {
	f := newAuthFixture(t)
	admin := f.addAdmin("ops@example.com", "cloud_admin", testPassword)
	var wg sync.WaitGroup
	for range idp.MaxFailedLogins {
		wg.Go(func() {
			f.browser().do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": "Wrong-Password-123"})
		})
	}
	wg.Wait()
	a := f.browser().do("POST", "/auth/login", map[string]string{"email": admin.Email, "password": testPassword})
	wantStatus(t, "right password after parallel failures", a, http.StatusUnauthorized)
}

// ssoProviders is the single sign-on cmd/holdfast wires (idp/sso over an
// egress client) on o's clock and log, fetching through client.
func ssoProviders(tb testing.TB, o *Options, client *http.Client) holdfast.IdentityProviders {
	tb.Helper()
	p, err := sso.New(sso.Options{HTTPClient: client, Clock: o.Clock, Logger: o.Logger})
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
