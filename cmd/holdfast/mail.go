package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/mail"
)

// mailConfig is where mail goes (invitations, reset links, scheduled
// reports): an SMTP server when Host is set, otherwise .eml files in
// <data-dir>/outbox. The password comes from the environment or a file,
// never a flag, and is never logged (holdfast.Secret).
type mailConfig struct {
	Host         string
	Port         int
	TLS          string
	From         string
	Username     string
	Password     holdfast.Secret
	PasswordFile string
}

const (
	envSMTPHost         = "HOLDFAST_SMTP_HOST"
	envSMTPPort         = "HOLDFAST_SMTP_PORT"
	envSMTPTLS          = "HOLDFAST_SMTP_TLS"
	envSMTPFrom         = "HOLDFAST_SMTP_FROM"
	envSMTPUsername     = "HOLDFAST_SMTP_USERNAME"
	envSMTPPassword     = "HOLDFAST_SMTP_PASSWORD"
	envSMTPPasswordFile = "HOLDFAST_SMTP_PASSWORD_FILE"
)

func (c *mailConfig) registerFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.Host, "smtp-host", getenv(envSMTPHost),
		"SMTP server for invitations, reset links and scheduled reports ($"+envSMTPHost+"; default: .eml files in <data-dir>/outbox)")
	port, _ := strconv.Atoi(getenv(envSMTPPort))
	fs.IntVar(&c.Port, "smtp-port", port, "SMTP port ($"+envSMTPPort+"; default 587, or 465 with --smtp-tls implicit)")
	fs.StringVar(&c.TLS, "smtp-tls", envOr(getenv, envSMTPTLS, mail.TLSMandatory),
		"TLS policy: mandatory (STARTTLS or refuse), opportunistic, implicit (SMTPS) or none ($"+envSMTPTLS+")")
	fs.StringVar(&c.From, "smtp-from", envOr(getenv, envSMTPFrom, mail.DefaultFrom), "sender address of mail ($"+envSMTPFrom+")")
	fs.StringVar(&c.Username, "smtp-username", getenv(envSMTPUsername),
		"SMTP user name ($"+envSMTPUsername+"; the password in $"+envSMTPPassword+" or the file --smtp-password-file names)")
	fs.StringVar(&c.PasswordFile, "smtp-password-file", getenv(envSMTPPasswordFile), "file holding the SMTP password ($"+envSMTPPasswordFile+")")
	c.Password = holdfast.Secret(getenv(envSMTPPassword))
}

func (c *mailConfig) validate() error {
	var errs []error
	if c.Host == "" {
		return nil
	}
	if c.Password != "" && c.PasswordFile != "" {
		errs = append(errs, errors.New("--smtp-password-file: give the password in the file or in $"+envSMTPPassword+", not both"))
	}
	if _, err := mail.NewSMTP(mail.SMTPOptions{Host: c.Host, Port: c.Port, TLS: c.TLS}); err != nil {
		errs = append(errs, fmt.Errorf("--smtp-host, --smtp-port, --smtp-tls: %w", err))
	}
	return errors.Join(errs...)
}

// mailer is the configured holdfast.Mailer.
func (c *mailConfig) mailer(dataDir string, clock holdfast.Clock) (holdfast.Mailer, error) {
	if c.Host == "" {
		return mail.Outbox{Dir: filepath.Join(dataDir, "outbox"), From: c.From, Clock: clock}, nil
	}
	password := c.Password
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("--smtp-password-file: %w", err)
		}
		password = holdfast.Secret(strings.TrimRight(string(b), "\r\n"))
	}
	return mail.NewSMTP(mail.SMTPOptions{Host: c.Host, Port: c.Port, TLS: c.TLS, Username: c.Username,
		Password: password, From: c.From, Clock: clock})
}
