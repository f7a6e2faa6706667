package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/holdfast/holdfast"
)

var _ holdfast.DeviceCommandStore = (*Store)(nil)

const deviceCommandColumns = `account_id, id, device_id, user_id, kind, state, params, result, requested_by,
	created_at, delivered_at, completed_at`

func scanDeviceCommand(r scanner) (holdfast.DeviceCommand, error) {
	var (
		c                    holdfast.DeviceCommand
		params               string
		created              int64
		delivered, completed sql.NullInt64
	)
	err := r.Scan(&c.AccountID, &c.ID, &c.DeviceID, &c.UserID, &c.Kind, &c.State, &params, &c.Result, &c.RequestedBy,
		&created, &delivered, &completed)
	if err != nil {
		return c, err
	}
	if err := fromJSONObject(params, &c.Params); err != nil {
		return c, err
	}
	c.CreatedAt, c.DeliveredAt, c.CompletedAt = fromMicros(created), fromNullMicros(delivered), fromNullMicros(completed)
	return c, nil
}

// CreateDeviceCommand queues a command for a device of the account. A
// missing device is ErrNotFound, a taken ID ErrConflict. A zero CreatedAt
// becomes now. The account's revision does not change.
func (s *Store) CreateDeviceCommand(ctx context.Context, c *holdfast.DeviceCommand) error {
	c.ID = newID(c.ID)
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now()
	}
	c.CreatedAt, c.DeliveredAt, c.CompletedAt = normTime(c.CreatedAt), normTimePtr(c.DeliveredAt), normTimePtr(c.CompletedAt)
	params, err := jsonText(c.Params)
	if err != nil {
		return err
	}
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO device_commands (`+deviceCommandColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.AccountID, c.ID, c.DeviceID, c.UserID, c.Kind, c.State, params, c.Result, c.RequestedBy,
			micros(c.CreatedAt), nullMicros(c.DeliveredAt), nullMicros(c.CompletedAt))
		if err != nil {
			return s.fail("command of device "+c.DeviceID, err, unique{"", "device command " + c.ID + " already exists"})
		}
		return nil
	})
}

// GetDeviceCommand returns the account's command; missing: ErrNotFound.
func (s *Store) GetDeviceCommand(ctx context.Context, accountID, id string) (holdfast.DeviceCommand, error) {
	c, err := scanDeviceCommand(s.queryRow(ctx, `SELECT `+deviceCommandColumns+` FROM device_commands
		WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.DeviceCommand{}, s.fail("device command "+id, err)
	}
	return c, nil
}

// UpdateDeviceCommand writes the command's state, result and times;
// missing: ErrNotFound.
func (s *Store) UpdateDeviceCommand(ctx context.Context, c *holdfast.DeviceCommand) error {
	c.DeliveredAt, c.CompletedAt = normTimePtr(c.DeliveredAt), normTimePtr(c.CompletedAt)
	return s.write(ctx, func(s *Store) error {
		return s.execOne(ctx, "device command "+c.ID, `UPDATE device_commands SET state = ?, result = ?,
			delivered_at = ?, completed_at = ? WHERE account_id = ? AND id = ?`,
			c.State, c.Result, nullMicros(c.DeliveredAt), nullMicros(c.CompletedAt), c.AccountID, c.ID)
	})
}

// PageDeviceCommands returns one page of the account's commands matching
// f, oldest first, with the total matching f.
func (s *Store) PageDeviceCommands(ctx context.Context, accountID string, f holdfast.DeviceCommandFilter, p holdfast.Page) (holdfast.Paged[holdfast.DeviceCommand], error) {
	var c conds
	c.add("account_id = ?", accountID)
	if f.DeviceID != "" {
		c.add("device_id = ?", f.DeviceID)
	}
	if f.Kind != "" {
		c.add("kind = ?", f.Kind)
	}
	c.in("state", f.States)
	inDeviceScope(&c, "device_commands.device_id", f.ProfileIDs, f.Workloads)
	return pageByTime(ctx, s, timeKeyed[holdfast.DeviceCommand]{table: "device_commands", columns: deviceCommandColumns,
		at: "created_at", id: "id", scan: scanDeviceCommand,
		key: func(c holdfast.DeviceCommand) (int64, string) { return micros(c.CreatedAt), c.ID }}, c, p)
}

// inDeviceScope keeps the rows whose device (the column deviceCol of the
// same account) is of one of workloads and belongs to a user of one of
// profiles; a nil slice does not filter, an empty one matches nothing.
func inDeviceScope(c *conds, deviceCol string, profiles, workloads []string) {
	if workloads == nil && profiles == nil {
		return
	}
	table, _, _ := strings.Cut(deviceCol, ".")
	var dc conds
	dc.add("d.account_id = " + table + ".account_id AND d.id = " + deviceCol)
	dc.in("d.workload", workloads)
	dc.in("u.profile_id", profiles)
	c.add(`EXISTS (SELECT 1 FROM devices d JOIN users u ON u.account_id = d.account_id AND u.id = d.user_id`+dc.where()+`)`, dc.args...)
}
