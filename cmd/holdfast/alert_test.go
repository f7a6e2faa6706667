package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// hookReceiver is a real loopback HTTP receiver of alert webhooks: it
// verifies each message's Standard Webhooks signature (timestamp included)
// with the specification's library, and keeps the verified ones.
type hookReceiver struct {
	mu       sync.Mutex
	secret   string
	ids      []string
	messages []hookMessage
	refused  int
}

type hookMessage struct {
	Type string `json:"type"`
	Data struct {
		SubscriptionID string `json:"subscription_id"`
		Events         []struct {
			Kind     string `json:"kind"`
			ObjectID string `json:"object_id"`
			Status   string `json:"status"`
		} `json:"events"`
	} `json:"data"`
}

func (h *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	wh, err := standardwebhooks.NewWebhook(h.secret)
	if err == nil {
		err = wh.Verify(body, r.Header)
	}
	var m hookMessage
	if err == nil {
		err = json.Unmarshal(body, &m)
	}
	if err != nil {
		h.refused++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	h.ids, h.messages = append(h.ids, r.Header.Get("webhook-id")), append(h.messages, m)
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookReceiver) got() ([]string, []hookMessage, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...), append([]hookMessage(nil), h.messages...), h.refused
}

// eventually polls cond until it holds or a generous deadline passes: the
// evaluation loop runs on its own schedule.
func eventually(t *testing.T, what string, inst *instance, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60s; serve said:\n%s", what, inst.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type subscriptionJSON struct {
	ID      string   `json:"id"`
	Channel string   `json:"channel"`
	Kinds   []string `json:"kinds"`
	Secret  string   `json:"secret"`
}

// TestAlertsEndToEnd runs serve on SQLite and on PostgreSQL with private
// webhook targets allowed: a webhook and an email subscription receive
// the alert a legal hold change raises, the webhook signed and verified
// by a real loopback receiver, the email in the outbox; the alerts, the
// history and the delivery log read back through the API.
func TestAlertsEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testAlertsEndToEnd(t, map[string]string{}) })
	t.Run("postgres", func(t *testing.T) { testAlertsEndToEnd(t, map[string]string{envDB: postgresDB(t)}) })
}

func testAlertsEndToEnd(t *testing.T, env map[string]string) {
	dir := t.TempDir()
	env[envDataDir], env[envBootstrapEmail], env[envBootstrapPassword], env[envBootstrapToken] = dir, "root@example.com", testPassword, testToken
	inst := startServe(t, env, "--allow-private-webhooks", "--alert-every", "100ms")
	rcv := &hookReceiver{}
	ts := httptest.NewServer(rcv)
	t.Cleanup(ts.Close)

	var hook, mail subscriptionJSON
	code, body := call(t, "POST", inst.url+"/api/v1/alert-subscriptions", testToken,
		map[string]any{"channel": "webhook", "url": ts.URL + "/alerts", "kinds": []string{"legal_hold_changed"}}, &hook)
	if code != http.StatusCreated || !strings.HasPrefix(hook.Secret, "whsec_") {
		t.Fatalf("create webhook subscription = %d %s", code, body)
	}
	rcv.mu.Lock()
	rcv.secret = hook.Secret
	rcv.mu.Unlock()
	if code, body := call(t, "POST", inst.url+"/api/v1/alert-subscriptions", testToken, map[string]any{"channel": "email"}, &mail); code != http.StatusCreated || mail.Secret != "" {
		t.Fatalf("create email subscription = %d %s", code, body)
	}
	var hold struct{ ID string }
	if code, body := call(t, "POST", inst.url+"/api/v1/legal-holds", testToken, map[string]any{"name": "Acme v. Initech"}, &hold); code != http.StatusCreated {
		t.Fatalf("create hold = %d %s", code, body)
	}

	eventually(t, "a verified webhook", inst, func() bool { ids, _, _ := rcv.got(); return len(ids) > 0 })
	ids, msgs, refused := rcv.got()
	ev := msgs[0].Data.Events
	if refused != 0 || len(ev) != 1 || ev[0].Kind != "legal_hold_changed" || ev[0].ObjectID != hold.ID || ev[0].Status != "firing" ||
		msgs[0].Type != "alerts.digest" || msgs[0].Data.SubscriptionID != hook.ID {
		t.Fatalf("webhook messages %+v (refused %d), want the hold's alert firing", msgs, refused)
	}
	var deliveries struct {
		Deliveries []struct{ ID, State string } `json:"deliveries"`
		Total      int                          `json:"total"`
	}
	eventually(t, "the delivery logged as delivered", inst, func() bool {
		call(t, "GET", inst.url+"/api/v1/alert-subscriptions/"+hook.ID+"/deliveries", testToken, nil, &deliveries)
		return deliveries.Total == 1 && deliveries.Deliveries[0].State == "delivered"
	})
	if deliveries.Deliveries[0].ID != ids[0] {
		t.Errorf("delivery id %s, webhook-id %s: want the same", deliveries.Deliveries[0].ID, ids[0])
	}
	var list struct {
		Alerts []struct {
			ObjectID string `json:"object_id"`
		} `json:"alerts"`
		Total int `json:"total"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/alerts?state=firing", testToken, nil, &list); code != 200 || list.Total != 1 || list.Alerts[0].ObjectID != hold.ID {
		t.Fatalf("GET alerts = %d %s", code, body)
	}
	var hist struct {
		Events []struct{ Status string } `json:"events"`
		Total  int                       `json:"total"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/alerts/history", testToken, nil, &hist); code != 200 || hist.Total != 1 || hist.Events[0].Status != "firing" {
		t.Fatalf("GET history = %d %s", code, body)
	}
	eventually(t, "the email in the outbox", inst, func() bool { return outboxHas(t, filepath.Join(dir, "outbox"), "Holdfast alerts: 1 firing") })
	alertsRefusals(t, inst.url, hook.ID)
}

// outboxHas reports whether a message in dir contains s.
func outboxHas(t *testing.T, dir, s string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

// alertsRefusals: bad input is a 422 naming the field; the secret is
// never shown again.
func alertsRefusals(t *testing.T, base, subID string) {
	t.Helper()
	for _, c := range []struct {
		method, path string
		body         map[string]any
		field        string
	}{
		{"POST", "/api/v1/alert-subscriptions", map[string]any{"channel": "pager"}, "channel"},
		{"POST", "/api/v1/alert-subscriptions", map[string]any{"channel": "email", "kinds": []string{"weather"}}, "kinds"},
		{"PATCH", "/api/v1/alert-subscriptions/" + subID, map[string]any{"digest_minutes": -1}, "digest_minutes"},
		{"GET", "/api/v1/alerts?state=sleeping", nil, "state"},
	} {
		var body map[string]any
		if c.body != nil {
			body = c.body
		}
		code, raw := call(t, c.method, base+c.path, testToken, body, nil)
		if code != http.StatusUnprocessableEntity || !strings.Contains(raw, `"field":"`+c.field+`"`) {
			t.Errorf("%s %s = %d %s, want 422 naming %s", c.method, c.path, code, raw, c.field)
		}
	}
	code, raw := call(t, "GET", base+"/api/v1/alert-subscriptions/"+subID, testToken, nil, nil)
	if code != 200 || strings.Contains(raw, "whsec_") || strings.Contains(raw, "secret") {
		t.Errorf("GET subscription = %d %s, want no secret", code, raw)
	}
}

// TestAlertWebhookPrivateTargetRefused: without --allow-private-webhooks a
// loopback or private webhook URL is refused, naming the field, and
// nothing is created.
func TestAlertWebhookPrivateTargetRefused(t *testing.T) {
	env := map[string]string{envDataDir: t.TempDir(), envBootstrapEmail: "root@example.com", envBootstrapPassword: testPassword, envBootstrapToken: testToken}
	inst := startServe(t, env)
	for _, u := range []string{"http://127.0.0.1:9/alerts", "https://192.168.1.10/alerts", "https://169.254.169.254/latest"} {
		code, raw := call(t, "POST", inst.url+"/api/v1/alert-subscriptions", testToken, map[string]any{"channel": "webhook", "url": u}, nil)
		if code != http.StatusUnprocessableEntity || !strings.Contains(raw, `"field":"url"`) {
			t.Errorf("webhook to %s = %d %s, want 422 naming url", u, code, raw)
		}
	}
	var subs struct{ Total int }
	if code, raw := call(t, "GET", inst.url+"/api/v1/alert-subscriptions", testToken, nil, &subs); code != 200 || subs.Total != 0 {
		t.Errorf("subscriptions after the refusals = %d %s", code, raw)
	}
}
