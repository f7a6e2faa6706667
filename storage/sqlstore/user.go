package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/holdfast/holdfast"
)

const userColumns = `account_id, id, email, name, profile_id, state, external_id, deleted_at, purge_after,
	preserved_at, created_at, updated_at`

func scanUser(r scanner) (holdfast.User, error) {
	var (
		u                               holdfast.User
		deletedAt, purgeAfter, preserve sql.NullInt64
		created, updatedAt              int64
	)
	err := r.Scan(&u.AccountID, &u.ID, &u.Email, &u.Name, &u.ProfileID, &u.State, &u.ExternalID, &deletedAt, &purgeAfter,
		&preserve, &created, &updatedAt)
	if err != nil {
		return u, err
	}
	u.DeletedAt, u.PurgeAfter, u.PreservedAt = fromNullMicros(deletedAt), fromNullMicros(purgeAfter), fromNullMicros(preserve)
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updatedAt)
	return u, nil
}

func userConflicts(u *holdfast.User) []unique {
	return []unique{
		{"email", "user email " + u.Email + " is taken"},
		{"", "user " + u.ID + " already exists"},
	}
}

func normUser(u *holdfast.User) {
	u.Email = strings.ToLower(u.Email)
	u.DeletedAt, u.PurgeAfter, u.PreservedAt = normTimePtr(u.DeletedAt), normTimePtr(u.PurgeAfter), normTimePtr(u.PreservedAt)
}

// CreateUser stores a new user, its email lower-cased. A taken email or ID
// in the account is ErrConflict; a missing profile ErrNotFound.
func (s *Store) CreateUser(ctx context.Context, u *holdfast.User) error {
	u.ID = newID(u.ID)
	normUser(u)
	stamp(&u.CreatedAt, &u.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, u.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.AccountID, u.ID, u.Email, u.Name, u.ProfileID, u.State, u.ExternalID, nullMicros(u.DeletedAt),
			nullMicros(u.PurgeAfter), nullMicros(u.PreservedAt), micros(u.CreatedAt), micros(u.UpdatedAt))
		if err != nil {
			return s.fail("user "+u.ID, err, userConflicts(u)...)
		}
		return nil
	})
}

// GetUser returns the account's user; missing: ErrNotFound.
func (s *Store) GetUser(ctx context.Context, accountID, id string) (holdfast.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.User{}, s.fail("user "+id, err)
	}
	return u, nil
}

// GetUserByEmail returns the account's user with the email, compared
// case-insensitively; missing: ErrNotFound.
func (s *Store) GetUserByEmail(ctx context.Context, accountID, email string) (holdfast.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE account_id = ? AND lower(email) = ?`,
		accountID, strings.ToLower(email)))
	if err != nil {
		return holdfast.User{}, s.fail("user "+email, err)
	}
	return u, nil
}

// ListUsers returns the account's users matching f, by name then ID.
func (s *Store) ListUsers(ctx context.Context, accountID string, f holdfast.UserFilter) ([]holdfast.User, error) {
	q := `SELECT ` + userColumns + ` FROM users WHERE account_id = ?`
	args := []any{accountID}
	if len(f.ProfileIDs) > 0 {
		q += ` AND profile_id IN (` + placeholders(len(f.ProfileIDs)) + `)`
		for _, id := range f.ProfileIDs {
			args = append(args, id)
		}
	}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, f.State)
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		q += ` AND (lower(name) LIKE ? ESCAPE '\' OR lower(email) LIKE ? ESCAPE '\')`
		args = append(args, p, p)
	}
	if f.Email != "" {
		q += ` AND lower(email) = ?`
		args = append(args, strings.ToLower(f.Email))
	}
	q, args = page(q+` ORDER BY name, id`, args, f.Limit, f.Offset)
	return list(ctx, s, "users", scanUser, q, args...)
}

// UpdateUser replaces the user's fields except its keys and CreatedAt. A
// zero UpdatedAt becomes now. Missing: ErrNotFound; email taken: ErrConflict.
func (s *Store) UpdateUser(ctx context.Context, u *holdfast.User) error {
	normUser(u)
	if u.UpdatedAt.IsZero() {
		u.UpdatedAt = now()
	}
	u.UpdatedAt = normTime(u.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, u.AccountID); err != nil {
			return err
		}
		res, err := s.exec(ctx, `UPDATE users SET email = ?, name = ?, profile_id = ?, state = ?, external_id = ?,
			deleted_at = ?, purge_after = ?, preserved_at = ?, updated_at = ?
			WHERE account_id = ? AND id = ?`,
			u.Email, u.Name, u.ProfileID, u.State, u.ExternalID, nullMicros(u.DeletedAt), nullMicros(u.PurgeAfter),
			nullMicros(u.PreservedAt), micros(u.UpdatedAt), u.AccountID, u.ID)
		return s.affectedOne("user "+u.ID, res, err, userConflicts(u)...)
	})
}

// PurgeUser removes the user, its devices and its custodian rows for good;
// missing: ErrNotFound. Callers check the user's holds first.
func (s *Store) PurgeUser(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		if err := s.dropUsage(ctx, accountID, `d.account_id = ? AND d.user_id = ?`, accountID, id); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM devices WHERE account_id = ? AND user_id = ?`,
			`DELETE FROM custodians WHERE account_id = ? AND user_id = ?`,
		} {
			if _, err := s.exec(ctx, q, accountID, id); err != nil {
				return s.fail("user "+id, err)
			}
		}
		return s.execOne(ctx, "user "+id, `DELETE FROM users WHERE account_id = ? AND id = ?`, accountID, id)
	})
}
