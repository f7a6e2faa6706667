package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/holdfast/holdfast"
)

const tokenColumns = `account_id, id, admin_id, name, hash, prefix, created_at, expires_at, last_used_at, revoked_at`

func scanToken(r scanner) (holdfast.APIToken, error) {
	var (
		t                            holdfast.APIToken
		created                      int64
		expires, lastUsed, revokedAt sql.NullInt64
	)
	err := r.Scan(&t.AccountID, &t.ID, &t.AdminID, &t.Name, &t.Hash, &t.Prefix, &created, &expires, &lastUsed, &revokedAt)
	if err != nil {
		return t, err
	}
	t.CreatedAt = fromMicros(created)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromNullMicros(expires), fromNullMicros(lastUsed), fromNullMicros(revokedAt)
	return t, nil
}

// CreateToken stores a new API token of an administrator of the account. A
// taken ID or hash is ErrConflict; a missing administrator ErrNotFound. A
// zero CreatedAt becomes now.
func (s *Store) CreateToken(ctx context.Context, t *holdfast.APIToken) error {
	t.ID = newID(t.ID)
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now()
	}
	t.CreatedAt = normTime(t.CreatedAt)
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = normTimePtr(t.ExpiresAt), normTimePtr(t.LastUsedAt), normTimePtr(t.RevokedAt)
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, t.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO api_tokens (`+tokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.AccountID, t.ID, t.AdminID, t.Name, t.Hash, t.Prefix, micros(t.CreatedAt), nullMicros(t.ExpiresAt),
			nullMicros(t.LastUsedAt), nullMicros(t.RevokedAt))
		if err != nil {
			return s.fail("API token "+t.ID, err,
				unique{"hash", "an API token with this secret exists"},
				unique{"", "API token " + t.ID + " already exists"})
		}
		return nil
	})
}

// GetTokenByHash returns the token, in any account and revoked or not,
// whose secret has the SHA-256 hash; missing: ErrNotFound.
func (s *Store) GetTokenByHash(ctx context.Context, hash []byte) (holdfast.APIToken, error) {
	t, err := scanToken(s.queryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = ?`, hash))
	if err != nil {
		return holdfast.APIToken{}, s.fail("API token", err)
	}
	return t, nil
}

// ListTokens returns the account's tokens, only adminID's when it is set,
// oldest first.
func (s *Store) ListTokens(ctx context.Context, accountID, adminID string) ([]holdfast.APIToken, error) {
	q := `SELECT ` + tokenColumns + ` FROM api_tokens WHERE account_id = ?`
	args := []any{accountID}
	if adminID != "" {
		q += ` AND admin_id = ?`
		args = append(args, adminID)
	}
	return list(ctx, s, "API tokens", scanToken, q+` ORDER BY created_at, id`, args...)
}

// RevokeToken sets the token's revocation time and increments the account's
// revision; missing: ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, accountID, id string, at time.Time) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		return s.execOne(ctx, "API token "+id, `UPDATE api_tokens SET revoked_at = ? WHERE account_id = ? AND id = ?`,
			micros(at), accountID, id)
	})
}

// TouchToken sets the token's last use time. It does not change the
// account's revision. Missing: ErrNotFound.
func (s *Store) TouchToken(ctx context.Context, accountID, id string, at time.Time) error {
	return s.write(ctx, func(s *Store) error {
		return s.execOne(ctx, "API token "+id, `UPDATE api_tokens SET last_used_at = ? WHERE account_id = ? AND id = ?`,
			micros(at), accountID, id)
	})
}
