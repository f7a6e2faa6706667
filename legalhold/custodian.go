package legalhold

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// MaxCustodiansPerCall bounds the emails of one add or remove call, like
// the rows of one CSV file and the entries of one custodian page (W24).
const MaxCustodiansPerCall = 500

// CustodianReport is the answer to adding or removing custodians by email
// (W24): which emails were added or removed, which were already on the hold
// or not on it, and which are not valid users of the account. Emails are
// in lower case and each appears once, in the order given.
type CustodianReport struct {
	Added         []string `json:"added"`
	Removed       []string `json:"removed"`
	AlreadyOnHold []string `json:"already_on_hold"`
	NotOnHold     []string `json:"not_on_hold"`
	InvalidUsers  []string `json:"invalid_users"`
}

func newReport() CustodianReport {
	return CustodianReport{Added: []string{}, Removed: []string{}, AlreadyOnHold: []string{}, NotOnHold: []string{}, InvalidUsers: []string{}}
}

// Changed reports whether anything was added or removed.
func (r CustodianReport) Changed() bool { return len(r.Added)+len(r.Removed) > 0 }

// NormalizeEmail returns a plain address in lower case, or ok false when s
// is not one (a display name, several addresses, or junk).
func NormalizeEmail(s string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(s))
	if e == "" || len(e) > 254 {
		return e, false
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Name != "" || a.Address != e {
		return e, false
	}
	return e, true
}

// checkCount refuses an empty or oversized list of emails.
func checkCount(emails []string) error {
	switch {
	case len(emails) == 0:
		return fmt.Errorf("%w: emails: at least one email is required", holdfast.ErrInvalid)
	case len(emails) > MaxCustodiansPerCall:
		return fmt.Errorf("%w: emails: at most %d emails per call; split the list", holdfast.ErrInvalid, MaxCustodiansPerCall)
	}
	return nil
}

// validUser returns the active or preserved user with the email; a deleted
// user or none is ok false. Only users with valid accounts become
// custodians (W14).
func validUser(ctx context.Context, tx holdfast.MetaStore, accountID, email string) (holdfast.User, bool, error) {
	u, err := tx.GetUserByEmail(ctx, accountID, email)
	if errors.Is(err, holdfast.ErrNotFound) {
		return u, false, nil
	}
	if err != nil {
		return u, false, fmt.Errorf("legalhold: user %s: %w", email, err)
	}
	return u, u.State != holdfast.UserDeleted, nil
}

// AddCustodians puts the users with the emails on the hold through tx. The
// hold must exist (ErrNotFound). Malformed or unknown emails and deleted
// users are reported as invalid users; nothing fails because of them.
func AddCustodians(ctx context.Context, tx holdfast.MetaStore, accountID, holdID string, emails []string, by string, at time.Time) (CustodianReport, error) {
	rep := newReport()
	err := eachEmail(ctx, tx, accountID, holdID, emails, func(email string, on map[string]bool) error {
		st, err := addOne(ctx, tx, accountID, holdID, email, on, by, at)
		switch st {
		case StatusUnknownUser:
			rep.InvalidUsers = append(rep.InvalidUsers, email)
		case StatusAlreadyOnHold:
			rep.AlreadyOnHold = append(rep.AlreadyOnHold, email)
		case StatusAdded:
			rep.Added = append(rep.Added, email)
		}
		return err
	}, &rep)
	return rep, err
}

// RemoveCustodians takes the users with the emails off the hold through tx.
// Their data returns to normal retention unless another hold covers them,
// and counsel no longer reaches it through this hold. The hold must exist
// (ErrNotFound).
func RemoveCustodians(ctx context.Context, tx holdfast.MetaStore, accountID, holdID string, emails []string) (CustodianReport, error) {
	rep := newReport()
	err := eachEmail(ctx, tx, accountID, holdID, emails, func(email string, on map[string]bool) error {
		u, err := tx.GetUserByEmail(ctx, accountID, email)
		switch {
		case errors.Is(err, holdfast.ErrNotFound):
			rep.InvalidUsers = append(rep.InvalidUsers, email)
			return nil
		case err != nil:
			return fmt.Errorf("legalhold: user %s: %w", email, err)
		case !on[u.ID]:
			rep.NotOnHold = append(rep.NotOnHold, email)
			return nil
		}
		if err := tx.RemoveCustodian(ctx, accountID, holdID, u.ID); err != nil {
			return fmt.Errorf("legalhold: remove %s from hold %s: %w", email, holdID, err)
		}
		delete(on, u.ID)
		rep.Removed = append(rep.Removed, email)
		return nil
	}, &rep)
	return rep, err
}

// eachEmail checks the list and the hold, then calls fn with each distinct
// well-formed email, in order, and the hold's custodians; malformed emails
// go to rep's invalid users.
func eachEmail(ctx context.Context, tx holdfast.MetaStore, accountID, holdID string, emails []string,
	fn func(email string, on map[string]bool) error, rep *CustodianReport) error {
	if err := checkCount(emails); err != nil {
		return err
	}
	if _, err := tx.GetHold(ctx, accountID, holdID); err != nil {
		return err
	}
	on, err := custodianSet(ctx, tx, accountID, holdID)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, raw := range emails {
		if err := ctx.Err(); err != nil {
			return err
		}
		email, ok := NormalizeEmail(raw)
		if seen[email] {
			continue
		}
		seen[email] = true
		if !ok {
			rep.InvalidUsers = append(rep.InvalidUsers, email)
			continue
		}
		if err := fn(email, on); err != nil {
			return err
		}
	}
	return nil
}

// addOne adds the user with a well-formed email to the hold unless it is
// already in on (the hold's custodians, which it updates).
func addOne(ctx context.Context, tx holdfast.MetaStore, accountID, holdID, email string, on map[string]bool, by string, at time.Time) (RowStatus, error) {
	u, valid, err := validUser(ctx, tx, accountID, email)
	if err != nil {
		return "", err
	}
	switch {
	case !valid:
		return StatusUnknownUser, nil
	case on[u.ID]:
		return StatusAlreadyOnHold, nil
	}
	if err := tx.AddCustodian(ctx, accountID, &holdfast.Custodian{HoldID: holdID, UserID: u.ID, AddedBy: by, AddedAt: at}); err != nil {
		return "", fmt.Errorf("legalhold: add %s to hold %s: %w", email, holdID, err)
	}
	on[u.ID] = true
	return StatusAdded, nil
}

func custodianSet(ctx context.Context, tx holdfast.MetaStore, accountID, holdID string) (map[string]bool, error) {
	cs, err := tx.ListCustodians(ctx, accountID, holdID)
	if err != nil {
		return nil, fmt.Errorf("legalhold: custodians of hold %s: %w", holdID, err)
	}
	on := make(map[string]bool, len(cs))
	for _, c := range cs {
		on[c.UserID] = true
	}
	return on, nil
}
