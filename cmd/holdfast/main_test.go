package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// envFunc returns a getenv over m only: tests never read the real
// environment.
func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// instance is a running `holdfast serve`.
type instance struct {
	url    string
	stderr *syncBuffer
	stop   func() error // cancels run and returns its error
}

// startServe runs serve in-process on 127.0.0.1:0 and waits until it
// listens.
func startServe(tb testing.TB, env map[string]string, args ...string) *instance {
	tb.Helper()
	inst, err := launch(tb, env, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return inst
}

// launch is startServe for any goroutine: it reports failure as an error.
func launch(tb testing.TB, env map[string]string, args ...string) (*instance, error) {
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	args = append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)
	go func() {
		done <- runWith(ctx, args, envFunc(env), io.Discard, stderr, hooks{listening: func(a string) { addr <- a }})
	}()
	select {
	case a := <-addr:
		inst := &instance{url: "http://" + a, stderr: stderr}
		var once sync.Once
		var err error
		inst.stop = func() error {
			once.Do(func() { cancel(); err = <-done })
			return err
		}
		tb.Cleanup(func() { inst.stop() })
		return inst, nil
	case err := <-done:
		cancel()
		return nil, fmt.Errorf("serve exited before listening: %v\nstderr:\n%s", err, stderr)
	case <-time.After(60 * time.Second):
		cancel()
		<-done
		return nil, fmt.Errorf("serve did not listen within 60s; stderr:\n%s", stderr)
	}
}

// call sends a JSON request with the bearer token and decodes the reply
// into out (when not nil). It returns the status and the raw body.
func call(tb testing.TB, method, url, token string, body any, out any) (int, string) {
	tb.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			tb.Fatalf("%s %s: decode %s: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

type adminJSON struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	Role  string `json:"role"`
}

type adminList struct {
	Administrators []adminJSON `json:"administrators"`
}

const (
	testToken    = "hf_e2e-bootstrap-token-0123456789abcdef"
	testPassword = "E2e password 1234"
)

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{
		envDataDir:           dir,
		envBootstrapEmail:    "root@example.com",
		envBootstrapPassword: testPassword,
		envBootstrapToken:    testToken,
	}
	inst := startServe(t, env)

	var list adminList
	if code, body := call(t, "GET", inst.url+"/api/v1/administrators", testToken, nil, &list); code != http.StatusOK {
		t.Fatalf("GET administrators = %d %s", code, body)
	}
	if len(list.Administrators) != 1 || list.Administrators[0].Email != "root@example.com" ||
		list.Administrators[0].Role != "platform_admin" {
		t.Fatalf("administrators = %+v, want the platform administrator root@example.com", list.Administrators)
	}
	if code, _ := call(t, "GET", inst.url+"/api/v1/administrators", "hf_wrong-token-0123456789abcdef", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("GET administrators with a wrong token = %d, want 401", code)
	}

	var helpDesk adminJSON
	code, body := call(t, "POST", inst.url+"/api/v1/administrators", testToken, map[string]any{
		"name": "Sofia Alvarez", "email": "sofia@example.com", "country": "ES", "time_zone": "Europe/Madrid",
		"role": "help_desk_admin", "scopes": map[string]any{"all_profiles": true, "all_workloads": true},
	}, &helpDesk)
	if code != http.StatusCreated || helpDesk.ID == "" {
		t.Fatalf("POST administrators = %d %s, want 201 with an id", code, body)
	}

	var account struct {
		ID string `json:"id"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/account", testToken, nil, &account); code != http.StatusOK {
		t.Fatalf("GET account = %d %s", code, body)
	}
	var decision struct {
		Decision *bool          `json:"decision"`
		Context  map[string]any `json:"context"`
	}
	code, body = call(t, "POST", inst.url+"/access/v1/evaluation", testToken, map[string]any{
		"subject":  map[string]any{"type": "administrator", "id": helpDesk.ID},
		"action":   map[string]any{"name": "legal_holds.view"},
		"resource": map[string]any{"type": "account", "id": account.ID},
	}, &decision)
	if code != http.StatusOK || decision.Decision == nil {
		t.Fatalf("POST evaluation = %d %s", code, body)
	}
	if *decision.Decision {
		t.Errorf("help desk administrator may view legal holds: %s", body)
	}
	if len(decision.Context) == 0 || !strings.Contains(strings.ToLower(body), "legal hold") {
		t.Errorf("deny carries no reason about legal holds: %s", body)
	}
	if err := inst.stop(); err != nil {
		t.Fatalf("serve returned %v after cancel", err)
	}
	if strings.Contains(inst.stderr.String(), testPassword) || strings.Contains(inst.stderr.String(), testToken) {
		t.Errorf("stderr shows a bootstrap secret:\n%s", inst.stderr)
	}
	if strings.Contains(inst.stderr.String(), "Generated password") {
		t.Errorf("a password was generated although one was given")
	}

	// Restart on the same data: bootstrap is a no-op and data persists.
	inst = startServe(t, env)
	list = adminList{}
	call(t, "GET", inst.url+"/api/v1/administrators", testToken, nil, &list)
	if len(list.Administrators) != 2 {
		t.Errorf("after restart: %d administrators, want 2", len(list.Administrators))
	}
	if got := inst.stderr.String(); !strings.Contains(got, "using existing account") || strings.Contains(got, "bootstrap setting ignored") {
		t.Errorf("restart with the same bootstrap settings: want a quiet no-op, stderr:\n%s", got)
	}
	inst.stop()

	// Restart with a different bootstrap token: not created, and said so.
	env2 := map[string]string{envDataDir: dir, envBootstrapToken: "hf_a-different-token-0123456789abcdef"}
	inst = startServe(t, env2)
	if code, _ := call(t, "GET", inst.url+"/api/v1/administrators", env2[envBootstrapToken], nil, nil); code != http.StatusUnauthorized {
		t.Errorf("a changed bootstrap token was accepted (%d); it must not be created on a later start", code)
	}
	if code, _ := call(t, "GET", inst.url+"/api/v1/administrators", testToken, nil, nil); code != http.StatusOK {
		t.Errorf("the original token stopped working (%d)", code)
	}
	if !strings.Contains(inst.stderr.String(), "bootstrap token ignored") {
		t.Errorf("no warning about the ignored token; stderr:\n%s", inst.stderr)
	}
	inst.stop()

	// The bundle of the only account.
	out := filepath.Join(t.TempDir(), "bundle.tar.gz")
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"bundle", "-o", out, "--data-dir", dir}, envFunc(nil), io.Discard, &stderr); err != nil {
		t.Fatalf("bundle: %v\n%s", err, stderr.String())
	}
	names := bundleFiles(t, out)
	if !names[".manifest"] || !names["holdfast/account/data.json"] {
		t.Errorf("bundle files = %v, want .manifest and holdfast/account/data.json", names)
	}
	if err := run(context.Background(), []string{"bundle", "-o", out, "--data-dir", dir, "--account", "nope"}, envFunc(nil), io.Discard, io.Discard); err == nil {
		t.Error("bundle --account with an unknown account succeeded")
	}
}

// bundleFiles returns the names in a .tar.gz.
func bundleFiles(tb testing.TB, path string) map[string]bool {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("bundle is not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	names := map[string]bool{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("bundle is not a tar: %v", err)
		}
		names[strings.TrimPrefix(h.Name, "/")] = true
	}
	if len(names) == 0 {
		tb.Fatal("bundle is empty")
	}
	return names
}

func TestServeDemo(t *testing.T) {
	env := map[string]string{envDataDir: t.TempDir(), envBootstrapToken: testToken}
	inst := startServe(t, env, "--demo")
	var list adminList
	if code, body := call(t, "GET", inst.url+"/api/v1/administrators?limit=100", testToken, nil, &list); code != http.StatusOK {
		t.Fatalf("GET administrators = %d %s", code, body)
	}
	roles := map[string]bool{}
	for _, a := range list.Administrators {
		roles[a.Role] = true
	}
	if len(list.Administrators) < 9 {
		t.Errorf("demo has %d administrators, want at least 9", len(list.Administrators))
	}
	for _, r := range []string{"platform_admin", "cloud_admin", "help_desk_admin", "legal_admin", "ew_org_admin"} {
		if !roles[r] {
			t.Errorf("demo has no %s", r)
		}
	}
	var users struct {
		Users []json.RawMessage `json:"users"`
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/users?limit=100", testToken, nil, &users); code != http.StatusOK || len(users.Users) < 40 {
		t.Errorf("GET users = %d, %d users, want 40: %.300s", code, len(users.Users), body)
	}
	if n := strings.Count(inst.stderr.String(), "Generated password"); n != 1 {
		t.Errorf("the demo password was printed %d times, want once; stderr:\n%s", n, inst.stderr)
	}
	inst.stop()

	// Again on the same data: nothing added, nothing printed, no warnings.
	before := len(list.Administrators)
	inst = startServe(t, env, "--demo")
	list = adminList{}
	call(t, "GET", inst.url+"/api/v1/administrators?limit=100", testToken, nil, &list)
	got := inst.stderr.String()
	if len(list.Administrators) != before {
		t.Errorf("after restart: %d administrators, want %d", len(list.Administrators), before)
	}
	if strings.Contains(got, "Generated password") || strings.Contains(got, "level=WARN msg=\"bootstrap") {
		t.Errorf("restart of serve --demo printed a password or a bootstrap warning:\n%s", got)
	}
}

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, envFunc(nil), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "holdfast ") || len(strings.TrimSpace(out.String())) <= len("holdfast") {
		t.Errorf("version printed %q", out.String())
	}
	version = "v9.9.9-test"
	defer func() { version = "" }()
	out.Reset()
	run(context.Background(), []string{"version"}, envFunc(nil), &out, io.Discard)
	if got := strings.TrimSpace(out.String()); got != "holdfast v9.9.9-test" {
		t.Errorf("with -ldflags version: printed %q", got)
	}
}

func TestBadInput(t *testing.T) {
	emptyDir := t.TempDir()
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantErr   []string // substrings of the error
		wantUsage bool     // usage printed on stderr
	}{
		{"no command", nil, nil, []string{"no command"}, true},
		{"unknown command", []string{"frobnicate"}, nil, []string{`unknown command "frobnicate"`}, true},
		{"unknown flag", []string{"serve", "--bogus"}, nil, []string{"flag provided but not defined: -bogus"}, true},
		{"stray argument", []string{"serve", "extra"}, nil, []string{`unexpected argument "extra"`}, true},
		{"every bad value at once", []string{"serve", "--addr", "nowhere", "--edition", "platinum", "--log-format", "xml",
			"--log-level", "loud", "--db", "mysql://x", "--public-url", "ftp://x", "--trusted-proxies", "10.0.0.0/8,lb.internal"}, nil,
			[]string{"--addr", "--edition", "--log-format", "--log-level", "--db", "--public-url", `--trusted-proxies: "lb.internal"`}, false},
		{"bad env value", []string{"serve"}, map[string]string{envEdition: "gold"}, []string{`--edition: "gold"`}, false},
		{"negative decision cache", []string{"serve", "--decision-cache-bytes", "-5"}, nil, []string{"--decision-cache-bytes: must be a number of bytes"}, false},
		{"decision cache from env not a number", []string{"serve"}, map[string]string{envDecisionCache: "64MiB"}, []string{"--decision-cache-bytes"}, false},
		{"unknown policy evaluator", []string{"serve", "--policy-evaluator", "jit"}, nil, []string{`--policy-evaluator: "jit" is not wasm or topdown`}, false},
		{"unknown policy evaluator from env", []string{"serve"}, map[string]string{envPolicyEvaluator: "fast"}, []string{`--policy-evaluator: "fast"`}, false},
		{"short bootstrap secrets", []string{"serve", "--data-dir", emptyDir, "--addr", "127.0.0.1:0"},
			map[string]string{envBootstrapPassword: "short", envBootstrapToken: "tiny"},
			[]string{envBootstrapPassword + ": must be 12 to 64", envBootstrapToken + ": must be at least 24"}, false},
		{"weak bootstrap password", []string{"serve", "--data-dir", emptyDir, "--addr", "127.0.0.1:0"},
			map[string]string{envBootstrapPassword: "alllowercaseletters"},
			[]string{envBootstrapPassword + ": must contain an upper-case letter", envBootstrapPassword + ": must contain a digit"}, false},
		{"version with argument", []string{"version", "now"}, nil, []string{"unexpected argument"}, false},
		{"bundle without -o", []string{"bundle", "--data-dir", emptyDir}, nil, []string{"-o: an output file is required"}, false},
		{"bundle of nothing", []string{"bundle", "-o", filepath.Join(emptyDir, "b.tar.gz"), "--data-dir", filepath.Join(emptyDir, "none")}, nil,
			[]string{"no database"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(context.Background(), tt.args, envFunc(tt.env), io.Discard, &stderr)
			if err == nil {
				t.Fatalf("run(%q) succeeded", tt.args)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tt.wantUsage && !strings.Contains(stderr.String(), "Usage: holdfast") {
				t.Errorf("no usage on stderr: %q", stderr.String())
			}
			if msg := err.Error(); strings.Contains(msg, "short") || strings.Contains(msg, "tiny") {
				t.Errorf("error shows a secret: %v", err)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"serve", "-h"}, envFunc(nil), &out, &errOut); err != nil {
		t.Fatalf("serve -h: %v", err)
	}
	for _, flag := range []string{"-addr", "-data-dir", "-db", "-edition", "-public-url", "-demo", "-log-level", "-log-format", "HOLDFAST_ADDR"} {
		if !strings.Contains(errOut.String(), flag) {
			t.Errorf("serve -h does not document %s", flag)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantAddr string
		wantDB   string
	}{
		{"defaults", nil, nil, "127.0.0.1:8080", "sqlite:" + filepath.Join("holdfast-data", "holdfast.db")},
		{"env", nil, map[string]string{envAddr: ":9000", envDataDir: "/srv/hf"}, ":9000", "sqlite:/srv/hf/holdfast.db"},
		{"flag over env", []string{"--addr", ":9100", "--db", "postgres://u:p@db/hf"},
			map[string]string{envAddr: ":9000", envDB: "sqlite:/x.db"}, ":9100", "postgres://u:p@db/hf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Config
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			c.RegisterFlags(fs, envFunc(tt.env))
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			c.resolve()
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if c.Addr != tt.wantAddr || c.DB != tt.wantDB {
				t.Errorf("addr %q db %q, want %q %q", c.Addr, c.DB, tt.wantAddr, tt.wantDB)
			}
		})
	}
}

func TestStoreKind(t *testing.T) {
	tests := []struct{ dsn, kind, arg string }{
		{"sqlite:data/h.db", "sqlite", "data/h.db"},
		{"sqlite:///abs/h.db", "sqlite", "/abs/h.db"},
		{"postgres://u:p@localhost:5432/hf?sslmode=disable", "postgres", "postgres://u:p@localhost:5432/hf?sslmode=disable"},
		{"postgresql://u@db/hf", "postgres", "postgresql://u@db/hf"},
		{"sqlite:", "", ""},
		{"mysql://u:secret@db/hf", "", ""},
		{"holdfast.db", "", ""},
	}
	for _, tt := range tests {
		kind, arg, err := storeKind(tt.dsn)
		if kind != tt.kind || arg != tt.arg || (err == nil) != (tt.kind != "") {
			t.Errorf("storeKind(%q) = %q, %q, %v; want %q, %q", tt.dsn, kind, arg, err, tt.kind, tt.arg)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("storeKind(%q) error shows the password: %v", tt.dsn, err)
		}
	}
}
