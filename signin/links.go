package signin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// IssueLink stores a new single-use link of purpose for admin through tx,
// valid for LinkValidity from now, after voiding the administrator's
// earlier unused links of that purpose (only the newest works). It
// returns the link's secret: the store keeps only its hash.
func IssueLink(ctx context.Context, tx holdfast.IdentityStore, admin holdfast.Administrator, purpose string, now time.Time) (holdfast.Secret, holdfast.Link, error) {
	secret := NewSecret(32)
	l := holdfast.Link{ID: SecretID(secret), AccountID: admin.AccountID, AdminID: admin.ID, Purpose: purpose,
		CreatedAt: now, ExpiresAt: now.Add(LinkValidity)}
	if err := tx.RevokeLinks(ctx, admin.AccountID, admin.ID, purpose, now); err != nil {
		return "", l, err
	}
	if err := tx.CreateLink(ctx, &l); err != nil {
		return "", l, err
	}
	return holdfast.Secret(secret), l, nil
}

// LinkURL is the address of a reset or invitation link under base.
func LinkURL(base string, secret holdfast.Secret) string {
	return base + "/login?reset=" + secret.Reveal()
}

// VoidLinks marks every unused reset and invitation link of admin used
// through tx: once a password is set, or the administrator is disabled,
// no older link may set another one.
func VoidLinks(ctx context.Context, tx holdfast.IdentityStore, admin holdfast.Administrator, now time.Time) error {
	for _, purpose := range []string{holdfast.LinkReset, holdfast.LinkInvite} {
		if err := tx.RevokeLinks(ctx, admin.AccountID, admin.ID, purpose, now); err != nil {
			return err
		}
	}
	return nil
}

// VoidCredentials ends, through tx, every way admin signs in or calls the
// API apart from the password itself: its sessions, its API tokens and
// its unused links. A disabled administrator enabled again starts from
// nothing. It is the admins.VoidFunc of disabling and deleting.
func VoidCredentials(ctx context.Context, tx holdfast.MetaStore, admin holdfast.Administrator, now time.Time) error {
	if err := VoidLinks(ctx, tx, admin, now); err != nil {
		return err
	}
	if err := tx.DeleteAdminSessions(ctx, admin.AccountID, admin.ID); err != nil {
		return err
	}
	tokens, err := tx.ListTokens(ctx, admin.AccountID, admin.ID)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if t.RevokedAt != nil {
			continue
		}
		if err := tx.RevokeToken(ctx, admin.AccountID, t.ID, now); err != nil {
			return err
		}
	}
	return nil
}

// issueLink makes a new link for admin and mails it. The mail goes out
// after the answer is decided, so its timing tells nothing.
func (s *Service) issueLink(ctx context.Context, base string, admin holdfast.Administrator, purpose string) error {
	var secret holdfast.Secret
	err := s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		var err error
		secret, _, err = IssueLink(ctx, tx, admin, purpose, s.now())
		return err
	})
	if err != nil {
		return err
	}
	subject, intro := "Reset your Holdfast password", "Someone asked to reset the password of your Holdfast administrator account."
	if purpose == holdfast.LinkInvite {
		subject, intro = "You are invited to Holdfast", "An administrator account was created for you in Holdfast."
	}
	body := fmt.Sprintf("%s\n\nSet your password here (the link works once, for 24 hours):\n\n%s\n\n"+
		"If you did not expect this message, ignore it.\n", intro, LinkURL(base, secret))
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mailTimeout)
	go func() {
		defer cancel()
		if s.mailer == nil {
			s.log.LogAttrs(mctx, slog.LevelWarn, "no mailer configured; link not sent", slog.String("admin_id", admin.ID))
			return
		}
		if err := s.mailer.Send(mctx, holdfast.Message{To: []string{admin.Email}, Subject: subject, Text: body}); err != nil {
			s.log.LogAttrs(mctx, slog.LevelError, "send link", slog.String("admin_id", admin.ID), slog.String("error", err.Error()))
		}
	}()
	return nil
}

// RequestReset mails a reset link, with its address under base, to the
// administrator of email when it is active and may use a password. It
// answers at once: the look-up and the link are made afterwards, for known
// and unknown emails alike, so neither the answer nor its timing tells
// whether the email is an administrator's.
func (s *Service) RequestReset(ctx context.Context, base, email string) {
	email = strings.ToLower(strings.TrimSpace(email))
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), mailTimeout)
	go func() {
		defer cancel()
		if err := s.resetLink(ctx, base, email); err != nil {
			s.logError(ctx, "password reset link", err)
		}
	}()
}

// resetLink is RequestReset's work.
func (s *Service) resetLink(ctx context.Context, base, email string) error {
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
	return s.inviteIfPassword(ctx, base, admin, holdfast.LinkReset)
}

// inviteIfPassword issues a link of purpose to admin when its role may
// sign in with a password in its account (under enforced SSO only those
// the catalog lets, see idp.RoleRules).
func (s *Service) inviteIfPassword(ctx context.Context, base string, admin holdfast.Administrator, purpose string) error {
	acct, err := s.store.GetAccount(ctx, admin.AccountID)
	if err != nil {
		return err
	}
	if ok, err := s.rules.PasswordSignIn(ctx, acct, admin); err != nil || !ok {
		return err
	}
	return s.issueLink(ctx, base, admin, purpose)
}

// Invite mails a new administrator the invitation to set a first
// password, when it may use one; the others sign in through the IdP,
// linked by their email.
func (s *Service) Invite(ctx context.Context, base string, admin holdfast.Administrator) error {
	return s.inviteIfPassword(ctx, base, admin, holdfast.LinkInvite)
}

// Reset is the use of a reset, invitation or setup link.
type Reset struct {
	Token  string
	New    string
	Repeat string
}

// ResetPassword sets the password with a link, once. A new password the
// policy refuses leaves the link usable; any other refusal is ErrBadLink,
// and the link is spent.
func (s *Service) ResetPassword(ctx context.Context, in Reset) error {
	now := s.now()
	id := SecretID(in.Token)
	err := s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		admin, err := linkAdmin(ctx, tx, id, now)
		if err != nil {
			return err
		}
		return s.SetPassword(ctx, tx, admin, in.New, in.Repeat)
	})
	if errors.Is(err, ErrBadLink) {
		s.spendLink(ctx, id, now)
	}
	return err
}

// linkAdmin uses the link id through tx and returns its active
// administrator; anything else is ErrBadLink.
func linkAdmin(ctx context.Context, tx holdfast.MetaStore, id string, now time.Time) (holdfast.Administrator, error) {
	l, err := tx.UseLink(ctx, id, now)
	if errors.Is(err, holdfast.ErrNotFound) {
		return holdfast.Administrator{}, ErrBadLink
	}
	if err != nil {
		return holdfast.Administrator{}, err
	}
	admin, err := tx.GetAdmin(ctx, l.AccountID, l.AdminID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return admin, ErrBadLink
	}
	if err != nil {
		return admin, err
	}
	if admin.State != holdfast.AdminActive {
		return admin, ErrBadLink
	}
	return admin, nil
}

// spendLink marks a refused link spent outside the refused transaction
// (which rolled its marking back), so that an expired link stays dead if
// the clock later steps back. Unknown and used links are left alone.
func (s *Service) spendLink(ctx context.Context, id string, now time.Time) {
	if _, err := s.store.UseLink(ctx, id, now); err != nil && !errors.Is(err, holdfast.ErrNotFound) {
		s.logError(ctx, "spend refused link", err)
	}
}

// The kinds of link an administrator may send another.
const (
	SendReset  = "reset"
	SendInvite = "invite"
)

// SendLink mails the administrator id a new reset link (admins.reset_password)
// or invitation (admins.create), with its address under base; sending
// again voids the earlier one. The sending is audited.
func (s *Service) SendLink(ctx context.Context, p holdfast.Principal, base, id, kind string) error {
	right, purpose, action := "admins.reset_password", holdfast.LinkReset, "administrator.reset_password"
	if kind == SendInvite {
		right, purpose, action = "admins.create", holdfast.LinkInvite, "administrator.invite"
	}
	admin, err := s.store.GetAdmin(ctx, p.AccountID, id)
	if err != nil {
		return err
	}
	props := map[string]any{"role": admin.RoleID, "scopes": admin.Scopes}
	c := change.Change{Action: action, ResourceType: holdfast.ResourceAdministrator, ResourceID: id,
		Checks: []change.Check{{Right: right, Resource: holdfast.Entity{Type: holdfast.ResourceAdministrator, ID: id, Properties: props}}}}
	if _, err := s.changes.Apply(ctx, p, c, func(holdfast.MetaStore) (string, any, error) { return id, nil, nil }); err != nil {
		return err
	}
	return s.issueLink(ctx, base, admin, purpose)
}
