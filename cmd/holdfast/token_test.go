package main

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestTokenCreateOffline: "holdfast token create" makes a working API token
// of an administrator on a stopped server's data directory, prints only the
// secret on stdout, audits it, and refuses while a server holds the
// directory or when the administrator is unknown.
func TestTokenCreateOffline(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{envDataDir: dir, envBootstrapEmail: "root@example.com",
		envBootstrapPassword: testPassword, envBootstrapToken: testToken}
	inst := startServe(t, env)
	_, _, err := runCmd(t, nil, "token", "create", "--data-dir", dir, "--admin", "root@example.com")
	if !errors.Is(err, errDataDirLocked) {
		t.Fatalf("token create while serve runs: %v, want errDataDirLocked", err)
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--admin", "nobody@example.com"}, "not found"},
		{[]string{"--admin", "root@example.com", "--expires", "soon"}, "--expires"},
		{[]string{"--admin", "root@example.com", "--expires", "99999d"}, "expires_in_days"},
		{[]string{}, "--admin"},
	} {
		stdout, _, err := runCmd(t, nil, append([]string{"token", "create", "--data-dir", dir}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || stdout != "" {
			t.Errorf("token create %v: %v (stdout %q), want a refusal mentioning %q", tc.args, err, stdout, tc.want)
		}
	}
	if _, _, err := runCmd(t, nil, "token", "create", "--data-dir", t.TempDir(), "--admin", "root@example.com"); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Errorf("token create on an empty directory: %v", err)
	}

	stdout, stderr, err := runCmd(t, nil, "token", "create", "--data-dir", dir, "--admin", "Root@Example.com", "--name", "ci", "--expires", "30d")
	if err != nil {
		t.Fatal(err)
	}
	secret := strings.TrimSpace(stdout)
	if strings.Count(stdout, "\n") != 1 || len(secret) < 24 || strings.Contains(stderr, secret) || !strings.Contains(stderr, "expires") {
		t.Fatalf("stdout %q stderr %q: want the secret alone on stdout", stdout, stderr)
	}

	inst = startServe(t, env)
	var list struct {
		Tokens []struct {
			ID, Name  string
			ExpiresAt *string `json:"expires_at"`
		}
	}
	if code, body := call(t, "GET", inst.url+"/api/v1/tokens", secret, nil, &list); code != http.StatusOK {
		t.Fatalf("the API with the offline token: %d %s", code, body)
	}
	var ci int
	for _, tk := range list.Tokens {
		if tk.Name == "ci" && tk.ExpiresAt != nil {
			ci++
		}
	}
	if ci != 1 {
		t.Errorf("tokens %+v, want one named ci that expires", list.Tokens)
	}
	code, body := call(t, "GET", inst.url+"/api/v1/audit", testToken, nil, nil)
	if code != http.StatusOK || !strings.Contains(body, `"api_token.create"`) || !strings.Contains(body, `"via":"cli"`) {
		t.Errorf("audit: %d %s, want an api_token.create record made via cli", code, body)
	}
}
