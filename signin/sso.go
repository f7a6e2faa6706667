package signin

import (
	"context"
	"errors"
	"strings"

	"github.com/holdfast/holdfast"
)

// Asserted is who an identity provider vouched for.
type Asserted struct {
	Subject       string
	Email         string
	EmailVerified bool
}

// SignInWithIdP completes a single sign-on through c: it finds the
// administrator linked to c's issuer and the subject, or, at the first
// sign-in, links the one of c's account whose email the IdP asserts
// (verified); then it applies the sign-in rules (active, geofence,
// inactivity) and starts a session. Refusals are ErrBadSSO (or
// ErrOutsideFence), with the reason audited where there is an
// administrator to name.
func (s *Service) SignInWithIdP(ctx context.Context, c holdfast.IdPConfig, who Asserted, at Attempt) (Started, error) {
	admin, err := s.matchIdP(ctx, c, who)
	if err != nil {
		return Started{}, err
	}
	if admin.State != holdfast.AdminActive {
		s.auditSignIn(ctx, admin, c.Kind, holdfast.OutcomeFailed, "disabled")
		return Started{}, ErrBadSSO
	}
	acct, err := s.store.GetAccount(ctx, admin.AccountID)
	if err != nil {
		return Started{}, err
	}
	if err := s.fenceSignIn(ctx, admin, at.IP); err != nil {
		return Started{}, err
	}
	if disabled, err := s.disableIfInactive(ctx, acct, admin, s.now()); err != nil || disabled {
		if err == nil {
			err = ErrBadSSO
		}
		return Started{}, err
	}
	return s.start(ctx, admin, c.Kind, "", at)
}

// matchIdP returns the administrator who the assertion names: by the
// link of issuer and subject, else by verified email (then linked).
func (s *Service) matchIdP(ctx context.Context, c holdfast.IdPConfig, who Asserted) (holdfast.Administrator, error) {
	link, err := s.store.GetIdentityLink(ctx, c.Issuer, who.Subject)
	if errors.Is(err, holdfast.ErrNotFound) {
		return s.linkByEmail(ctx, c, who)
	}
	if err != nil {
		return holdfast.Administrator{}, err
	}
	if link.AccountID != c.AccountID {
		return holdfast.Administrator{}, ErrBadSSO
	}
	admin, err := s.store.GetAdmin(ctx, link.AccountID, link.AdminID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return admin, ErrBadSSO
	}
	return admin, err
}

// linkByEmail links the administrator of c's account with the asserted,
// verified email to the subject, unless another subject of the same
// issuer is linked to it already: that is a different person.
func (s *Service) linkByEmail(ctx context.Context, c holdfast.IdPConfig, who Asserted) (holdfast.Administrator, error) {
	email := strings.ToLower(strings.TrimSpace(who.Email))
	if email == "" || !who.EmailVerified {
		return holdfast.Administrator{}, ErrBadSSO
	}
	admin, err := s.store.GetAdminByEmail(ctx, email)
	if errors.Is(err, holdfast.ErrNotFound) || (err == nil && admin.AccountID != c.AccountID) {
		return holdfast.Administrator{}, ErrBadSSO
	}
	if err != nil {
		return admin, err
	}
	links, err := s.store.ListIdentityLinks(ctx, admin.AccountID, admin.ID)
	if err != nil {
		return admin, err
	}
	for _, l := range links {
		if l.Issuer == c.Issuer {
			s.auditSignIn(ctx, admin, c.Kind, holdfast.OutcomeDenied, "email asserted by another subject")
			return admin, ErrBadSSO
		}
	}
	nl := holdfast.IdentityLink{AccountID: admin.AccountID, AdminID: admin.ID, Issuer: c.Issuer, Subject: who.Subject,
		CreatedAt: s.now()}
	return admin, s.store.CreateIdentityLink(ctx, &nl)
}
