package main

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/holdfast/holdfast/mail/mailtest"
	"github.com/holdfast/holdfast/mail/smtpsink"
)

// TestServeMailsBySMTP: with an SMTP server configured, serve mails the
// reset link there, authenticated with the password from its file, and
// the password is in no log line.
func TestServeMailsBySMTP(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{User: "mailer", Password: "smtp-file-secret"})
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(pwFile, []byte("smtp-file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envDataDir: dir, envBootstrapEmail: "root@example.com",
		envBootstrapPassword: testPassword, envBootstrapToken: testToken,
		envSMTPHost: sink.Host, envSMTPPort: strconv.Itoa(sink.Port), envSMTPTLS: "none",
		envSMTPUsername: "mailer", envSMTPPasswordFile: pwFile, envSMTPFrom: "holdfast@example.com"}
	inst := startServe(t, env, "--log-level", "debug")
	if code, body := call(t, "POST", inst.url+"/auth/password/forgot", "", map[string]string{"email": "root@example.com"}, nil); code != http.StatusAccepted {
		t.Fatalf("forgot: %d %s", code, body)
	}
	got := sink.Wait(t, 1)
	m, err := mailtest.Parse(got[0].Data)
	if err != nil || !slices.Equal(got[0].To, []string{"root@example.com"}) || !strings.Contains(m.Text, "/login?reset=") ||
		!strings.Contains(m.Header.Get("From"), "holdfast@example.com") {
		t.Fatalf("delivered %+v (%v)", got[0], err)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "outbox")); len(entries) != 0 {
		t.Errorf("the outbox holds %d messages with SMTP configured", len(entries))
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(inst.stderr.String(), "smtp-file-secret") {
		t.Error("the SMTP password is in the log")
	}
}

func TestMailConfigRefusesBadSettings(t *testing.T) {
	for _, c := range []mailConfig{
		{Host: "mail.example.com", TLS: "sometimes"},
		{Host: "mail.example.com", TLS: "mandatory", Port: 99999},
		{Host: "mail.example.com", TLS: "mandatory", Password: "a", PasswordFile: "/x"},
	} {
		if err := c.validate(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if err := (&mailConfig{}).validate(); err != nil {
		t.Errorf("no SMTP host (the outbox): %v", err)
	}
}
