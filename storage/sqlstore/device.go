package sqlstore

import (
	"context"
	"database/sql"
	"strconv"

	"github.com/holdfast/holdfast"
)

const deviceColumns = `account_id, id, user_id, name, kind, workload, platform, state, created_at, updated_at,
	last_backup_at, last_attempt_at, last_result, last_error, stored_bytes`

func scanDevice(r scanner) (holdfast.Device, error) {
	var (
		d                  holdfast.Device
		created, updatedAt int64
		last, attempt      sql.NullInt64
		b                  = &d.Backup
	)
	err := r.Scan(&d.AccountID, &d.ID, &d.UserID, &d.Name, &d.Kind, &d.Workload, &d.Platform, &d.State, &created, &updatedAt,
		&last, &attempt, &b.LastResult, &b.LastError, &b.StoredBytes)
	if err != nil {
		return d, err
	}
	b.LastBackupAt, b.LastAttemptAt = fromNullMicros(last), fromNullMicros(attempt)
	d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updatedAt)
	return d, nil
}

// deviceKeys are the unique keys of devices, for conflict messages.
func deviceKeys(d *holdfast.Device) []unique {
	return []unique{
		{"devices_name_key", "user " + d.UserID + " already has a device named " + strconv.Quote(d.Name)},
		{"devices.name", "user " + d.UserID + " already has a device named " + strconv.Quote(d.Name)},
		{"", "device " + d.ID + " already exists"},
	}
}

// CreateDevice stores a new device of a user of the account. A taken ID,
// or a name the user's other device has, is ErrConflict; a missing user
// ErrNotFound.
func (s *Store) CreateDevice(ctx context.Context, d *holdfast.Device) error {
	d.ID = newID(d.ID)
	d.Backup = holdfast.BackupStatus{} // RecordBackup's alone
	stamp(&d.CreatedAt, &d.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, d.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO devices (account_id, id, user_id, name, kind, workload, platform, state,
			created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			d.AccountID, d.ID, d.UserID, d.Name, d.Kind, d.Workload, d.Platform, d.State, micros(d.CreatedAt), micros(d.UpdatedAt))
		if err != nil {
			return s.fail("device "+d.ID, err, deviceKeys(d)...)
		}
		return nil
	})
}

// GetDevice returns the account's device; missing: ErrNotFound.
func (s *Store) GetDevice(ctx context.Context, accountID, id string) (holdfast.Device, error) {
	d, err := scanDevice(s.queryRow(ctx, `SELECT `+deviceColumns+` FROM devices WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.Device{}, s.fail("device "+id, err)
	}
	return d, nil
}

// ListDevices returns the account's devices, only userID's when it is set,
// by name then ID.
func (s *Store) ListDevices(ctx context.Context, accountID, userID string) ([]holdfast.Device, error) {
	q := `SELECT ` + deviceColumns + ` FROM devices WHERE account_id = ?`
	args := []any{accountID}
	if userID != "" {
		q += ` AND user_id = ?`
		args = append(args, userID)
	}
	return list(ctx, s, "devices", scanDevice, q+` ORDER BY name, id`, args...)
}

// UpdateDevice replaces the device's fields except its keys and CreatedAt.
// A zero UpdatedAt becomes now. Missing device or user: ErrNotFound; a
// name the user's other device has: ErrConflict.
func (s *Store) UpdateDevice(ctx context.Context, d *holdfast.Device) error {
	if d.UpdatedAt.IsZero() {
		d.UpdatedAt = now()
	}
	d.UpdatedAt = normTime(d.UpdatedAt)
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, d.AccountID); err != nil {
			return err
		}
		res, err := s.exec(ctx, `UPDATE devices SET user_id = ?, name = ?, kind = ?, workload = ?, platform = ?, state = ?,
			updated_at = ? WHERE account_id = ? AND id = ?`,
			d.UserID, d.Name, d.Kind, d.Workload, d.Platform, d.State, micros(d.UpdatedAt), d.AccountID, d.ID)
		return s.affectedOne("device "+d.ID, res, err, deviceKeys(d)...)
	})
}

// DeleteDevice removes the device; missing: ErrNotFound.
func (s *Store) DeleteDevice(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		if err := s.dropUsage(ctx, accountID, `d.account_id = ? AND d.id = ?`, accountID, id); err != nil {
			return err
		}
		return s.execOne(ctx, "device "+id, `DELETE FROM devices WHERE account_id = ? AND id = ?`, accountID, id)
	})
}
