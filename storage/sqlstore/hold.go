package sqlstore

import (
	"context"
	"database/sql"

	"github.com/holdfast/holdfast"
)

const holdTypeColumns = `account_id, id, name, predefined, created_at, updated_at`

func scanHoldType(r scanner) (holdfast.LegalHoldType, error) {
	var (
		t                  holdfast.LegalHoldType
		created, updatedAt int64
	)
	if err := r.Scan(&t.AccountID, &t.ID, &t.Name, &t.Predefined, &created, &updatedAt); err != nil {
		return t, err
	}
	t.CreatedAt, t.UpdatedAt = fromMicros(created), fromMicros(updatedAt)
	return t, nil
}

func holdTypeConflicts(t *holdfast.LegalHoldType) []unique {
	return []unique{
		{"name", "legal hold type name " + t.Name + " is taken"},
		{"", "legal hold type " + t.ID + " already exists"},
	}
}

// CreateHoldType stores a new legal hold type. A taken name or ID in the
// account is ErrConflict.
func (s *Store) CreateHoldType(ctx context.Context, t *holdfast.LegalHoldType) error {
	t.ID = newID(t.ID)
	stamp(&t.CreatedAt, &t.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, t.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO hold_types (`+holdTypeColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			t.AccountID, t.ID, t.Name, t.Predefined, micros(t.CreatedAt), micros(t.UpdatedAt))
		if err != nil {
			return s.fail("legal hold type "+t.ID, err, holdTypeConflicts(t)...)
		}
		return nil
	})
}

// GetHoldType returns the account's legal hold type; missing: ErrNotFound.
func (s *Store) GetHoldType(ctx context.Context, accountID, id string) (holdfast.LegalHoldType, error) {
	t, err := scanHoldType(s.queryRow(ctx, `SELECT `+holdTypeColumns+` FROM hold_types WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.LegalHoldType{}, s.fail("legal hold type "+id, err)
	}
	return t, nil
}

// ListHoldTypes returns the account's legal hold types by name, then ID.
func (s *Store) ListHoldTypes(ctx context.Context, accountID string) ([]holdfast.LegalHoldType, error) {
	return list(ctx, s, "legal hold types", scanHoldType,
		`SELECT `+holdTypeColumns+` FROM hold_types WHERE account_id = ? ORDER BY name, id`, accountID)
}

// UpdateHoldType replaces the type's name, Predefined and UpdatedAt (zero:
// now). Missing: ErrNotFound; name taken: ErrConflict.
func (s *Store) UpdateHoldType(ctx context.Context, t *holdfast.LegalHoldType) error {
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = now()
	}
	t.UpdatedAt = normTime(t.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, t.AccountID); err != nil {
			return err
		}
		res, err := s.exec(ctx, `UPDATE hold_types SET name = ?, predefined = ?, updated_at = ? WHERE account_id = ? AND id = ?`,
			t.Name, t.Predefined, micros(t.UpdatedAt), t.AccountID, t.ID)
		return s.affectedOne("legal hold type "+t.ID, res, err, holdTypeConflicts(t)...)
	})
}

// DeleteHoldType removes the legal hold type; missing: ErrNotFound. Holds
// of the type keep its ID.
func (s *Store) DeleteHoldType(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		return s.execOne(ctx, "legal hold type "+id, `DELETE FROM hold_types WHERE account_id = ? AND id = ?`, accountID, id)
	})
}

const holdColumns = `account_id, id, name, description, type_id, data_access, from_at, to_at, deleted_files_only,
	sources, created_by, created_at, updated_at`

func scanHold(r scanner) (holdfast.LegalHold, error) { return scanHoldWith(r) }

// scanHoldWith scans a hold followed by the extra columns.
func scanHoldWith(r scanner, extra ...any) (holdfast.LegalHold, error) {
	var (
		h                  holdfast.LegalHold
		from, to           sql.NullInt64
		sources            string
		created, updatedAt int64
	)
	err := r.Scan(append([]any{&h.AccountID, &h.ID, &h.Name, &h.Description, &h.TypeID, &h.DataAccess, &from, &to, &h.DeletedFilesOnly,
		&sources, &h.CreatedBy, &created, &updatedAt}, extra...)...)
	if err != nil {
		return h, err
	}
	if err := fromJSONStrings(sources, &h.Sources); err != nil {
		return h, err
	}
	h.From, h.To = fromNullMicros(from), fromNullMicros(to)
	h.CreatedAt, h.UpdatedAt = fromMicros(created), fromMicros(updatedAt)
	return h, nil
}

// CreateHold stores a new legal hold. A taken ID is ErrConflict.
func (s *Store) CreateHold(ctx context.Context, h *holdfast.LegalHold) error {
	h.ID = newID(h.ID)
	stamp(&h.CreatedAt, &h.UpdatedAt)
	h.From, h.To = normTimePtr(h.From), normTimePtr(h.To)
	sources, err := jsonText(h.Sources)
	if err != nil {
		return s.fail("legal hold "+h.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, h.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO holds (`+holdColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			h.AccountID, h.ID, h.Name, h.Description, h.TypeID, h.DataAccess, nullMicros(h.From), nullMicros(h.To),
			h.DeletedFilesOnly, sources, h.CreatedBy, micros(h.CreatedAt), micros(h.UpdatedAt))
		if err != nil {
			return s.fail("legal hold "+h.ID, err, unique{"", "legal hold " + h.ID + " already exists"})
		}
		return nil
	})
}

// GetHold returns the account's legal hold; missing: ErrNotFound.
func (s *Store) GetHold(ctx context.Context, accountID, id string) (holdfast.LegalHold, error) {
	h, err := scanHold(s.queryRow(ctx, `SELECT `+holdColumns+` FROM holds WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.LegalHold{}, s.fail("legal hold "+id, err)
	}
	return h, nil
}

// ListHolds returns the account's legal holds by name, then ID.
func (s *Store) ListHolds(ctx context.Context, accountID string) ([]holdfast.LegalHold, error) {
	return list(ctx, s, "legal holds", scanHold,
		`SELECT `+holdColumns+` FROM holds WHERE account_id = ? ORDER BY name, id`, accountID)
}

// UpdateHold replaces the hold's fields except its keys, CreatedBy and
// CreatedAt. A zero UpdatedAt becomes now. Missing: ErrNotFound.
func (s *Store) UpdateHold(ctx context.Context, h *holdfast.LegalHold) error {
	if h.UpdatedAt.IsZero() {
		h.UpdatedAt = now()
	}
	h.UpdatedAt = normTime(h.UpdatedAt)
	h.From, h.To = normTimePtr(h.From), normTimePtr(h.To)
	sources, err := jsonText(h.Sources)
	if err != nil {
		return s.fail("legal hold "+h.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, h.AccountID); err != nil {
			return err
		}
		res, err := s.exec(ctx, `UPDATE holds SET name = ?, description = ?, type_id = ?, data_access = ?, from_at = ?,
			to_at = ?, deleted_files_only = ?, sources = ?, updated_at = ?
			WHERE account_id = ? AND id = ?`,
			h.Name, h.Description, h.TypeID, h.DataAccess, nullMicros(h.From), nullMicros(h.To), h.DeletedFilesOnly,
			sources, micros(h.UpdatedAt), h.AccountID, h.ID)
		return s.affectedOne("legal hold "+h.ID, res, err)
	})
}

// DeleteHold removes the hold and its custodians; missing: ErrNotFound.
func (s *Store) DeleteHold(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		if _, err := s.exec(ctx, `DELETE FROM custodians WHERE account_id = ? AND hold_id = ?`, accountID, id); err != nil {
			return s.fail("legal hold "+id, err)
		}
		return s.execOne(ctx, "legal hold "+id, `DELETE FROM holds WHERE account_id = ? AND id = ?`, accountID, id)
	})
}

const custodianColumns = `hold_id, user_id, added_by, added_at`

func scanCustodian(r scanner) (holdfast.Custodian, error) {
	var (
		c     holdfast.Custodian
		added int64
	)
	if err := r.Scan(&c.HoldID, &c.UserID, &c.AddedBy, &added); err != nil {
		return c, err
	}
	c.AddedAt = fromMicros(added)
	return c, nil
}

// AddCustodian puts a user of the account on one of its holds. Already
// there: ErrConflict; missing hold or user: ErrNotFound. A zero AddedAt
// becomes now.
func (s *Store) AddCustodian(ctx context.Context, accountID string, c *holdfast.Custodian) error {
	if c.AddedAt.IsZero() {
		c.AddedAt = now()
	}
	c.AddedAt = normTime(c.AddedAt)
	what := "custodian " + c.UserID + " of legal hold " + c.HoldID
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO custodians (account_id, `+custodianColumns+`) VALUES (?, ?, ?, ?, ?)`,
			accountID, c.HoldID, c.UserID, c.AddedBy, micros(c.AddedAt))
		if err != nil {
			return s.fail(what, err, unique{"", "user " + c.UserID + " is already a custodian of legal hold " + c.HoldID})
		}
		return nil
	})
}

// RemoveCustodian takes the user off the hold; not a custodian: ErrNotFound.
func (s *Store) RemoveCustodian(ctx context.Context, accountID, holdID, userID string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		return s.execOne(ctx, "custodian "+userID+" of legal hold "+holdID,
			`DELETE FROM custodians WHERE account_id = ? AND hold_id = ? AND user_id = ?`, accountID, holdID, userID)
	})
}

// ListCustodians returns the hold's custodians in the order they were added
// (then by user ID); a missing hold has none.
func (s *Store) ListCustodians(ctx context.Context, accountID, holdID string) ([]holdfast.Custodian, error) {
	return list(ctx, s, "custodians", scanCustodian,
		`SELECT `+custodianColumns+` FROM custodians WHERE account_id = ? AND hold_id = ? ORDER BY added_at, user_id`,
		accountID, holdID)
}

// HoldsForUser returns every hold of the account the user is a custodian
// of, by name then ID.
func (s *Store) HoldsForUser(ctx context.Context, accountID, userID string) ([]holdfast.LegalHold, error) {
	return list(ctx, s, "legal holds", scanHold, `SELECT `+holdColumnsQualified+` FROM holds h
		JOIN custodians c ON c.account_id = h.account_id AND c.hold_id = h.id
		WHERE h.account_id = ? AND c.user_id = ? ORDER BY h.name, h.id`, accountID, userID)
}

// holdColumnsQualified is holdColumns qualified by the alias h.
var holdColumnsQualified = qualify(holdColumns, "h")

// PageHoldTypes returns one page of the account's legal hold types, by
// name then ID, only those of ids when ids is not nil.
func (s *Store) PageHoldTypes(ctx context.Context, accountID string, ids []string, p holdfast.Page) (holdfast.Paged[holdfast.LegalHoldType], error) {
	var c conds
	c.add("account_id = ?", accountID)
	c.in("id", ids)
	return pageOf(ctx, s, keyed[holdfast.LegalHoldType]{table: "hold_types", columns: holdTypeColumns, scan: scanHoldType,
		key: func(t holdfast.LegalHoldType) (string, string) { return t.Name, t.ID }}, c, p)
}

// PageHolds returns one page of the account's legal holds matching f, by
// name then ID. The type filter is part of the query, so the cursor and
// the total count only the holds of those types.
func (s *Store) PageHolds(ctx context.Context, accountID string, f holdfast.HoldFilter, p holdfast.Page) (holdfast.Paged[holdfast.LegalHold], error) {
	var c conds
	c.add("account_id = ?", accountID)
	c.in("type_id", f.TypeIDs)
	return pageOf(ctx, s, keyed[holdfast.LegalHold]{table: "holds", columns: holdColumns, scan: scanHold,
		key: func(h holdfast.LegalHold) (string, string) { return h.Name, h.ID }}, c, p)
}

// PageCustodians returns one page of the hold's custodians in the order
// they were added, then by user ID; the cursor is the last one's added
// time (microseconds) and user ID.
func (s *Store) PageCustodians(ctx context.Context, accountID, holdID string, p holdfast.Page) (holdfast.Paged[holdfast.Custodian], error) {
	var c conds
	c.add("account_id = ? AND hold_id = ?", accountID, holdID)
	return pageByTime(ctx, s, timeKeyed[holdfast.Custodian]{table: "custodians", columns: custodianColumns,
		at: "added_at", id: "user_id", scan: scanCustodian,
		key: func(c holdfast.Custodian) (int64, string) { return micros(c.AddedAt), c.UserID }}, c, p)
}
