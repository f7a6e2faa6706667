package sqlstore

import (
	"context"
	"database/sql"

	"github.com/holdfast/holdfast"
)

var _ holdfast.HoldAccessStore = (*Store)(nil)

const holdCredentialColumns = `account_id, hold_id, user_name, hash, created_by, created_at, expires_at`

func scanHoldCredential(r scanner) (holdfast.HoldCredential, error) {
	var (
		c       holdfast.HoldCredential
		created int64
		expires sql.NullInt64
	)
	if err := r.Scan(&c.AccountID, &c.HoldID, &c.UserName, &c.Hash, &c.CreatedBy, &created, &expires); err != nil {
		return c, err
	}
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromNullMicros(expires)
	return c, nil
}

// PutHoldCredential creates or replaces the hold's WebDAV credential. A
// missing hold is ErrNotFound, a user name of another hold's credential
// ErrConflict. A zero CreatedAt becomes now. It does not change the
// account's revision: credentials are not decision data.
func (s *Store) PutHoldCredential(ctx context.Context, c *holdfast.HoldCredential) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	c.CreatedAt, c.ExpiresAt = normTime(c.CreatedAt), normTimePtr(c.ExpiresAt)
	what := "WebDAV credential of legal hold " + c.HoldID
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO hold_credentials (`+holdCredentialColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, hold_id) DO UPDATE SET user_name = excluded.user_name, hash = excluded.hash,
			created_by = excluded.created_by, created_at = excluded.created_at, expires_at = excluded.expires_at`,
			c.AccountID, c.HoldID, c.UserName, c.Hash, c.CreatedBy, micros(c.CreatedAt), nullMicros(c.ExpiresAt))
		if err != nil {
			return s.fail(what, err, unique{"user", "the WebDAV user name " + c.UserName + " is taken"})
		}
		return nil
	})
}

// GetHoldCredential returns the hold's credential; none: ErrNotFound.
func (s *Store) GetHoldCredential(ctx context.Context, accountID, holdID string) (holdfast.HoldCredential, error) {
	c, err := scanHoldCredential(s.queryRow(ctx, `SELECT `+holdCredentialColumns+` FROM hold_credentials
		WHERE account_id = ? AND hold_id = ?`, accountID, holdID))
	if err != nil {
		return holdfast.HoldCredential{}, s.fail("WebDAV credential of legal hold "+holdID, err)
	}
	return c, nil
}

// GetHoldCredentialByUser returns the credential with the user name, in
// any account; none: ErrNotFound.
func (s *Store) GetHoldCredentialByUser(ctx context.Context, userName string) (holdfast.HoldCredential, error) {
	c, err := scanHoldCredential(s.queryRow(ctx, `SELECT `+holdCredentialColumns+` FROM hold_credentials
		WHERE user_name = ?`, userName))
	if err != nil {
		return holdfast.HoldCredential{}, s.fail("WebDAV credential", err)
	}
	return c, nil
}

// DeleteHoldCredential revokes the hold's credential; none: ErrNotFound.
func (s *Store) DeleteHoldCredential(ctx context.Context, accountID, holdID string) error {
	return s.write(ctx, func(s *Store) error {
		return s.execOne(ctx, "WebDAV credential of legal hold "+holdID,
			`DELETE FROM hold_credentials WHERE account_id = ? AND hold_id = ?`, accountID, holdID)
	})
}
