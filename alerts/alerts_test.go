package alerts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/alerts"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/egress"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// clock is a test clock the test steps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// scoped allows a right to an administrator on any resource, except the
// objects listed in hidden (by id), which nobody but "root" sees.
type scoped struct {
	mu     sync.Mutex
	rights map[string]map[string]bool // admin id -> rights
	hidden map[string]bool
}

func (a *scoped) Decide(_ context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rights[req.Subject.ID][req.Action.Name] && (!a.hidden[req.Resource.ID] || req.Subject.ID == "root") {
		return holdfast.Decision{Allow: true, ID: "d-allow"}, nil
	}
	return holdfast.Decision{ID: "d-deny", Reasons: []string{"no " + req.Action.Name}}, nil
}

type fixture struct {
	meta  holdfast.MetaStore
	clock *clock
	authz *scoped
	svc   *alerts.Service
	holds *legalhold.Service
	acct  holdfast.Account
	root  holdfast.Principal // every right, sees everything
	scope holdfast.Principal // every right, but not the hidden objects
	logs  *bytes.Buffer
}

const repeat = 4 * time.Hour

func newFixture(t *testing.T, opts alerts.Options) *fixture {
	t.Helper()
	ctx := t.Context()
	meta, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	must(t, err)
	t.Cleanup(func() { meta.Close() })
	f := &fixture{meta: meta, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	f.acct = holdfast.Account{Name: "Acme", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}
	must(t, meta.CreateAccount(ctx, &f.acct))
	f.authz = &scoped{rights: map[string]map[string]bool{}, hidden: map[string]bool{}}
	for _, id := range []string{"root", "scoped"} {
		f.authz.rights[id] = map[string]bool{}
		for _, r := range []string{alerts.RightManage, "legal_holds.view", "legal_holds.create_manage", "admins.view", "users.view"} {
			f.authz.rights[id][r] = true
		}
	}
	for _, id := range []string{"root", "scoped"} {
		a := holdfast.Administrator{AccountID: f.acct.ID, ID: id, Name: id, Email: id + "@example.com", RoleID: "r", State: holdfast.AdminActive}
		must(t, meta.CreateAdmin(ctx, &a))
	}
	f.root = holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: f.acct.ID, AdminID: "root", Email: "root@example.com"}
	f.scope = holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: f.acct.ID, AdminID: "scoped", Email: "scoped@example.com"}
	runner := change.New(change.Options{Store: meta, Authorizer: f.authz, Clock: f.clock})
	opts.Changes, opts.Clock, opts.RepeatInterval = runner, f.clock, repeat
	opts.Logger = slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.svc = alerts.New(opts)
	f.holds = legalhold.New(meta, legalhold.Options{Changes: runner, Now: f.clock.Now})
	must(t, f.svc.Tick(ctx)) // the first look starts the audit cursors
	return f
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

func (f *fixture) newHold(t *testing.T, name string) legalhold.Info {
	t.Helper()
	h, _, err := f.holds.Create(t.Context(), f.root, legalhold.Input{Name: &name})
	must(t, err)
	return h
}

func (f *fixture) rename(t *testing.T, id, name string) {
	t.Helper()
	_, err := f.holds.Update(t.Context(), f.root, id, legalhold.Input{Name: &name})
	must(t, err)
}

// history returns the statuses of the account's history, oldest first.
func (f *fixture) history(t *testing.T) []string {
	t.Helper()
	got, err := f.svc.History(t.Context(), f.root, alerts.AlertQuery{}, holdfast.Page{})
	must(t, err)
	var out []string
	for i := len(got.Items) - 1; i >= 0; i-- {
		out = append(out, got.Items[i].Status+" "+got.Items[i].Kind)
	}
	return out
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// TestLegalHoldChangeFiresRepeatsResolves: a change of a hold (read from
// the audit trail the legal hold service writes) fires one alert; more
// changes while it fires are deduplicated (the count grows, no event);
// after the repeat interval it repeats once; past its window it resolves;
// a later change fires it again.
func TestLegalHoldChangeFiresRepeatsResolves(t *testing.T) {
	f := newFixture(t, alerts.Options{Sources: []alerts.Source{alerts.LegalHoldChanged(10 * time.Hour)}})
	ctx := t.Context()
	h := f.newHold(t, "Q3 audit")
	must(t, f.svc.Tick(ctx))
	fired := "firing " + holdfast.AlertLegalHoldChanged
	equal(t, "after the change", f.history(t), []string{fired})

	f.clock.step(time.Hour)
	f.rename(t, h.ID, "Q3 audit (2)")
	must(t, f.svc.Tick(ctx))
	equal(t, "a second change while firing", f.history(t), []string{fired})
	list, err := f.svc.ListAlerts(ctx, f.root, alerts.AlertQuery{State: holdfast.AlertStateFiring}, holdfast.Page{})
	must(t, err)
	if list.Total != 1 || list.Items[0].Count != 2 || list.Items[0].ObjectID != h.ID {
		t.Fatalf("firing alerts = %+v, want the hold's, seen twice", list.Items)
	}

	f.clock.step(repeat - time.Hour - time.Minute)
	must(t, f.svc.Tick(ctx))
	equal(t, "a minute before the repeat interval", f.history(t), []string{fired})
	f.clock.step(time.Minute)
	must(t, f.svc.Tick(ctx))
	repeated := "repeat " + holdfast.AlertLegalHoldChanged
	equal(t, "at the repeat interval", f.history(t), []string{fired, repeated})

	// The window counts from the last change (hour 1): it ends at hour 11.
	f.clock.step(11*time.Hour - repeat)
	must(t, f.svc.Tick(ctx))
	resolved := "resolved " + holdfast.AlertLegalHoldChanged
	equal(t, "past the window", f.history(t), []string{fired, repeated, resolved})

	f.rename(t, h.ID, "Q3 audit (3)")
	must(t, f.svc.Tick(ctx))
	equal(t, "changed again", f.history(t), []string{fired, repeated, resolved, fired})
}

// TestLockoutFiresAndResolves: the sign-in record of a lockout fires the
// administrator's alert, which resolves when their credentials say the
// lockout ends.
func TestLockoutFiresAndResolves(t *testing.T) {
	f := newFixture(t, alerts.Options{Sources: []alerts.Source{alerts.AdministratorLockedOut()}})
	ctx := t.Context()
	until := f.clock.Now().Add(15 * time.Minute)
	must(t, f.meta.PutCredentials(ctx, &holdfast.Credentials{AccountID: f.acct.ID, AdminID: "scoped", LockedUntil: &until, UpdatedAt: f.clock.Now()}))
	for _, reason := range []string{"bad password", "bad password, locked"} {
		detail, _ := json.Marshal(map[string]string{"method": "password", "reason": reason})
		must(t, f.meta.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: f.acct.ID, Time: f.clock.Now(), ActorID: "scoped",
			ActorEmail: "scoped@example.com", Action: "auth.sign_in", ResourceType: holdfast.ResourceAdministrator,
			ResourceID: "scoped", Outcome: holdfast.OutcomeFailed, Detail: detail}))
	}
	must(t, f.svc.Tick(ctx))
	fired := "firing " + holdfast.AlertAdministratorLocked
	equal(t, "after the lockout", f.history(t), []string{fired})
	f.clock.step(14 * time.Minute)
	must(t, f.svc.Tick(ctx))
	equal(t, "during the lockout", f.history(t), []string{fired})
	f.clock.step(time.Minute)
	must(t, f.svc.Tick(ctx))
	equal(t, "when it ends", f.history(t), []string{fired, "resolved " + holdfast.AlertAdministratorLocked})
}

// stateSource is a complete source whose firing set the test sets: the
// shape of the backup status and quota sources.
type stateSource struct{ ids []string }

func (s *stateSource) Kind() string { return holdfast.AlertQuotaNearFull }
func (s *stateSource) Observe(_ context.Context, q alerts.Query) (alerts.Observation, int64, error) {
	obs := alerts.Observation{Complete: true}
	for _, id := range s.ids {
		obs.Signals = append(obs.Signals, alerts.Signal{ObjectType: holdfast.ResourceDevice, ObjectID: id, Summary: id + " is near full"})
	}
	return obs, q.Cursor, nil
}

// TestCompleteSourceResolvesWhatItNoLongerSees: an alert of a complete
// source resolves at the first look that does not list its object, and
// the others keep firing.
func TestCompleteSourceResolvesWhatItNoLongerSees(t *testing.T) {
	src := &stateSource{ids: []string{"d1", "d2"}}
	f := newFixture(t, alerts.Options{Sources: []alerts.Source{src}})
	ctx := t.Context()
	must(t, f.svc.Tick(ctx))
	src.ids = []string{"d2"}
	must(t, f.svc.Tick(ctx))
	kind := holdfast.AlertQuotaNearFull
	equal(t, "history", f.history(t), []string{"firing " + kind, "firing " + kind, "resolved " + kind})
	firing, err := f.svc.ListAlerts(ctx, f.root, alerts.AlertQuery{State: holdfast.AlertStateFiring}, holdfast.Page{})
	must(t, err)
	if firing.Total != 1 || firing.Items[0].ObjectID != "d2" {
		t.Fatalf("firing = %+v, want d2 only", firing.Items)
	}
}

// receiver is a real loopback HTTP receiver that verifies each request's
// Standard Webhooks signature with the specification's own library.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	secret string
	fail   int // answer 500 to this many requests first
	ids    []string
	bodies []alerts.Message
	bad    []error
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	body, _ := io.ReadAll(req.Body)
	wh, err := standardwebhooks.NewWebhook(r.secret)
	if err == nil {
		err = wh.VerifyIgnoringTimestamp(body, req.Header)
	}
	if err != nil {
		r.bad = append(r.bad, err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.ids = append(r.ids, req.Header.Get("webhook-id"))
	if r.fail > 0 {
		r.fail--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	var m alerts.Message
	if err := json.Unmarshal(body, &m); err != nil {
		r.bad = append(r.bad, err)
	}
	r.bodies = append(r.bodies, m)
	w.WriteHeader(http.StatusNoContent)
}

func (f *fixture) deliveries(t *testing.T, p holdfast.Principal, sub string) []holdfast.AlertDelivery {
	t.Helper()
	got, err := f.svc.Deliveries(t.Context(), p, sub, holdfast.Page{})
	must(t, err)
	return got.Items
}

// TestWebhookDigestSignedRetriedIdempotent: a webhook subscription with a
// one-hour digest receives, after the hour, one message carrying every
// event since; the message is signed (the receiver verifies it with the
// Standard Webhooks library); a 500 is retried after the backoff under the
// same webhook-id, not before; the delivery log says so.
func TestWebhookDigestSignedRetriedIdempotent(t *testing.T) {
	rcv := &receiver{t: t, fail: 1}
	ts := httptest.NewServer(rcv)
	t.Cleanup(ts.Close)
	f := newFixture(t, alerts.Options{Sources: []alerts.Source{alerts.LegalHoldChanged(time.Hour)},
		Client: egress.NewClient(egress.Options{AllowPrivate: true}), AllowPrivate: true})
	ctx := t.Context()
	url, minutes := ts.URL+"/hook", 60
	sub, err := f.svc.CreateSubscription(ctx, f.root, alerts.SubscriptionInput{Channel: holdfast.AlertChannelWebhook,
		URL: &url, DigestMinutes: &minutes})
	must(t, err)
	if !strings.HasPrefix(sub.Secret, "whsec_") {
		t.Fatalf("secret %q, want a whsec_ secret", sub.Secret)
	}
	rcv.secret = sub.Secret
	f.newHold(t, "one")
	f.newHold(t, "two")
	must(t, f.svc.Tick(ctx))
	if d := f.deliveries(t, f.root, sub.ID); len(d) != 0 {
		t.Fatalf("deliveries before the digest period = %+v", d)
	}
	f.clock.step(time.Hour)
	must(t, f.svc.Tick(ctx)) // the digest (two fired, two resolved), and its first attempt: 500
	d := f.deliveries(t, f.root, sub.ID)
	if len(d) != 1 || d[0].State != holdfast.AlertDeliveryPending || d[0].Attempts != 1 || d[0].LastStatus != 500 ||
		d[0].NextAt == nil || !d[0].NextAt.Equal(f.clock.Now().Add(alerts.RetryAfter(1))) || d[0].Events != 4 {
		t.Fatalf("after a 500: %+v, want one pending delivery of 4 events due in %s", d, alerts.RetryAfter(1))
	}
	f.clock.step(alerts.RetryAfter(1) - time.Second)
	must(t, f.svc.Tick(ctx))
	if len(rcv.ids) != 1 {
		t.Fatalf("retried before the backoff: %d requests", len(rcv.ids))
	}
	f.clock.step(time.Second)
	must(t, f.svc.Tick(ctx))
	d = f.deliveries(t, f.root, sub.ID)
	if len(rcv.bad) != 0 || len(rcv.ids) != 2 || rcv.ids[0] != rcv.ids[1] || rcv.ids[0] != d[0].ID {
		t.Fatalf("receiver: ids %v, refused %v; want the delivery's id twice, each signature valid", rcv.ids, rcv.bad)
	}
	if d[0].State != holdfast.AlertDeliveryDelivered || d[0].Attempts != 2 || len(rcv.bodies) != 1 || len(rcv.bodies[0].Data.Events) != 4 ||
		rcv.bodies[0].Type != alerts.MessageType {
		t.Fatalf("after the retry: %+v, bodies %+v", d[0], rcv.bodies)
	}
	if strings.Contains(f.logs.String(), sub.Secret) || auditMentions(t, f, sub.Secret) {
		t.Fatal("the secret appears in the log or the audit trail")
	}
	got, err := f.svc.GetSubscription(ctx, f.root, sub.ID)
	must(t, err)
	if b, _ := json.Marshal(got); bytes.Contains(b, []byte(sub.Secret)) {
		t.Fatal("reading the subscription shows its secret")
	}
}

func auditMentions(t *testing.T, f *fixture, s string) bool {
	recs, err := f.meta.ListAudit(t.Context(), f.acct.ID, holdfast.AuditFilter{})
	must(t, err)
	for _, r := range recs {
		if bytes.Contains(r.Detail, []byte(s)) {
			return true
		}
	}
	return false
}

// TestDeliveryScopedToWhatTheAdministratorSees: an administrator whose
// scope hides one hold receives alerts about the other only; kinds they
// did not ask for are left out.
func TestDeliveryScopedToWhatTheAdministratorSees(t *testing.T) {
	rcv := &receiver{t: t}
	ts := httptest.NewServer(rcv)
	t.Cleanup(ts.Close)
	f := newFixture(t, alerts.Options{Sources: []alerts.Source{alerts.LegalHoldChanged(time.Hour), alerts.AdministratorLockedOut()},
		Client: egress.NewClient(egress.Options{AllowPrivate: true}), AllowPrivate: true})
	ctx := t.Context()
	url, kinds := ts.URL, []string{holdfast.AlertLegalHoldChanged}
	sub, err := f.svc.CreateSubscription(ctx, f.scope, alerts.SubscriptionInput{Channel: holdfast.AlertChannelWebhook, URL: &url, Kinds: &kinds})
	must(t, err)
	rcv.secret = sub.Secret
	seen, hidden := f.newHold(t, "seen"), f.newHold(t, "hidden")
	f.authz.hidden[hidden.ID] = true
	must(t, f.svc.Tick(ctx))
	if len(rcv.bodies) != 1 || len(rcv.bodies[0].Data.Events) != 1 || rcv.bodies[0].Data.Events[0].ObjectID != seen.ID {
		t.Fatalf("scoped administrator received %+v, want the seen hold's alert only", rcv.bodies)
	}
	all, err := f.svc.History(ctx, f.root, alerts.AlertQuery{}, holdfast.Page{})
	must(t, err)
	if all.Total != 2 {
		t.Fatalf("history total %d, want both holds' alerts", all.Total)
	}
	// The scoped administrator's lists keep both rows (exact totals) but
	// never name the hold outside its scope.
	mine, err := f.svc.History(ctx, f.scope, alerts.AlertQuery{}, holdfast.Page{})
	must(t, err)
	listed, err := f.svc.ListAlerts(ctx, f.scope, alerts.AlertQuery{}, holdfast.Page{})
	must(t, err)
	if mine.Total != 2 || listed.Total != 2 {
		t.Fatalf("scoped totals: history %d, alerts %d, want 2 and 2", mine.Total, listed.Total)
	}
	named := map[string]bool{}
	for _, e := range mine.Items {
		named[e.ObjectID] = true
		if e.ObjectID == "" && (strings.Contains(e.Summary, "hidden") || e.Detail != nil) {
			t.Errorf("a masked history row still says %q %s", e.Summary, e.Detail)
		}
	}
	for _, a := range listed.Items {
		named[a.ObjectID] = true
		if a.ObjectID == "" && (strings.Contains(a.Summary, "hidden") || a.Detail != nil) {
			t.Errorf("a masked alert still says %q %s", a.Summary, a.Detail)
		}
	}
	if named[hidden.ID] || !named[seen.ID] || !named[""] {
		t.Errorf("scoped lists name %v, want the seen hold and a masked row, never the hidden hold %s", named, hidden.ID)
	}
}

// TestWebhookTargetsAgainstSSRF: without the operator's flag, a loopback,
// private or link-local URL is refused at creation, naming the field; a
// public name that the client finds private is refused when dialled and
// the delivery fails without retry.
func TestWebhookTargetsAgainstSSRF(t *testing.T) {
	f := newFixture(t, alerts.Options{Client: egress.NewClient(egress.Options{})})
	ctx := t.Context()
	for _, u := range []string{"http://127.0.0.1:9/hook", "https://10.0.0.8/hook", "https://169.254.169.254/latest",
		"http://localhost/x", "https://[::1]/x", "ftp://hooks.example.com/", "http://hooks.example.com/"} {
		_, err := f.svc.CreateSubscription(ctx, f.root, alerts.SubscriptionInput{Channel: holdfast.AlertChannelWebhook, URL: &u})
		var v *holdfast.ValidationError
		if !errors.As(err, &v) || len(v.Fields) != 1 || v.Fields[0].Field != "url" {
			t.Errorf("webhook to %s: %v, want a refusal naming url", u, err)
		}
	}

	// The operator allows private targets in validation, but the client
	// does not: the dial is refused and not retried.
	rcv := &receiver{t: t}
	ts := httptest.NewServer(rcv)
	t.Cleanup(ts.Close)
	g := newFixture(t, alerts.Options{Sources: []alerts.Source{alerts.LegalHoldChanged(time.Hour)},
		Client: egress.NewClient(egress.Options{}), AllowPrivate: true})
	url := ts.URL
	sub, err := g.svc.CreateSubscription(ctx, g.root, alerts.SubscriptionInput{Channel: holdfast.AlertChannelWebhook, URL: &url})
	must(t, err)
	g.newHold(t, "x")
	must(t, g.svc.Tick(ctx))
	d := g.deliveries(t, g.root, sub.ID)
	if len(d) != 1 || d[0].State != holdfast.AlertDeliveryFailed || !strings.Contains(d[0].LastError, "refused") || len(rcv.ids) != 0 {
		t.Fatalf("delivery to a loopback receiver without the flag: %+v, receiver saw %d", d, len(rcv.ids))
	}
}

// mailer records what it is asked to send (a fake: the mail transport is
// tested where it is built).
type mailer struct{ sent []mail }

type mail struct{ to, subject, body string }

func (m *mailer) Send(_ context.Context, msg holdfast.Message) error {
	m.sent = append(m.sent, mail{strings.Join(msg.To, ","), msg.Subject, msg.Text})
	return nil
}

// TestEmailDigestAndRights: an email subscription sends its digest to the
// administrator's address; without alerts.manage every operation is
// refused and the refused change is audited.
func TestEmailDigestAndRights(t *testing.T) {
	m := &mailer{}
	f := newFixture(t, alerts.Options{Sources: []alerts.Source{alerts.LegalHoldChanged(time.Hour)}, Mailer: m})
	ctx := t.Context()
	sub, err := f.svc.CreateSubscription(ctx, f.root, alerts.SubscriptionInput{Channel: holdfast.AlertChannelEmail, AdminID: "scoped"})
	must(t, err)
	if sub.Secret != "" || sub.AdminID != "scoped" {
		t.Fatalf("email subscription = %+v", sub)
	}
	f.newHold(t, "Q3")
	must(t, f.svc.Tick(ctx))
	if len(m.sent) != 1 || m.sent[0].to != "scoped@example.com" || m.sent[0].subject != "Holdfast alerts: 1 firing" ||
		!strings.Contains(m.sent[0].body, holdfast.AlertLegalHoldChanged) {
		t.Fatalf("mail = %+v", m.sent)
	}

	delete(f.authz.rights["scoped"], alerts.RightManage)
	if _, err := f.svc.ListAlerts(ctx, f.scope, alerts.AlertQuery{}, holdfast.Page{}); !errors.Is(err, holdfast.ErrDenied) {
		t.Fatalf("ListAlerts without alerts.manage = %v", err)
	}
	if err := f.svc.DeleteSubscription(ctx, f.scope, sub.ID); !errors.Is(err, holdfast.ErrDenied) {
		t.Fatalf("DeleteSubscription without alerts.manage = %v", err)
	}
	recs, err := f.meta.ListAudit(ctx, f.acct.ID, holdfast.AuditFilter{Action: "alert_subscription.delete"})
	must(t, err)
	if len(recs) != 1 || recs[0].Outcome != holdfast.OutcomeDenied {
		t.Fatalf("refused delete records = %+v", recs)
	}
	if _, err := f.svc.GetSubscription(ctx, f.root, sub.ID); err != nil {
		t.Fatalf("the refused delete removed the subscription: %v", err)
	}
}
