package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/storage/storagetest"
)

// faultRequest sends one request and returns its status, Retry-After and
// error envelope (zero for a success), failing the test on a transport
// error.
func faultRequest(tb testing.TB, method, url, body string) (int, string, errorEnvelopeJSON, time.Duration) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env errorEnvelopeJSON
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(raw, &env); err != nil {
			tb.Errorf("%s %s = %d with a body that is not the JSON envelope: %s", method, url, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header.Get("Retry-After"), env, time.Since(start)
}

// errorEnvelopeJSON is the error envelope as a client reads it.
type errorEnvelopeJSON struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

// TestFaultPostgres runs serve on a private PostgreSQL, then stops it and
// freezes it: every request, decisions included, answers 503 with
// Retry-After and the envelope within the deadline, the failure is logged
// with its cause, a write made during the outage leaves nothing behind, and
// service resumes without a restart when the database is back.
func TestFaultPostgres(t *testing.T) {
	pg := storagetest.StartPeer(t, "postgres", "POSTGRES_PORT")
	const timeout = time.Second
	inst, err := launch(t, map[string]string{
		envDB:                pg.Env["DATABASE_URL"],
		envDBTimeout:         timeout.String(),
		envBootstrapEmail:    "root@example.com",
		envBootstrapPassword: testPassword,
		envBootstrapToken:    testToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	admins := inst.url + "/api/v1/administrators"
	decision := inst.url + "/access/v1/evaluation"
	const decisionBody = `{"subject":{"type":"user","id":"root@example.com"},"action":{"name":"view"},"resource":{"type":"user","id":"u1"}}`
	newAdmin := `{"name":"Outage Admin","email":"outage@example.com","role":"help_desk_admin","scopes":{"all_profiles":true,"all_workloads":true}}`

	healthy := func(t *testing.T) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			code, _, _, _ := faultRequest(t, "GET", admins, "")
			if code == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET administrators = %d 30s after the database came back, want 200", code)
			}
			time.Sleep(200 * time.Millisecond)
		}
		if code, _, env, _ := faultRequest(t, "POST", decision, decisionBody); code != http.StatusOK {
			t.Fatalf("POST evaluation = %d %+v, want 200", code, env)
		}
		var list adminList
		if code, body := call(t, "GET", admins, testToken, nil, &list); code != http.StatusOK || len(list.Administrators) != 1 {
			t.Fatalf("GET administrators = %d, %d administrators, want 200 and only the bootstrap one (nothing half-written): %s", code, len(list.Administrators), body)
		}
	}
	unavailable := func(t *testing.T, fault string) {
		t.Helper()
		for _, r := range []struct{ method, url, body string }{
			{"GET", admins, ""},
			{"POST", decision, decisionBody},
			{"POST", admins, newAdmin},
		} {
			code, retry, env, took := faultRequest(t, r.method, r.url, r.body)
			if code != http.StatusServiceUnavailable || retry == "" || env.Error.Code != "unavailable" {
				t.Errorf("%s %s with the database %s = %d (Retry-After %q, %+v), want 503 unavailable with Retry-After",
					r.method, r.url, fault, code, retry, env.Error)
			}
			if !strings.Contains(env.Error.Message, "database") || strings.Contains(env.Error.Message, "127.0.0.1") {
				t.Errorf("message %q, want one naming the database and not its address", env.Error.Message)
			}
			// One statement's deadline, a few for a request that makes
			// several calls, never the client's patience.
			if took > 8*timeout {
				t.Errorf("%s %s with the database %s took %s, want the %s deadline to end it", r.method, r.url, fault, took, timeout)
			}
			if !strings.Contains(inst.stderr.String(), "request_id="+env.Error.RequestID) {
				t.Errorf("request %s is not logged:\n%s", env.Error.RequestID, inst.stderr)
			}
		}
		if !strings.Contains(inst.stderr.String(), "status=503") {
			t.Errorf("no 503 logged:\n%s", inst.stderr)
		}
	}

	healthy(t)
	t.Run("stopped", func(t *testing.T) {
		pg.Stop()
		unavailable(t, "stopped")
		pg.Start()
		healthy(t)
	})
	t.Run("frozen", func(t *testing.T) {
		pg.Freeze()
		unavailable(t, "frozen")
		pg.Thaw()
		healthy(t)
	})
}
