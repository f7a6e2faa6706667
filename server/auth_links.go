package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/signin"
)

// Mailer sends one plain-text message. Implementations must be safe for
// concurrent use and must not log the body (it carries links).
type Mailer interface {
	Send(ctx context.Context, to, subject, body string) error
}

// OutboxMailer writes each message as an RFC 5322 .eml file into Dir, for
// servers without SMTP (the embedded default): an operator delivers or
// opens them by hand.
type OutboxMailer struct {
	Dir  string
	From string // "" = holdfast@localhost
	Now  func() time.Time
}

// Send writes the message to a new file in Dir.
func (m OutboxMailer) Send(_ context.Context, to, subject, body string) error {
	now := time.Now
	if m.Now != nil {
		now = m.Now
	}
	if err := os.MkdirAll(m.Dir, 0o700); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	msg := composeMail(m.from(), to, subject, body, now())
	name := fmt.Sprintf("%s-%s.eml", now().UTC().Format("20060102T150405Z"), signin.NewSecret(6))
	// 0600: the file holds a live link.
	if err := os.WriteFile(filepath.Join(m.Dir, name), msg, 0o600); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	return nil
}

func (m OutboxMailer) from() string {
	if m.From == "" {
		return "holdfast@localhost"
	}
	return m.From
}

// SMTPMailer sends through an SMTP server with STARTTLS when offered
// (net/smtp refuses PLAIN auth without TLS except to localhost).
type SMTPMailer struct {
	Addr     string // host:port
	From     string
	Username string
	Password holdfast.Secret
}

// Send delivers the message.
func (m SMTPMailer) Send(_ context.Context, to, subject, body string) error {
	var auth smtp.Auth
	if m.Username != "" {
		host, _, _ := strings.Cut(m.Addr, ":")
		auth = smtp.PlainAuth("", m.Username, m.Password.Reveal(), host)
	}
	if err := smtp.SendMail(m.Addr, auth, m.From, []string{to}, composeMail(m.From, to, subject, body, time.Now())); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	return nil
}

// composeMail builds a minimal RFC 5322 message with a UTF-8 text body.
func composeMail(from, to, subject, body string, at time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\n", (&mail.Address{Address: from}).String())
	fmt.Fprintf(&b, "To: %s\r\n", (&mail.Address{Address: to}).String())
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", at.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@holdfast>\r\n", signin.NewSecret(12))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}

// forgotAnswer is the one answer of POST /auth/password/forgot, whatever
// the email: it must not reveal whether an administrator has it.
var forgotAnswer = map[string]string{"status": "if an administrator has this email and may use a password, a reset link is on its way"}

// forgotPassword serves POST /auth/password/forgot {email}.
func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	in, ok, err := s.beginStep(w, r, "")
	if !ok {
		return err
	}
	s.signin.RequestReset(r.Context(), s.linkBaseURL(r), in.get("email"))
	if in.form {
		http.Redirect(w, r, "/login?sent=1", http.StatusSeeOther)
		return nil
	}
	return writeJSON(w, http.StatusAccepted, forgotAnswer)
}

// resetPassword serves POST /auth/password/reset {token, new, repeat}:
// a reset or invitation link sets the password, once. A refused new
// password leaves the link usable; any other refusal is signin.ErrBadLink.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	in, ok, err := s.beginStep(w, r, "")
	if !ok {
		return err
	}
	if err := s.signin.ResetPassword(r.Context(), signin.Reset{Token: in.get("token"), New: in.get("new"), Repeat: in.get("repeat")}); err != nil {
		if in.form && !errors.Is(err, signin.ErrBadLink) {
			q := "/login?error=invalid&reset=" + in.get("token")
			http.Redirect(w, r, q, http.StatusSeeOther)
			return nil
		}
		return s.failStep(w, r, in, "", err)
	}
	if in.form {
		http.Redirect(w, r, "/login?changed=1", http.StatusSeeOther)
		return nil
	}
	return noContent(w)
}

// sendResetLink serves POST /api/v1/administrators/{id}/reset-password
// (admins.reset_password): mails the administrator a new reset link;
// calling it again re-sends a fresh one and voids the old.
func (s *Server) sendResetLink(w http.ResponseWriter, r *http.Request) error {
	return s.sendLink(w, r, signin.SendReset)
}

// sendInvite serves POST /api/v1/administrators/{id}/invite (admins.create):
// (re-)sends the invitation to set a first password.
func (s *Server) sendInvite(w http.ResponseWriter, r *http.Request) error {
	return s.sendLink(w, r, signin.SendInvite)
}

func (s *Server) sendLink(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	if err := s.signin.SendLink(ctx, principal(ctx), s.linkBaseURL(r), r.PathValue("id"), kind); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

// inviteNewAdmin mails a new administrator the invitation to set a first
// password, when sign-in is on and the administrator may use a password.
func (s *Server) inviteNewAdmin(ctx context.Context, r *http.Request, a holdfast.Administrator) error {
	if s.auth == nil {
		return nil
	}
	return s.signin.Invite(ctx, s.linkBaseURL(r), a)
}

// linkBaseURL is the base of URLs mailed to administrators: Options.PublicURL,
// or else the address the connection reached, never the request's Host or
// X-Forwarded-* headers. Anyone may ask for a reset link to someone else's
// address; a Host of theirs would otherwise put their host in a genuine mail
// and the secret in their logs once the link is clicked.
func (s *Server) linkBaseURL(r *http.Request) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		host = a.String()
	}
	return scheme + "://" + host
}
