package sqlstore

import (
	"context"

	"github.com/holdfast/holdfast"
)

const roleColumns = `account_id, id, name, description, product, scope, predefined, override_of, imported_from,
	rights, created_by, created_at, updated_at`

func scanRole(r scanner) (holdfast.Role, error) {
	var (
		ro                 holdfast.Role
		scope, rights      string
		created, updatedAt int64
	)
	err := r.Scan(&ro.AccountID, &ro.ID, &ro.Name, &ro.Description, &ro.Product, &scope, &ro.Predefined, &ro.OverrideOf,
		&ro.ImportedFrom, &rights, &ro.CreatedBy, &created, &updatedAt)
	if err != nil {
		return ro, err
	}
	if err := fromJSONStrings(scope, &ro.Scope); err != nil {
		return ro, err
	}
	if err := fromJSONStrings(rights, &ro.Rights); err != nil {
		return ro, err
	}
	ro.CreatedAt, ro.UpdatedAt = fromMicros(created), fromMicros(updatedAt)
	return ro, nil
}

func roleConflicts(r *holdfast.Role) []unique {
	return []unique{
		{"name", "role name " + r.Name + " is taken"},
		{"", "role " + r.ID + " already exists"},
	}
}

// CreateRole stores a custom role or an override of a predefined one. A
// taken name or ID in the account is ErrConflict.
func (s *Store) CreateRole(ctx context.Context, r *holdfast.Role) error {
	r.ID = newID(r.ID)
	stamp(&r.CreatedAt, &r.UpdatedAt)
	scope, err := jsonText(r.Scope)
	if err != nil {
		return s.fail("role "+r.ID, err)
	}
	rights, err := jsonText(r.Rights)
	if err != nil {
		return s.fail("role "+r.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, r.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO roles (`+roleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.AccountID, r.ID, r.Name, r.Description, r.Product, scope, r.Predefined, r.OverrideOf, r.ImportedFrom,
			rights, r.CreatedBy, micros(r.CreatedAt), micros(r.UpdatedAt))
		if err != nil {
			return s.fail("role "+r.ID, err, roleConflicts(r)...)
		}
		return nil
	})
}

// GetRole returns the account's stored role; missing: ErrNotFound.
func (s *Store) GetRole(ctx context.Context, accountID, id string) (holdfast.Role, error) {
	r, err := scanRole(s.queryRow(ctx, `SELECT `+roleColumns+` FROM roles WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.Role{}, s.fail("role "+id, err)
	}
	return r, nil
}

// ListRoles returns the account's stored roles by name, then ID.
func (s *Store) ListRoles(ctx context.Context, accountID string) ([]holdfast.Role, error) {
	return list(ctx, s, "roles", scanRole,
		`SELECT `+roleColumns+` FROM roles WHERE account_id = ? ORDER BY name, id`, accountID)
}

// UpdateRole replaces the role's fields except its keys, CreatedBy and
// CreatedAt. A zero UpdatedAt becomes now. Missing: ErrNotFound; name
// taken: ErrConflict.
func (s *Store) UpdateRole(ctx context.Context, r *holdfast.Role) error {
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now()
	}
	r.UpdatedAt = normTime(r.UpdatedAt)
	scope, err := jsonText(r.Scope)
	if err != nil {
		return s.fail("role "+r.ID, err)
	}
	rights, err := jsonText(r.Rights)
	if err != nil {
		return s.fail("role "+r.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, r.AccountID); err != nil {
			return err
		}
		res, err := s.exec(ctx, `UPDATE roles SET name = ?, description = ?, product = ?, scope = ?, predefined = ?,
			override_of = ?, imported_from = ?, rights = ?, updated_at = ?
			WHERE account_id = ? AND id = ?`,
			r.Name, r.Description, r.Product, scope, r.Predefined, r.OverrideOf, r.ImportedFrom, rights,
			micros(r.UpdatedAt), r.AccountID, r.ID)
		return s.affectedOne("role "+r.ID, res, err, roleConflicts(r)...)
	})
}

// DeleteRole removes the stored role; missing: ErrNotFound. Callers check
// CountAdminsWithRole first.
func (s *Store) DeleteRole(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		return s.execOne(ctx, "role "+id, `DELETE FROM roles WHERE account_id = ? AND id = ?`, accountID, id)
	})
}
