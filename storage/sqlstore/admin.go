package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

const adminColumns = `account_id, id, name, email, country, time_zone, role_id, scopes, state,
	created_by, created_at, updated_at, last_login_at, password_hash`

func scanAdmin(r scanner) (holdfast.Administrator, error) {
	var (
		a                  holdfast.Administrator
		scopes             string
		created, updatedAt int64
		lastLogin          sql.NullInt64
	)
	err := r.Scan(&a.AccountID, &a.ID, &a.Name, &a.Email, &a.Country, &a.TimeZone, &a.RoleID, &scopes, &a.State,
		&a.CreatedBy, &created, &updatedAt, &lastLogin, &a.PasswordHash)
	if err != nil {
		return a, err
	}
	if err := fromJSONObject(scopes, &a.Scopes); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt, a.LastLoginAt = fromMicros(created), fromMicros(updatedAt), fromNullMicros(lastLogin)
	return a, nil
}

func adminConflicts(a *holdfast.Administrator) []unique {
	return []unique{
		{"email", "administrator email " + a.Email + " is taken"},
		{"", "administrator " + a.ID + " already exists"},
	}
}

// CreateAdmin stores a new administrator, its email lower-cased. A taken
// email (in any account) or ID is ErrConflict; a missing account ErrNotFound.
func (s *Store) CreateAdmin(ctx context.Context, a *holdfast.Administrator) error {
	a.ID = newID(a.ID)
	a.Email = strings.ToLower(a.Email)
	stamp(&a.CreatedAt, &a.UpdatedAt)
	a.LastLoginAt = normTimePtr(a.LastLoginAt)
	scopes, err := jsonText(a.Scopes)
	if err != nil {
		return s.fail("administrator "+a.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, a.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO admins (`+adminColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			a.AccountID, a.ID, a.Name, a.Email, a.Country, a.TimeZone, a.RoleID, scopes, a.State,
			a.CreatedBy, micros(a.CreatedAt), micros(a.UpdatedAt), nullMicros(a.LastLoginAt), a.PasswordHash)
		if err != nil {
			return s.fail("administrator "+a.ID, err, adminConflicts(a)...)
		}
		return nil
	})
}

// GetAdmin returns the account's administrator; missing: ErrNotFound.
func (s *Store) GetAdmin(ctx context.Context, accountID, id string) (holdfast.Administrator, error) {
	a, err := scanAdmin(s.queryRow(ctx, `SELECT `+adminColumns+` FROM admins WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.Administrator{}, s.fail("administrator "+id, err)
	}
	return a, nil
}

// GetAdminByEmail returns the administrator with the email, in any account,
// compared case-insensitively; missing: ErrNotFound.
func (s *Store) GetAdminByEmail(ctx context.Context, email string) (holdfast.Administrator, error) {
	a, err := scanAdmin(s.queryRow(ctx, `SELECT `+adminColumns+` FROM admins WHERE lower(email) = ?`, strings.ToLower(email)))
	if err != nil {
		return holdfast.Administrator{}, s.fail("administrator "+email, err)
	}
	return a, nil
}

// ListAdmins returns the account's administrators matching f, by name then
// ID. f.Product is not looked at: callers expand it to f.RoleIDs.
func (s *Store) ListAdmins(ctx context.Context, accountID string, f holdfast.AdminFilter) ([]holdfast.Administrator, error) {
	where, args := adminWhere(accountID, f)
	q, args := page(`SELECT `+adminColumns+` FROM admins WHERE `+where+` ORDER BY name, id`, args, f.Limit, f.Offset)
	return list(ctx, s, "administrators", scanAdmin, q, args...)
}

// PageAdmins returns one page of the account's administrators matching f
// by name then ID, with the total that match; f.Limit and f.Offset are not
// looked at. The cursor is the last item's name and ID.
func (s *Store) PageAdmins(ctx context.Context, accountID string, f holdfast.AdminFilter, p holdfast.Page) (holdfast.Paged[holdfast.Administrator], error) {
	where, args := adminWhere(accountID, f)
	return pageBy(ctx, s, pageQuery[holdfast.Administrator]{
		what: "administrators", columns: adminColumns, from: `admins WHERE ` + where, args: args, order: `name, id`,
		after: func(key []string) (string, []any, error) {
			if len(key) != 2 {
				return "", nil, badCursor()
			}
			return `(name > ? OR (name = ? AND id > ?))`, []any{key[0], key[0], key[1]}, nil
		},
		key:  func(a holdfast.Administrator) []string { return []string{a.Name, a.ID} },
		scan: scanAdmin,
	}, p)
}

// adminWhere is the condition, with its arguments, that keeps the
// account's administrators matching f (f.Product is not looked at).
func adminWhere(accountID string, f holdfast.AdminFilter) (string, []any) {
	q := `account_id = ?`
	args := []any{accountID}
	if f.RoleID != "" {
		q += ` AND role_id = ?`
		args = append(args, f.RoleID)
	}
	if len(f.RoleIDs) > 0 {
		q += ` AND role_id IN (` + placeholders(len(f.RoleIDs)) + `)`
		for _, id := range f.RoleIDs {
			args = append(args, id)
		}
	}
	if f.LastLoginBefore != nil {
		q += ` AND (last_login_at IS NULL OR last_login_at < ?)`
		args = append(args, micros(*f.LastLoginBefore))
	}
	if f.NeverLoggedIn {
		q += ` AND last_login_at IS NULL`
	}
	if f.Search != "" {
		p := likePattern(f.Search)
		q += ` AND (lower(name) LIKE ? ESCAPE '\' OR lower(email) LIKE ? ESCAPE '\')`
		args = append(args, p, p)
	}
	if f.State != "" {
		q += ` AND state = ?`
		args = append(args, f.State)
	}
	return q, args
}

// UpdateAdmin replaces the administrator's fields except its keys,
// CreatedBy, CreatedAt and LastLoginAt (RecordLogin owns it, so an update
// never loses a sign-in). A zero UpdatedAt becomes now. Missing: ErrNotFound;
// email taken: ErrConflict.
func (s *Store) UpdateAdmin(ctx context.Context, a *holdfast.Administrator) error {
	a.Email = strings.ToLower(a.Email)
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = now()
	}
	a.UpdatedAt = normTime(a.UpdatedAt)
	scopes, err := jsonText(a.Scopes)
	if err != nil {
		return s.fail("administrator "+a.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, a.AccountID); err != nil {
			return err
		}
		res, err := s.exec(ctx, `UPDATE admins SET name = ?, email = ?, country = ?, time_zone = ?, role_id = ?,
			scopes = ?, state = ?, updated_at = ?, password_hash = ?
			WHERE account_id = ? AND id = ?`,
			a.Name, a.Email, a.Country, a.TimeZone, a.RoleID, scopes, a.State, micros(a.UpdatedAt), a.PasswordHash,
			a.AccountID, a.ID)
		return s.affectedOne("administrator "+a.ID, res, err, adminConflicts(a)...)
	})
}

// DeleteAdmin removes the administrator and its API tokens; missing:
// ErrNotFound.
func (s *Store) DeleteAdmin(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, `DELETE FROM api_tokens WHERE account_id = ? AND admin_id = ?`, accountID, id); err != nil {
			return s.fail("administrator "+id, err)
		}
		return s.execOne(ctx, "administrator "+id, `DELETE FROM admins WHERE account_id = ? AND id = ?`, accountID, id)
	})
}

// CountAdminsWithRole counts the account's administrators holding the role.
func (s *Store) CountAdminsWithRole(ctx context.Context, accountID, roleID string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM admins WHERE account_id = ? AND role_id = ?`, accountID, roleID).Scan(&n)
	if err != nil {
		return 0, s.fail("administrators", err)
	}
	return n, nil
}

// RecordLogin sets the administrator's last sign-in time. It does not change
// the account's revision: a sign-in changes no decision. Missing: ErrNotFound.
func (s *Store) RecordLogin(ctx context.Context, accountID, id string, at time.Time) error {
	return s.write(ctx, func(s *Store) error {
		return s.execOne(ctx, "administrator "+id, `UPDATE admins SET last_login_at = ? WHERE account_id = ? AND id = ?`,
			micros(at), accountID, id)
	})
}
