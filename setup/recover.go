package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/lockout"
	"github.com/holdfast/holdfast/signin"
)

// RecoverOptions describe the platform administrator the operator of the
// machine brings back (holdfast admin recover).
type RecoverOptions struct {
	// AccountID is the account; "" picks the only one.
	AccountID string
	// Email is the administrator to re-enable, or to create when no
	// administrator has it. Required.
	Email string
	// BaseURL is the address the server is reached at; the sign-in link
	// is BaseURL + "/login?reset=...". Required.
	BaseURL string
	// Clock dates the link and the records; nil is the wall clock.
	Clock holdfast.Clock
}

// RecoverResult says what Recover did. Link is a live credential: print it
// to the operator once and never log it.
type RecoverResult struct {
	Account holdfast.Account
	Admin   holdfast.Administrator
	Created bool
	// Link sets the administrator's password, once, until ExpiresAt.
	Link      holdfast.Secret
	ExpiresAt time.Time
}

// Recover is the way back into a locked-out account for whoever owns the
// server's database. In one transaction with an "administrator.recover"
// audit record by the system, it makes the administrator with
// opts.Email an active platform administrator who can use the fail-safe
// password (the role comes from the catalog's rules), creating it in the
// account when no administrator has that email; it clears the
// administrator's password lockout and TOTP enrolment (a lost
// authenticator is a common reason to be locked out; the next sign-in
// enrols again), voids its other links, and returns a one-time link that
// sets its password.
//
// A malformed email is ErrInvalid; an email of another account's
// administrator is ErrConflict; no or several accounts without
// opts.AccountID is ErrInvalid.
func Recover(ctx context.Context, store holdfast.MetaStore, engine Engine, opts RecoverOptions) (RecoverResult, error) {
	var res RecoverResult
	var v holdfast.ValidationError
	email := holdfast.CheckEmail(&v, "email", opts.Email)
	if opts.BaseURL == "" {
		v.Add("public_url", "is required")
	}
	if err := v.Err(); err != nil {
		return res, fmt.Errorf("recover: %w", err)
	}
	now := holdfast.ClockOrSystem(opts.Clock).Now
	acct, err := recoverAccount(ctx, store, opts.AccountID)
	if err != nil {
		return res, err
	}
	rules := engine.Catalog().Rules
	rule, err := lockout.New(engine, rules.PlatformAdminRight, rules.FailsafeRight).Rule(ctx, acct.ID)
	if err != nil {
		return res, err
	}
	role, err := rule.RecoveryRole()
	if err != nil {
		return res, fmt.Errorf("recover: %w", err)
	}
	t := now().UTC().Truncate(time.Microsecond)
	var secret holdfast.Secret
	err = store.Tx(ctx, func(tx holdfast.MetaStore) error {
		a, created, err := recoverAdmin(ctx, tx, acct.ID, email, role, t)
		if err != nil {
			return err
		}
		txIDs := holdfast.IdentityStore(tx)
		if err := signin.ResetSecondFactor(ctx, txIDs, a, t); err != nil {
			return err
		}
		if err := signin.VoidLinks(ctx, txIDs, a, t); err != nil {
			return err
		}
		var l holdfast.Link
		if secret, l, err = signin.IssueLink(ctx, txIDs, a, holdfast.LinkReset, t); err != nil {
			return err
		}
		// a now is one, by the rule's own role; asked all the same, so
		// the rule stays the one judge.
		if err := rule.Check(ctx, tx, "recovering "+email); err != nil {
			return err
		}
		detail, err := json.Marshal(map[string]any{"email": a.Email, "role": a.RoleID, "created": created,
			"link_expires_at": l.ExpiresAt, "via": "holdfast admin recover"})
		if err != nil {
			return err
		}
		rec := holdfast.AuditRecord{AccountID: a.AccountID, Time: t, ActorEmail: "operator", Action: "administrator.recover",
			ResourceType: holdfast.ResourceAdministrator, ResourceID: a.ID, Outcome: holdfast.OutcomeSuccess, Detail: detail}
		if err := tx.AppendAudit(ctx, &rec); err != nil {
			return fmt.Errorf("recover: audit: %w", err)
		}
		res = RecoverResult{Account: acct, Admin: a, Created: created, ExpiresAt: l.ExpiresAt}
		return nil
	})
	if err != nil {
		return RecoverResult{}, err
	}
	res.Link = holdfast.Secret(signin.LinkURL(opts.BaseURL, secret))
	return res, nil
}

// recoverAccount returns the account id names, or the only account.
func recoverAccount(ctx context.Context, store holdfast.MetaStore, id string) (holdfast.Account, error) {
	if id != "" {
		a, err := store.GetAccount(ctx, id)
		if err != nil {
			return a, fmt.Errorf("recover: account %q: %w", id, err)
		}
		return a, nil
	}
	accounts, err := store.ListAccounts(ctx)
	if err != nil {
		return holdfast.Account{}, err
	}
	switch len(accounts) {
	case 0:
		return holdfast.Account{}, fmt.Errorf(`recover: %w: the store holds no account (start "holdfast serve" once first)`, holdfast.ErrInvalid)
	case 1:
		return accounts[0], nil
	}
	return holdfast.Account{}, fmt.Errorf("recover: %w: the store holds %d accounts; choose one with --account", holdfast.ErrInvalid, len(accounts))
}

// recoverAdmin makes the administrator with email an active holder of
// role, creating it when nobody has the email.
func recoverAdmin(ctx context.Context, tx holdfast.MetaStore, accountID, email, role string, now time.Time) (holdfast.Administrator, bool, error) {
	a, err := tx.GetAdminByEmail(ctx, email)
	if errors.Is(err, holdfast.ErrNotFound) {
		a = holdfast.Administrator{AccountID: accountID, Name: nameFromEmail(email), Email: email, RoleID: role,
			State: holdfast.AdminActive, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateAdmin(ctx, &a); err != nil {
			return a, false, fmt.Errorf("recover: create administrator %s: %w", email, err)
		}
		return a, true, nil
	}
	if err != nil {
		return a, false, err
	}
	if a.AccountID != accountID {
		return a, false, fmt.Errorf("recover: %w: %s is an administrator of another account", holdfast.ErrConflict, email)
	}
	a.RoleID, a.State, a.UpdatedAt = role, holdfast.AdminActive, now
	if err := tx.UpdateAdmin(ctx, &a); err != nil {
		return a, false, fmt.Errorf("recover: administrator %s: %w", email, err)
	}
	return a, false, nil
}
