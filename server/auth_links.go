package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	name := fmt.Sprintf("%s-%s.eml", now().UTC().Format("20060102T150405Z"), randomSecret(6))
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
	fmt.Fprintf(&b, "Message-ID: <%s@holdfast>\r\n", randomSecret(12))
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	return b.Bytes()
}

// issueLink makes a new single-use link for admin, voiding the earlier
// unused ones of the same purpose (re-sending), and mails it. The mail
// goes out after the answer is decided, so its timing tells nothing.
func (s *Server) issueLink(ctx context.Context, base string, admin holdfast.Administrator, purpose string) error {
	now := s.now().UTC()
	secret := randomSecret(32)
	l := holdfast.Link{ID: hashID(secret), AccountID: admin.AccountID, AdminID: admin.ID, Purpose: purpose,
		CreatedAt: now, ExpiresAt: now.Add(linkValidity)}
	err := s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		ids := tx
		if err := ids.RevokeLinks(ctx, admin.AccountID, admin.ID, purpose, now); err != nil {
			return err
		}
		return ids.CreateLink(ctx, &l)
	})
	if err != nil {
		return err
	}
	link := base + "/login?reset=" + secret
	subject, intro := "Reset your Holdfast password", "Someone asked to reset the password of your Holdfast administrator account."
	if purpose == holdfast.LinkInvite {
		subject, intro = "You are invited to Holdfast", "An administrator account was created for you in Holdfast."
	}
	body := fmt.Sprintf("%s\n\nSet your password here (the link works once, for 24 hours):\n\n%s\n\n"+
		"If you did not expect this message, ignore it.\n", intro, link)
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	go func() {
		defer cancel()
		if s.auth.mailer == nil {
			s.log.LogAttrs(mctx, slog.LevelWarn, "no mailer configured; link not sent", slog.String("admin_id", admin.ID))
			return
		}
		if err := s.auth.mailer.Send(mctx, admin.Email, subject, body); err != nil {
			s.log.LogAttrs(mctx, slog.LevelError, "send link", slog.String("admin_id", admin.ID), slog.String("error", err.Error()))
		}
	}()
	return nil
}

// forgotAnswer is the one answer of POST /auth/password/forgot, whatever
// the email: it must not reveal whether an administrator has it.
var forgotAnswer = map[string]string{"status": "if an administrator has this email and may use a password, a reset link is on its way"}

// forgotPassword serves POST /auth/password/forgot {email}.
func (s *Server) forgotPassword(w http.ResponseWriter, r *http.Request) error {
	in, err := readSignIn(w, r)
	if err != nil {
		return err
	}
	if err := s.sameOrigin(r); err != nil {
		return s.failStep(w, r, in, "", err)
	}
	email := strings.ToLower(strings.TrimSpace(in.get("email")))
	// The lookup and the link are made after the answer, for known and
	// unknown emails alike, so neither the answer nor its timing tells
	// whether the email is an administrator's.
	base := s.linkBaseURL(r)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	go func() {
		defer cancel()
		if err := s.forgotLink(ctx, base, email); err != nil {
			s.log.LogAttrs(ctx, slog.LevelError, "password reset link", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
		}
	}()
	if in.form {
		http.Redirect(w, r, "/login?sent=1", http.StatusSeeOther)
		return nil
	}
	return writeJSON(w, http.StatusAccepted, forgotAnswer)
}

// forgotLink mails a reset link to email when it names an active
// administrator who may use a password.
func (s *Server) forgotLink(ctx context.Context, base, email string) error {
	if email == "" {
		return nil
	}
	admin, err := s.store.GetAdminByEmail(ctx, email)
	if errors.Is(err, holdfast.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if admin.State != holdfast.AdminActive {
		return nil
	}
	acct, err := s.store.GetAccount(ctx, admin.AccountID)
	if err != nil {
		return err
	}
	if ok, err := s.roleRules.PasswordSignIn(ctx, acct, admin); err != nil || !ok {
		return err
	}
	return s.issueLink(ctx, base, admin, holdfast.LinkReset)
}

// resetPassword serves POST /auth/password/reset {token, new, repeat}:
// a reset or invitation link sets the password, once. A refused new
// password leaves the link usable; any other refusal is errBadLink.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	in, err := readSignIn(w, r)
	if err != nil {
		return err
	}
	if err := s.sameOrigin(r); err != nil {
		return s.failStep(w, r, in, "", err)
	}
	ctx := r.Context()
	now := s.now().UTC()
	var admin holdfast.Administrator
	err = s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		l, err := tx.UseLink(ctx, hashID(in.get("token")), now)
		if errors.Is(err, holdfast.ErrNotFound) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		admin, err = tx.GetAdmin(ctx, l.AccountID, l.AdminID)
		if errors.Is(err, holdfast.ErrNotFound) {
			return errBadLink
		}
		if err != nil {
			return err
		}
		if admin.State != holdfast.AdminActive {
			return errBadLink
		}
		return s.setPassword(ctx, tx, admin, in.get("new"), in.get("repeat"))
	})
	if errors.Is(err, errBadLink) {
		s.spendLink(ctx, hashID(in.get("token")), now)
	}
	if err != nil {
		if in.form && !errors.Is(err, errBadLink) {
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

// spendLink marks a refused link spent outside the refused transaction
// (which rolled its marking back), so that an expired link stays dead if
// the clock later steps back. Unknown and used links are left alone.
func (s *Server) spendLink(ctx context.Context, id string, now time.Time) {
	if _, err := s.store.UseLink(ctx, id, now); err != nil && !errors.Is(err, holdfast.ErrNotFound) {
		s.log.LogAttrs(ctx, slog.LevelError, "spend refused link", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
	}
}

// sendResetLink serves POST /api/v1/administrators/{id}/reset-password
// (admins.reset_password): mails the administrator a new reset link;
// calling it again re-sends a fresh one and voids the old.
func (s *Server) sendResetLink(w http.ResponseWriter, r *http.Request) error {
	return s.sendLink(w, r, "admins.reset_password", holdfast.LinkReset, "administrator.reset_password")
}

// sendInvite serves POST /api/v1/administrators/{id}/invite (admins.create):
// (re-)sends the invitation to set a first password.
func (s *Server) sendInvite(w http.ResponseWriter, r *http.Request) error {
	return s.sendLink(w, r, "admins.create", holdfast.LinkInvite, "administrator.invite")
}

func (s *Server) sendLink(w http.ResponseWriter, r *http.Request, right, purpose, action string) error {
	ctx := r.Context()
	id := r.PathValue("id")
	admin, err := s.store.GetAdmin(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return err
	}
	props := map[string]any{"role": admin.RoleID, "scopes": admin.Scopes}
	c := change{action: action, resourceType: holdfast.ResourceAdministrator, resourceID: id,
		checks: []check{{right: right, resource: adminEntity(id, props)}}}
	if _, err := s.apply(ctx, c, func(holdfast.MetaStore) (string, any, error) { return id, nil, nil }); err != nil {
		return err
	}
	if err := s.issueLink(ctx, s.linkBaseURL(r), admin, purpose); err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

// inviteNewAdmin mails a new administrator the invitation to set a first
// password, when sign-in is on and the administrator may use a password
// (under enforced SSO only those the catalog lets, see idp.RoleRules; the
// others sign in through the IdP, linked by their email).
func (s *Server) inviteNewAdmin(ctx context.Context, r *http.Request, a holdfast.Administrator) error {
	if s.auth == nil {
		return nil
	}
	acct, err := s.store.GetAccount(ctx, a.AccountID)
	if err != nil {
		return err
	}
	if ok, err := s.roleRules.PasswordSignIn(ctx, acct, a); err != nil || !ok {
		return err
	}
	return s.issueLink(ctx, s.linkBaseURL(r), a, holdfast.LinkInvite)
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
