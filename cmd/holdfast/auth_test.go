package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast/mail/mailtest"
)

// TestServeSignIn checks the sign-in wiring of serve: password login of
// the bootstrap administrator (who owes MFA enrolment), reset mail into
// the outbox of the data directory, and a SAML SP key pair that stays
// the same across restarts.
func TestServeSignIn(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{envDataDir: dir, envBootstrapEmail: "root@example.com",
		envBootstrapPassword: testPassword, envBootstrapToken: testToken}
	inst := startServe(t, env)

	var step struct{ Next string }
	if code, body := call(t, "POST", inst.url+"/auth/login", "", map[string]string{"email": "root@example.com", "password": testPassword}, &step); code != http.StatusOK || step.Next != "mfa_enroll" {
		t.Fatalf("login: %d %s", code, body)
	}
	if code, body := call(t, "POST", inst.url+"/auth/password/forgot", "", map[string]string{"email": "root@example.com"}, nil); code != http.StatusAccepted {
		t.Fatalf("forgot: %d %s", code, body)
	}
	// A message is a .eml file; one being written is a hidden temporary.
	var mails []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(mails) == 0; time.Sleep(50 * time.Millisecond) {
		mails, _ = filepath.Glob(filepath.Join(dir, "outbox", "*.eml"))
	}
	if len(mails) != 1 {
		t.Fatalf("outbox holds %d messages, want 1", len(mails))
	}
	raw, err := os.ReadFile(mails[0])
	if err != nil {
		t.Fatal(err)
	}
	if m, err := mailtest.Parse(raw); err != nil || !slices.Equal(m.To, []string{"root@example.com"}) || !strings.Contains(m.Text, "/login?reset=") {
		t.Fatalf("mail %s: %v", raw, err)
	}

	metadata := func(url string) string {
		resp, err := http.Get(url + "/auth/saml/metadata")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.Index(string(b), "X509Certificate>")
		if resp.StatusCode != 200 || i < 0 {
			t.Fatalf("metadata %d %s", resp.StatusCode, b)
		}
		return string(b[i : i+200])
	}
	first := metadata(inst.url)
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "saml-sp.key")); err != nil {
		t.Fatalf("SP key not kept in the data directory: %v", err)
	}
	inst = startServe(t, env)
	if metadata(inst.url) != first {
		t.Error("the SP certificate changed across a restart")
	}
}
