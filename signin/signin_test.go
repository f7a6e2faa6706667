package signin_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/lockout"
	"github.com/holdfast/holdfast/signin"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// clock is a clock the tests step by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mailbox is a Mailer that hands every message to the test.
type mailbox chan string

func (m mailbox) Send(_ context.Context, msg holdfast.Message) error {
	m <- strings.Join(msg.To, ",") + "\n" + msg.Subject + "\n" + msg.Text
	return nil
}

// next returns the next message's recipient and link secret.
func (m mailbox) next(t *testing.T) (to, secret string) {
	t.Helper()
	select {
	case msg := <-m:
		to, _, _ = strings.Cut(msg, "\n")
		_, after, ok := strings.Cut(msg, "/login?reset=")
		if !ok {
			t.Fatalf("message without a link: %q", msg)
		}
		return to, strings.Fields(after)[0]
	case <-time.After(10 * time.Second):
		t.Fatal("no message sent")
		return "", ""
	}
}

// fixture is the service over a real SQLite store and the real engine,
// with an account, a platform administrator (root, fail-safe: MFA) and a
// Cloud administrator (cloud), both with testPassword.
type fixture struct {
	t     *testing.T
	store holdfast.MetaStore
	svc   *signin.Service
	clock *clock
	mail  mailbox
	acct  string
	root  holdfast.Administrator
	cloud holdfast.Administrator
}

const testPassword = "Correct-Horse-9-battery"

var (
	auditKey = []byte("signin test audit key, 32 bytes!")
	inside   = signin.Attempt{IP: net.ParseIP("192.0.2.10")}
)

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "holdfast.db"), sqlstore.WithAuditKey(auditKey))
	must(t, err)
	t.Cleanup(func() { store.Close() })
	acct := holdfast.Account{ID: "acct_signin", Name: "Sign-in test", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}
	must(t, store.CreateAccount(ctx, &acct))
	f := &fixture{t: t, store: store, acct: acct.ID, clock: &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}, mail: make(mailbox, 8)}
	all := holdfast.Scopes{AllProfiles: true, AllWorkloads: true, AllLegalHoldTypes: true}
	f.root = f.seedAdmin("root@example.com", "platform_admin", all)
	f.cloud = f.seedAdmin("cloud@example.com", "cloud_admin", all)
	engine, err := authz.New(ctx, authz.Options{Store: store, CacheBytes: -1})
	must(t, err)
	runner := change.New(change.Options{Store: store, Authorizer: engine, Clock: f.clock})
	rules := engine.Catalog().Rules
	f.svc, err = signin.New(signin.Options{Changes: runner, Rules: idp.NewRoleRules(engine, engine.Catalog()),
		Guard: lockout.New(engine, rules.PlatformAdminRight, rules.FailsafeRight), Clock: f.clock, Mailer: f.mail})
	must(t, err)
	return f
}

func (f *fixture) seedAdmin(email, role string, scopes holdfast.Scopes) holdfast.Administrator {
	f.t.Helper()
	hash, err := idp.HashPassword(testPassword)
	must(f.t, err)
	a := holdfast.Administrator{AccountID: f.acct, Name: email, Email: email, RoleID: role, Scopes: scopes,
		State: holdfast.AdminActive, PasswordHash: hash, CreatedAt: f.clock.Now()}
	must(f.t, f.store.CreateAdmin(f.t.Context(), &a))
	return a
}

// settings changes the account's settings by edit.
func (f *fixture) settings(edit func(*holdfast.AccountSettings)) {
	f.t.Helper()
	acct, err := f.store.GetAccount(f.t.Context(), f.acct)
	must(f.t, err)
	edit(&acct.Settings)
	must(f.t, f.store.UpdateAccount(f.t.Context(), &acct))
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func principalOf(a holdfast.Administrator) holdfast.Principal {
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: a.AccountID, AdminID: a.ID, Email: a.Email}
}

// signIns returns the outcomes and reasons of the sign-in records of a.
func (f *fixture) signIns(a holdfast.Administrator) []string {
	f.t.Helper()
	recs, err := f.store.ListAudit(f.t.Context(), f.acct, holdfast.AuditFilter{Action: "auth.sign_in"})
	must(f.t, err)
	var out []string
	for _, r := range recs {
		if r.ResourceID == a.ID {
			out = append(out, r.Outcome+" "+string(r.Detail))
		}
	}
	return out
}

// TestPasswordSignInLockout: unknown emails, wrong passwords and a locked
// administrator all get the one ErrBadLogin; the fifth failure locks the
// administrator out (even the right password fails) until the lockout
// ends, and every refusal is audited with its reason.
func TestPasswordSignInLockout(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if _, err := f.svc.PasswordSignIn(ctx, "nobody@example.com", testPassword, inside); !errors.Is(err, signin.ErrBadLogin) {
		t.Fatalf("unknown email: %v", err)
	}
	for i := range idp.MaxFailedLogins {
		if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, "Wrong-password-1", inside); !errors.Is(err, signin.ErrBadLogin) {
			t.Fatalf("wrong password %d: %v", i, err)
		}
	}
	if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside); !errors.Is(err, signin.ErrBadLogin) {
		t.Fatalf("locked administrator signed in: %v", err)
	}
	recs := f.signIns(f.cloud)
	if len(recs) != idp.MaxFailedLogins+1 || !strings.Contains(recs[idp.MaxFailedLogins-1], "wrong password, locked") ||
		!strings.Contains(recs[idp.MaxFailedLogins], `"locked"`) {
		t.Fatalf("sign-in records: %q", recs)
	}
	f.clock.add(idp.LockoutDuration)
	st, err := f.svc.PasswordSignIn(ctx, " CLOUD@example.com ", testPassword, inside)
	if err != nil || st.Pending != "" {
		t.Fatalf("after the lockout: %+v %v", st, err)
	}
	a, err := f.store.GetAdmin(ctx, f.acct, f.cloud.ID)
	must(t, err)
	if a.LastLoginAt == nil || !a.LastLoginAt.Equal(f.clock.Now().Truncate(time.Microsecond)) {
		t.Errorf("last login %v, want %v", a.LastLoginAt, f.clock.Now())
	}
	if recs := f.signIns(f.cloud); !strings.HasPrefix(recs[len(recs)-1], holdfast.OutcomeSuccess) {
		t.Errorf("no success record: %q", recs)
	}
}

// TestFailsafeUnderSSO: with SSO enforced a Cloud administrator may not
// use a password (ErrSSORequired, only after the password is proven) and
// gets no reset link; the platform administrator (fail-safe right) may,
// and owes MFA.
func TestFailsafeUnderSSO(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.settings(func(st *holdfast.AccountSettings) { st.SSOEnforced = true })
	if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, "Wrong-password-1", inside); !errors.Is(err, signin.ErrBadLogin) {
		t.Fatalf("wrong password under SSO: %v", err)
	}
	if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside); !errors.Is(err, signin.ErrSSORequired) {
		t.Fatalf("cloud administrator under SSO: %v", err)
	}
	st, err := f.svc.PasswordSignIn(ctx, f.root.Email, testPassword, inside)
	if err != nil || st.Pending != holdfast.SessionMFAEnroll {
		t.Fatalf("fail-safe sign-in: %+v %v", st, err)
	}
	// The invitation of the Cloud administrator is decided (and refused)
	// before Invite returns; the platform administrator's is mailed.
	must(t, f.svc.Invite(ctx, "https://hf.example", f.cloud))
	must(t, f.svc.Invite(ctx, "https://hf.example", f.root))
	to, secret := f.mail.next(t)
	if to != f.root.Email {
		t.Fatalf("invitation under SSO mailed to %s", to)
	}
	if err := f.svc.ResetPassword(ctx, signin.Reset{Token: secret, New: "Another-Horse-7-battery", Repeat: "Another-Horse-7-battery"}); err != nil {
		t.Fatalf("the fail-safe administrator's invitation: %v", err)
	}
}

// TestMFA: enrolment keeps one seed until confirmed, a wrong code can be
// retried, the right one makes ten recovery codes and a new session id;
// later a TOTP code works once, a recovery code once ever, and a pending
// session authenticates nothing.
func TestMFA(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	st, err := f.svc.PasswordSignIn(ctx, f.root.Email, testPassword, inside)
	must(t, err)
	e1, err := f.svc.Enrollment(ctx, st.Secret)
	must(t, err)
	e2, err := f.svc.Enrollment(ctx, st.Secret)
	must(t, err)
	if e1.Secret == "" || e1 != e2 || !strings.HasPrefix(e1.URL, "otpauth://totp/") {
		t.Fatalf("enrolments %+v %+v", e1, e2)
	}
	if _, err := f.svc.Authenticate(ctx, signin.SessionRequest{Secret: st.Secret, Safe: true, IP: inside.IP}); !errors.Is(err, signin.ErrStepOwed) {
		t.Fatalf("a pending session authenticated: %v", err)
	}
	at := signin.Attempt{IP: inside.IP, Session: st.Secret}
	_, err = f.svc.EnrollMFA(ctx, "000000", at)
	if signin.RetryStep(err) != holdfast.SessionMFAEnroll || !errors.Is(err, signin.ErrBadLogin) {
		t.Fatalf("wrong enrolment code: %v", err)
	}
	_, codes, done := f.enrolAt(st)
	if len(codes) != 10 || done.Pending != "" || done.Secret == st.Secret {
		t.Fatalf("enrolled: %d codes, %+v", len(codes), done)
	}
	if _, err := f.svc.Current(ctx, st.Secret); !errors.Is(err, signin.ErrSessionOver) {
		t.Errorf("the enrolment session outlived its step: %v", err)
	}

	seed := holdfast.Secret(e1.Secret)
	f.clock.add(time.Minute)
	code, err := idp.TOTPCode(seed, f.clock.Now())
	must(t, err)
	s2, err := f.svc.PasswordSignIn(ctx, f.root.Email, testPassword, inside)
	if err != nil || s2.Pending != holdfast.SessionMFA {
		t.Fatalf("second sign-in: %+v %v", s2, err)
	}
	s3, err := f.svc.VerifyMFA(ctx, signin.Code{TOTP: code}, signin.Attempt{IP: inside.IP, Session: s2.Secret})
	if err != nil || s3.Pending != "" {
		t.Fatalf("TOTP: %+v %v", s3, err)
	}
	s4, err := f.svc.PasswordSignIn(ctx, f.root.Email, testPassword, inside)
	must(t, err)
	at4 := signin.Attempt{IP: inside.IP, Session: s4.Secret}
	if _, err := f.svc.VerifyMFA(ctx, signin.Code{TOTP: code}, at4); !errors.Is(err, signin.ErrWrongMFA) || signin.RetryStep(err) != holdfast.SessionMFA {
		t.Fatalf("replayed code: %v", err)
	}
	if _, err := f.svc.VerifyMFA(ctx, signin.Code{Recovery: codes[3]}, at4); err != nil {
		t.Fatalf("recovery code: %v", err)
	}
	s5, err := f.svc.PasswordSignIn(ctx, f.root.Email, testPassword, inside)
	must(t, err)
	if _, err := f.svc.VerifyMFA(ctx, signin.Code{Recovery: codes[3]}, signin.Attempt{IP: inside.IP, Session: s5.Secret}); !errors.Is(err, signin.ErrWrongMFA) {
		t.Fatalf("a recovery code worked twice: %v", err)
	}
}

// enrolAt finishes the enrolment owed by st.
func (f *fixture) enrolAt(st signin.Started) (holdfast.Secret, []string, signin.Started) {
	f.t.Helper()
	ctx := f.t.Context()
	e, err := f.svc.Enrollment(ctx, st.Secret)
	must(f.t, err)
	code, err := idp.TOTPCode(holdfast.Secret(e.Secret), f.clock.Now())
	must(f.t, err)
	done, err := f.svc.EnrollMFA(ctx, code, signin.Attempt{IP: inside.IP, Session: st.Secret})
	must(f.t, err)
	return holdfast.Secret(e.Secret), done.RecoveryCodes, done.Started
}

// TestSessionRules: a session needs its CSRF token for changes, ends
// after the idle timeout and at its absolute end however it is used, a
// new sign-in replaces the browser's session (fixation), and signing out
// ends it.
func TestSessionRules(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	st, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside)
	must(t, err)
	req := signin.SessionRequest{Secret: st.Secret, IP: inside.IP}
	if _, err := f.svc.Authenticate(ctx, req); !errors.Is(err, signin.ErrCSRF) {
		t.Fatalf("change without CSRF: %v", err)
	}
	req.CSRF = st.Session.CSRF.Reveal()
	p, err := f.svc.Authenticate(ctx, req)
	if err != nil || p.AdminID != f.cloud.ID || p.SessionID != st.Session.ID {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	again, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, signin.Attempt{IP: inside.IP, Session: st.Secret})
	must(t, err)
	if _, err := f.svc.Current(ctx, st.Secret); !errors.Is(err, signin.ErrSessionOver) {
		t.Fatalf("the replaced session lives on: %v", err)
	}
	f.clock.add(signin.DefaultIdleTimeout)
	if _, err := f.svc.Current(ctx, again.Secret); !errors.Is(err, signin.ErrSessionOver) {
		t.Fatalf("idle session lives on: %v", err)
	}

	busy, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside)
	must(t, err)
	start := f.clock.Now()
	for f.clock.Now().Sub(start) < signin.DefaultMaxAge-signin.DefaultIdleTimeout {
		f.clock.add(signin.DefaultIdleTimeout / 2)
		if _, err := f.svc.Authenticate(ctx, signin.SessionRequest{Secret: busy.Secret, IP: inside.IP, Safe: true}); err != nil {
			t.Fatalf("busy session ended early at %v: %v", f.clock.Now().Sub(start), err)
		}
	}
	f.clock.add(signin.DefaultIdleTimeout)
	if _, err := f.svc.Authenticate(ctx, signin.SessionRequest{Secret: busy.Secret, IP: inside.IP, Safe: true}); !errors.Is(err, signin.ErrSessionOver) {
		t.Fatalf("session outlived its absolute end: %v", err)
	}

	last, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside)
	must(t, err)
	if err := f.svc.SignOut(ctx, last.Secret, "wrong"); !errors.Is(err, signin.ErrCSRF) {
		t.Fatalf("sign-out without CSRF: %v", err)
	}
	must(t, f.svc.SignOut(ctx, last.Secret, "wrong", last.Session.CSRF.Reveal()))
	if _, err := f.svc.Current(ctx, last.Secret); !errors.Is(err, signin.ErrSessionOver) {
		t.Fatalf("signed-out session lives on: %v", err)
	}
}

// TestChangePassword: the policy and the repeat are checked field by
// field, the last passwords cannot come back, a wrong current password
// counts towards the lockout, and a change ends the other sessions and
// gives a session caller a new one.
func TestChangePassword(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	other, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside)
	must(t, err)
	mine, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, testPassword, inside)
	must(t, err)
	p := principalOf(f.cloud)
	p.SessionID = mine.Session.ID
	at := signin.Attempt{IP: inside.IP, Session: mine.Secret}
	_, err = f.svc.ChangePassword(ctx, p, signin.PasswordChange{Current: testPassword, New: "short", Repeat: "other"}, at)
	if got := fieldsOf(err); got != "new,repeat" {
		t.Fatalf("weak password: %v (fields %s)", err, got)
	}
	_, err = f.svc.ChangePassword(ctx, p, signin.PasswordChange{Current: testPassword, New: testPassword, Repeat: testPassword}, at)
	if got := fieldsOf(err); got != "new" {
		t.Fatalf("reused password: %v", err)
	}
	_, err = f.svc.ChangePassword(ctx, p, signin.PasswordChange{Current: "Wrong-password-1", New: "Another-Horse-7-battery", Repeat: "Another-Horse-7-battery"}, at)
	if !errors.Is(err, holdfast.ErrInvalid) {
		t.Fatalf("wrong current password: %v", err)
	}
	creds, err := f.store.GetCredentials(ctx, f.acct, f.cloud.ID)
	if err != nil || creds.FailedLogins != 1 {
		t.Fatalf("failures after a wrong current password: %d %v", creds.FailedLogins, err)
	}
	st, err := f.svc.ChangePassword(ctx, p, signin.PasswordChange{Current: testPassword, New: "Another-Horse-7-battery", Repeat: "Another-Horse-7-battery"}, at)
	if err != nil || st == nil || st.Pending != "" {
		t.Fatalf("change: %+v %v", st, err)
	}
	for _, old := range []string{other.Secret, mine.Secret} {
		if _, err := f.svc.Current(ctx, old); !errors.Is(err, signin.ErrSessionOver) {
			t.Errorf("a session from before the change lives on: %v", err)
		}
	}
	if _, err := f.svc.Current(ctx, st.Secret); err != nil {
		t.Errorf("the new session: %v", err)
	}
	if _, err := f.svc.PasswordSignIn(ctx, f.cloud.Email, "Another-Horse-7-battery", inside); err != nil {
		t.Errorf("sign-in with the new password: %v", err)
	}
}

func fieldsOf(err error) string {
	var v *holdfast.ValidationError
	if !errors.As(err, &v) {
		return ""
	}
	var out []string
	for _, fe := range v.Fields {
		if len(out) == 0 || out[len(out)-1] != fe.Field {
			out = append(out, fe.Field)
		}
	}
	return strings.Join(out, ",")
}
