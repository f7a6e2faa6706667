package sqlstore

import (
	"context"

	"github.com/holdfast/holdfast"
)

var _ holdfast.DeviceMappingStore = (*Store)(nil)

const deviceMappingColumns = `account_id, new_device_id, old_device_id, user_id, created_by, created_at`

func scanDeviceMapping(r scanner) (holdfast.DeviceMapping, error) {
	var (
		m       holdfast.DeviceMapping
		created int64
	)
	if err := r.Scan(&m.AccountID, &m.NewDeviceID, &m.OldDeviceID, &m.UserID, &m.CreatedBy, &created); err != nil {
		return m, err
	}
	m.CreatedAt = fromMicros(created)
	return m, nil
}

// CreateDeviceMapping stores a replacement. An old device with a
// successor, or a new one with a predecessor, is ErrConflict; a missing
// device ErrNotFound. A zero CreatedAt becomes now.
func (s *Store) CreateDeviceMapping(ctx context.Context, m *holdfast.DeviceMapping) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now()
	}
	m.CreatedAt = normTime(m.CreatedAt)
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, m.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO device_mappings (`+deviceMappingColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
			m.AccountID, m.NewDeviceID, m.OldDeviceID, m.UserID, m.CreatedBy, micros(m.CreatedAt))
		if err != nil {
			return s.fail("mapping of device "+m.NewDeviceID, err,
				unique{"old", "device " + m.OldDeviceID + " is already replaced by another device"},
				unique{"", "device " + m.NewDeviceID + " already replaces a device"})
		}
		return nil
	})
}

// GetDeviceMapping returns the mapping whose new device is newDeviceID;
// missing: ErrNotFound.
func (s *Store) GetDeviceMapping(ctx context.Context, accountID, newDeviceID string) (holdfast.DeviceMapping, error) {
	m, err := scanDeviceMapping(s.queryRow(ctx, `SELECT `+deviceMappingColumns+` FROM device_mappings
		WHERE account_id = ? AND new_device_id = ?`, accountID, newDeviceID))
	if err != nil {
		return holdfast.DeviceMapping{}, s.fail("mapping of device "+newDeviceID, err)
	}
	return m, nil
}

// DeleteDeviceMapping removes the mapping of newDeviceID; missing:
// ErrNotFound.
func (s *Store) DeleteDeviceMapping(ctx context.Context, accountID, newDeviceID string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		return s.execOne(ctx, "mapping of device "+newDeviceID,
			`DELETE FROM device_mappings WHERE account_id = ? AND new_device_id = ?`, accountID, newDeviceID)
	})
}

// PageDeviceMappings returns one page of the account's mappings matching
// f (on the new device), oldest first, with the total matching f.
func (s *Store) PageDeviceMappings(ctx context.Context, accountID string, f holdfast.DeviceMappingFilter, p holdfast.Page) (holdfast.Paged[holdfast.DeviceMapping], error) {
	var c conds
	c.add("account_id = ?", accountID)
	if f.UserID != "" {
		c.add("user_id = ?", f.UserID)
	}
	inDeviceScope(&c, "device_mappings.new_device_id", f.ProfileIDs, f.Workloads)
	return pageByTime(ctx, s, timeKeyed[holdfast.DeviceMapping]{table: "device_mappings", columns: deviceMappingColumns,
		at: "created_at", id: "new_device_id", scan: scanDeviceMapping,
		key: func(m holdfast.DeviceMapping) (int64, string) { return micros(m.CreatedAt), m.NewDeviceID }}, c, p)
}
