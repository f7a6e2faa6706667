package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/mail"
	"github.com/holdfast/holdfast/mail/mailtest"
	"github.com/holdfast/holdfast/mail/smtpsink"
)

func TestOutboxConformance(t *testing.T) {
	mailtest.TestMailer(t, func(t *testing.T) mailtest.Harness {
		dir := t.TempDir()
		return mailtest.Harness{Mailer: mail.Outbox{Dir: dir, From: "reports@example.com"}, Wait: func(tb testing.TB, n int) []mailtest.Delivered {
			return readOutbox(tb, dir)
		}}
	})
}

func TestSMTPConformance(t *testing.T) {
	mailtest.TestMailer(t, func(t *testing.T) mailtest.Harness {
		sink := smtpsink.Start(t, smtpsink.Options{User: "mailer", Password: "mail-secret"})
		return mailtest.Harness{Mailer: newSMTP(t, sink, mail.TLSMandatory, "mail-secret"), Wait: func(tb testing.TB, n int) []mailtest.Delivered {
			var out []mailtest.Delivered
			for _, m := range sink.Wait(tb, n) {
				out = append(out, mailtest.Delivered{Rcpt: m.To, Data: m.Data})
			}
			return out
		}}
	})
}

func newSMTP(tb testing.TB, sink *smtpsink.Sink, policy string, password holdfast.Secret) *mail.SMTP {
	tb.Helper()
	m, err := mail.NewSMTP(mail.SMTPOptions{Host: sink.Host, Port: sink.Port, TLS: policy, Username: "mailer", Password: password,
		From: "reports@example.com", TLSConfig: &tls.Config{RootCAs: sink.CAs, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		RetryInitially: time.Millisecond, Attempts: 4})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// readOutbox reads the outbox's .eml files and fails on anything else
// (a half-written temporary file left behind) or a mode other than 0600.
func readOutbox(tb testing.TB, dir string) []mailtest.Delivered {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		tb.Fatal(err)
	}
	var out []mailtest.Delivered
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".eml") {
			tb.Fatalf("outbox holds %s", e.Name())
		}
		info, err := e.Info()
		if err != nil {
			tb.Fatal(err)
		}
		if info.Mode().Perm() != 0o600 {
			tb.Errorf("%s has mode %v, want 0600", e.Name(), info.Mode().Perm())
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, mailtest.Delivered{Data: b})
	}
	return out
}

var msg = holdfast.Message{To: []string{"ana@example.com"}, Subject: "s", Text: "t"}

// TestSMTPRetriesTransient: two 451 answers, then the message goes
// through on the third attempt.
func TestSMTPRetriesTransient(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{User: "mailer", Password: "mail-secret"})
	sink.FailNext(451, 421)
	if err := newSMTP(t, sink, mail.TLSMandatory, "mail-secret").Send(context.Background(), msg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := sink.Wait(t, 1); len(got) != 1 || !slices.Equal(got[0].To, msg.To) {
		t.Errorf("delivered %v", got)
	}
	if a := sink.Attempts(); a != 3 {
		t.Errorf("%d attempts, want 3", a)
	}
}

// TestSMTPPermanentNotRetried: a 550 and a wrong password end the send at
// once, and the error never carries the password.
func TestSMTPPermanentNotRetried(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{User: "mailer", Password: "mail-secret"})
	sink.FailNext(550)
	if err := newSMTP(t, sink, mail.TLSMandatory, "mail-secret").Send(context.Background(), msg); err == nil {
		t.Fatal("a 550 was accepted")
	}
	if a := sink.Attempts(); a != 1 {
		t.Errorf("%d attempts after a 550, want 1", a)
	}
	err := newSMTP(t, sink, mail.TLSMandatory, "wrong-secret").Send(context.Background(), msg)
	if err == nil || strings.Contains(err.Error(), "wrong-secret") {
		t.Errorf("wrong password: %v", err)
	}
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("%d messages delivered", n)
	}
}

// TestSMTPMandatoryTLSVerifies: under the mandatory policy a certificate
// the sender does not trust stops the send before any credentials go out.
func TestSMTPMandatoryTLSVerifies(t *testing.T) {
	sink := smtpsink.Start(t, smtpsink.Options{User: "mailer", Password: "mail-secret"})
	m, err := mail.NewSMTP(mail.SMTPOptions{Host: sink.Host, Port: sink.Port, TLS: mail.TLSMandatory, Username: "mailer",
		Password: "mail-secret", Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), msg); err == nil {
		t.Fatal("sent over a certificate nobody trusts")
	}
	if a := sink.Attempts(); a != 0 {
		t.Errorf("%d deliveries started", a)
	}
}

func TestNewSMTPRefusesBadOptions(t *testing.T) {
	for _, o := range []mail.SMTPOptions{{}, {Host: "h", TLS: "sometimes"}, {Host: "h", Port: 70000}} {
		if _, err := mail.NewSMTP(o); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("NewSMTP(%+v) = %v, want ErrInvalid", o, err)
		}
	}
}
