package sqlstore

import (
	"context"

	"github.com/holdfast/holdfast"
)

const accountColumns = `id, name, edition, addons, settings, created_at, updated_at`

func scanAccount(r scanner) (holdfast.Account, error) {
	var (
		a                  holdfast.Account
		addons, settings   string
		created, updatedAt int64
	)
	if err := r.Scan(&a.ID, &a.Name, &a.Edition, &addons, &settings, &created, &updatedAt); err != nil {
		return a, err
	}
	if err := fromJSONStrings(addons, &a.Addons); err != nil {
		return a, err
	}
	if err := fromJSONObject(settings, &a.Settings); err != nil {
		return a, err
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updatedAt)
	return a, nil
}

// CreateAccount stores a new account with revision 1. An empty ID is
// replaced by a random one and zero times by now; the times are written back
// at the precision stored. A taken ID is ErrConflict.
func (s *Store) CreateAccount(ctx context.Context, a *holdfast.Account) error {
	a.ID = newID(a.ID)
	stamp(&a.CreatedAt, &a.UpdatedAt)
	addons, err := jsonText(a.Addons)
	if err != nil {
		return s.fail("account "+a.ID, err)
	}
	settings, err := jsonText(a.Settings)
	if err != nil {
		return s.fail("account "+a.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			a.ID, a.Name, a.Edition, addons, settings, micros(a.CreatedAt), micros(a.UpdatedAt))
		if err != nil {
			return s.fail("account "+a.ID, err, unique{"", "account " + a.ID + " already exists"})
		}
		return nil
	})
}

// GetAccount returns the account; missing: ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (holdfast.Account, error) {
	a, err := scanAccount(s.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return holdfast.Account{}, s.fail("account "+id, err)
	}
	return a, nil
}

// ListAccounts returns every account by name, then ID.
func (s *Store) ListAccounts(ctx context.Context) ([]holdfast.Account, error) {
	return list(ctx, s, "accounts", scanAccount, `SELECT `+accountColumns+` FROM accounts ORDER BY name, id`)
}

// UpdateAccount replaces the account's name, edition, add-ons, settings and
// UpdatedAt (zero: now) and increments its revision; missing: ErrNotFound.
func (s *Store) UpdateAccount(ctx context.Context, a *holdfast.Account) error {
	if a.UpdatedAt.IsZero() {
		a.UpdatedAt = now()
	}
	a.UpdatedAt = normTime(a.UpdatedAt)
	addons, err := jsonText(a.Addons)
	if err != nil {
		return s.fail("account "+a.ID, err)
	}
	settings, err := jsonText(a.Settings)
	if err != nil {
		return s.fail("account "+a.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		s.tx.touch(a.ID)
		return s.execOne(ctx, "account "+a.ID, `UPDATE accounts
			SET name = ?, edition = ?, addons = ?, settings = ?, updated_at = ?, revision = revision + 1
			WHERE id = ?`,
			a.Name, a.Edition, addons, settings, micros(a.UpdatedAt), a.ID)
	})
}

// Revision returns the account's data revision; missing: ErrNotFound.
// Outside a transaction it is answered from the [RevisionCache] once read,
// so it costs a map look-up until a write of the account commits; a Store
// bound to a transaction reads its transaction's value and caches nothing.
func (s *Store) Revision(ctx context.Context, accountID string) (int64, error) {
	if s.tx != nil {
		return s.readRevision(ctx, accountID)
	}
	if rev, ok := s.revs.account(accountID); ok {
		return rev, nil
	}
	gen := s.revs.snapshot()
	rev, err := s.readRevision(ctx, accountID)
	if err != nil {
		return 0, err
	}
	s.revs.fillAccount(gen, accountID, rev)
	return rev, nil
}

// readRevision reads the account's revision from the database.
func (s *Store) readRevision(ctx context.Context, accountID string) (int64, error) {
	var rev int64
	if err := s.queryRow(ctx, `SELECT revision FROM accounts WHERE id = ?`, accountID).Scan(&rev); err != nil {
		return 0, s.fail("account "+accountID, err)
	}
	return rev, nil
}
