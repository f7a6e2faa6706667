package server

import (
	"context"
	"time"

	"github.com/holdfast/holdfast"
)

// voidLinks marks every unused reset and invitation link of admin used:
// once a password is set, or the administrator is disabled, no older link
// may set another one.
func (s *Server) voidLinks(ctx context.Context, tx holdfast.MetaStore, admin holdfast.Administrator, now time.Time) error {
	ids := tx
	for _, purpose := range []string{holdfast.LinkReset, holdfast.LinkInvite} {
		if err := ids.RevokeLinks(ctx, admin.AccountID, admin.ID, purpose, now); err != nil {
			return err
		}
	}
	return nil
}

// voidCredentials ends every way admin signs in or calls the API apart
// from the password itself: its sessions, its API tokens and its unused
// links. A disabled administrator enabled again starts from nothing.
func (s *Server) voidCredentials(ctx context.Context, tx holdfast.MetaStore, admin holdfast.Administrator, now time.Time) error {
	if err := s.voidLinks(ctx, tx, admin, now); err != nil {
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
