package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/holdfast/holdfast"
)

var _ holdfast.ActivationKeyStore = (*Store)(nil)

const activationKeyColumns = `account_id, id, kind, user_id, profile_id, name, hash, prefix, created_by,
	created_at, expires_at, revoked_at`

func scanActivationKey(r scanner) (holdfast.ActivationKey, error) {
	var (
		k                holdfast.ActivationKey
		userID, profile  sql.NullString
		created, expires int64
		revoked          sql.NullInt64
	)
	err := r.Scan(&k.AccountID, &k.ID, &k.Kind, &userID, &profile, &k.Name, &k.Hash, &k.Prefix, &k.CreatedBy,
		&created, &expires, &revoked)
	if err != nil {
		return k, err
	}
	k.UserID, k.ProfileID = userID.String, profile.String
	k.CreatedAt, k.ExpiresAt, k.RevokedAt = fromMicros(created), fromMicros(expires), fromNullMicros(revoked)
	return k, nil
}

// nullable is the column value of an optional id: NULL for "", so a
// foreign key does not apply.
func nullable(id string) any {
	if id == "" {
		return nil
	}
	return id
}

// CreateActivationKey stores a new activation key or deployment token. A
// taken ID or hash is ErrConflict, a missing user or profile ErrNotFound.
// A zero CreatedAt becomes now. The account's revision does not change.
func (s *Store) CreateActivationKey(ctx context.Context, k *holdfast.ActivationKey) error {
	k.ID = newID(k.ID)
	if k.CreatedAt.IsZero() {
		k.CreatedAt = now()
	}
	k.CreatedAt, k.ExpiresAt, k.RevokedAt = normTime(k.CreatedAt), normTime(k.ExpiresAt), normTimePtr(k.RevokedAt)
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO activation_keys (`+activationKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			k.AccountID, k.ID, k.Kind, nullable(k.UserID), nullable(k.ProfileID), k.Name, k.Hash, k.Prefix, k.CreatedBy,
			micros(k.CreatedAt), micros(k.ExpiresAt), nullMicros(k.RevokedAt))
		if err != nil {
			return s.fail("activation key "+k.ID, err,
				unique{"hash", "an activation key with this secret exists"},
				unique{"", "activation key " + k.ID + " already exists"})
		}
		return nil
	})
}

// GetActivationKey returns the account's key; missing: ErrNotFound.
func (s *Store) GetActivationKey(ctx context.Context, accountID, id string) (holdfast.ActivationKey, error) {
	k, err := scanActivationKey(s.queryRow(ctx, `SELECT `+activationKeyColumns+` FROM activation_keys
		WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.ActivationKey{}, s.fail("activation key "+id, err)
	}
	return k, nil
}

// GetActivationKeyByHash returns the key, of any account and revoked or
// not, whose secret has the SHA-256 hash; missing: ErrNotFound.
func (s *Store) GetActivationKeyByHash(ctx context.Context, hash []byte) (holdfast.ActivationKey, error) {
	k, err := scanActivationKey(s.queryRow(ctx, `SELECT `+activationKeyColumns+` FROM activation_keys WHERE hash = ?`, hash))
	if err != nil {
		return holdfast.ActivationKey{}, s.fail("activation key", err)
	}
	return k, nil
}

// RevokeActivationKey sets the key's revocation time unless it is set;
// missing: ErrNotFound.
func (s *Store) RevokeActivationKey(ctx context.Context, accountID, id string, at time.Time) error {
	return s.write(ctx, func(s *Store) error {
		return s.execOne(ctx, "activation key "+id, `UPDATE activation_keys SET revoked_at = COALESCE(revoked_at, ?)
			WHERE account_id = ? AND id = ?`, micros(normTime(at)), accountID, id)
	})
}

// PageActivationKeys returns one page of the account's keys matching f,
// oldest first, with the total matching f.
func (s *Store) PageActivationKeys(ctx context.Context, accountID string, f holdfast.ActivationKeyFilter, p holdfast.Page) (holdfast.Paged[holdfast.ActivationKey], error) {
	var c conds
	c.add("account_id = ?", accountID)
	if f.Kind != "" {
		c.add("kind = ?", f.Kind)
	}
	if f.UserID != "" {
		c.add("user_id = ?", f.UserID)
	}
	if f.ProfileID != "" {
		c.add("profile_id = ?", f.ProfileID)
	}
	switch {
	case f.ProfileIDs == nil:
	case len(f.ProfileIDs) == 0:
		c.add("1 = 0")
	default:
		in := placeholders(len(f.ProfileIDs))
		c.add(`(profile_id IN (`+in+`) OR EXISTS (SELECT 1 FROM users u WHERE u.account_id = activation_keys.account_id
			AND u.id = activation_keys.user_id AND u.profile_id IN (`+in+`)))`, append(strs(f.ProfileIDs), strs(f.ProfileIDs)...)...)
	}
	return pageByTime(ctx, s, timeKeyed[holdfast.ActivationKey]{table: "activation_keys", columns: activationKeyColumns,
		at: "created_at", id: "id", scan: scanActivationKey,
		key: func(k holdfast.ActivationKey) (int64, string) { return micros(k.CreatedAt), k.ID }}, c, p)
}
