package sqlstore

import (
	"context"

	"github.com/holdfast/holdfast"
)

var _ holdfast.SDGStore = (*Store)(nil)

const sdgColumns = `account_id, kind, id, name, body, created_at, updated_at`

func scanSDGObject(r scanner) (holdfast.SDGObject, error) {
	var (
		o                holdfast.SDGObject
		body             string
		created, updated int64
	)
	if err := r.Scan(&o.AccountID, &o.Kind, &o.ID, &o.Name, &body, &created, &updated); err != nil {
		return o, err
	}
	o.Body, o.CreatedAt, o.UpdatedAt = []byte(body), fromMicros(created), fromMicros(updated)
	return o, nil
}

func sdgConflicts(o *holdfast.SDGObject) []unique {
	return []unique{
		{"name", "the name " + o.Name + " is taken"},
		{"", o.Kind + " " + o.ID + " already exists"},
	}
}

// CreateSDGObject stores a new Sensitive Data Governance object. A taken
// name (in its kind) or id is ErrConflict. The account revision does not
// change: these are not decision data.
func (s *Store) CreateSDGObject(ctx context.Context, o *holdfast.SDGObject) error {
	o.ID = newID(o.ID)
	stamp(&o.CreatedAt, &o.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO sdg_objects (`+sdgColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			o.AccountID, o.Kind, o.ID, o.Name, string(o.Body), micros(o.CreatedAt), micros(o.UpdatedAt))
		if err != nil {
			return s.fail(o.Kind+" "+o.ID, err, sdgConflicts(o)...)
		}
		return nil
	})
}

// GetSDGObject returns the account's object; missing: ErrNotFound.
func (s *Store) GetSDGObject(ctx context.Context, accountID, kind, id string) (holdfast.SDGObject, error) {
	o, err := scanSDGObject(s.queryRow(ctx, `SELECT `+sdgColumns+` FROM sdg_objects WHERE account_id = ? AND kind = ? AND id = ?`,
		accountID, kind, id))
	if err != nil {
		return holdfast.SDGObject{}, s.fail(kind+" "+id, err)
	}
	return o, nil
}

// UpdateSDGObject replaces the object's name, body and UpdatedAt (zero:
// now). Missing: ErrNotFound; name taken: ErrConflict.
func (s *Store) UpdateSDGObject(ctx context.Context, o *holdfast.SDGObject) error {
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = now()
	}
	o.UpdatedAt = normTime(o.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		res, err := s.exec(ctx, `UPDATE sdg_objects SET name = ?, body = ?, updated_at = ? WHERE account_id = ? AND kind = ? AND id = ?`,
			o.Name, string(o.Body), micros(o.UpdatedAt), o.AccountID, o.Kind, o.ID)
		return s.affectedOne(o.Kind+" "+o.ID, res, err, sdgConflicts(o)...)
	})
}

// DeleteSDGObject removes the object; missing: ErrNotFound.
func (s *Store) DeleteSDGObject(ctx context.Context, accountID, kind, id string) error {
	return s.write(ctx, func(s *Store) error {
		return s.execOne(ctx, kind+" "+id, `DELETE FROM sdg_objects WHERE account_id = ? AND kind = ? AND id = ?`, accountID, kind, id)
	})
}

// PageSDGObjects returns one page of the account's objects of kind, by
// name then id, with the total.
func (s *Store) PageSDGObjects(ctx context.Context, accountID, kind string, p holdfast.Page) (holdfast.Paged[holdfast.SDGObject], error) {
	var c conds
	c.add("account_id = ?", accountID)
	c.add("kind = ?", kind)
	return pageOf(ctx, s, keyed[holdfast.SDGObject]{table: "sdg_objects", columns: sdgColumns, scan: scanSDGObject,
		key: func(o holdfast.SDGObject) (string, string) { return o.Name, o.ID }}, c, p)
}
