package sqlstore

import (
	"context"
	"strconv"
	"time"

	"github.com/holdfast/holdfast"
)

// RecordBackup writes a run into the device's backup status; a committed
// run also sets its newest snapshot and adds the change of its stored
// bytes to the storage series, on the run's day, under the profile of the
// device's user. It changes nothing a decision reads, so the account's
// revision stays. Missing device: ErrNotFound.
func (s *Store) RecordBackup(ctx context.Context, accountID, deviceID string, run holdfast.BackupRun) (holdfast.BackupStatus, error) {
	var out holdfast.BackupStatus
	at := normTime(run.At)
	err := s.write(ctx, func(s *Store) error {
		var (
			profileID, workload string
			before              int64
		)
		err := s.queryRow(ctx, `SELECT u.profile_id, d.workload, d.stored_bytes FROM devices d
			JOIN users u ON u.account_id = d.account_id AND u.id = d.user_id
			WHERE d.account_id = ? AND d.id = ?`, accountID, deviceID).Scan(&profileID, &workload, &before)
		if err != nil {
			return s.fail("device "+deviceID, err)
		}
		if !run.Committed {
			return s.execOne(ctx, "device "+deviceID, `UPDATE devices SET last_attempt_at = ?, last_result = ?, last_error = ?
				WHERE account_id = ? AND id = ?`, micros(at), run.Result, run.Error, accountID, deviceID)
		}
		err = s.execOne(ctx, "device "+deviceID, `UPDATE devices SET last_attempt_at = ?, last_result = ?, last_error = ?,
			last_backup_at = ?, stored_bytes = ? WHERE account_id = ? AND id = ?`,
			micros(at), run.Result, run.Error, micros(at), run.Bytes, accountID, deviceID)
		if err != nil {
			return err
		}
		return s.addUsage(ctx, accountID, at, profileID, workload, run.Bytes-before)
	})
	if err != nil {
		return out, err
	}
	d, err := s.GetDevice(ctx, accountID, deviceID)
	return d.Backup, err
}

// addUsage adds delta bytes to the storage series of the day of at.
func (s *Store) addUsage(ctx context.Context, accountID string, at time.Time, profileID, workload string, delta int64) error {
	if delta == 0 {
		return nil
	}
	_, err := s.exec(ctx, `INSERT INTO storage_usage (account_id, day, profile_id, workload, delta) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (account_id, day, profile_id, workload) DO UPDATE SET delta = storage_usage.delta + excluded.delta`,
		accountID, micros(holdfast.UsageDay(at)), profileID, workload, delta)
	if err != nil {
		return s.fail("storage usage", err)
	}
	return nil
}

// dropUsage takes the stored bytes of the devices matching where (on the
// devices table d, joined to its user u) out of the storage series, as of
// now: their data is gone.
func (s *Store) dropUsage(ctx context.Context, accountID, where string, args ...any) error {
	type held struct {
		profileID, workload string
		bytes               int64
	}
	rows, err := list(ctx, s, "devices", func(r scanner) (held, error) {
		var h held
		return h, r.Scan(&h.profileID, &h.workload, &h.bytes)
	}, `SELECT u.profile_id, d.workload, SUM(d.stored_bytes) FROM devices d
		JOIN users u ON u.account_id = d.account_id AND u.id = d.user_id
		WHERE `+where+` GROUP BY u.profile_id, d.workload`, args...)
	if err != nil {
		return err
	}
	for _, h := range rows {
		if err := s.addUsage(ctx, accountID, now(), h.profileID, h.workload, -h.bytes); err != nil {
			return err
		}
	}
	return nil
}

// UserStoredBytes is the sum of the stored bytes of the user's devices.
func (s *Store) UserStoredBytes(ctx context.Context, accountID, userID string) (int64, error) {
	var n int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(stored_bytes), 0) FROM devices WHERE account_id = ? AND user_id = ?`,
		accountID, userID).Scan(&n)
	if err != nil {
		return 0, s.fail("devices", err)
	}
	return n, nil
}

// complianceState is holdfast.Compliance in SQL over devices d, users u
// and profiles p; its two arguments are now in micros.
var complianceState = `CASE
	WHEN d.state <> 'enabled' OR u.state <> '` + string(holdfast.UserActive) + `' THEN '` + holdfast.Excluded + `'
	WHEN d.last_backup_at IS NOT NULL AND d.last_backup_at > ? -
		(CASE WHEN p.compliance_hours > 0 THEN p.compliance_hours ELSE ` + strconv.Itoa(holdfast.DefaultComplianceHours) + ` END) * 3600000000
		THEN '` + holdfast.Compliant + `'
	WHEN d.created_at > ? -
		(CASE WHEN p.grace_hours > 0 THEN p.grace_hours ELSE ` + strconv.Itoa(holdfast.DefaultGraceHours) + ` END) * 3600000000
		THEN '` + holdfast.Pending + `'
	ELSE '` + holdfast.NonCompliant + `' END`

// complianceFrom joins a device to its user and profile.
const complianceFrom = `devices d JOIN users u ON u.account_id = d.account_id AND u.id = d.user_id
	JOIN profiles p ON p.account_id = u.account_id AND p.id = u.profile_id`

// scopeConds are the conditions of f on the devices d of complianceFrom.
func scopeConds(accountID string, f holdfast.DeviceFilter) conds {
	var c conds
	c.add("d.account_id = ?", accountID)
	if f.UserID != "" {
		c.add("d.user_id = ?", f.UserID)
	}
	c.in("d.workload", f.Workloads)
	c.in("u.profile_id", f.ProfileIDs)
	return c
}

// ComplianceSummary counts the devices matching f by profile, workload
// and compliance state at now (holdfast.Compliance), with the bytes they
// store, ordered by profile, workload and state.
func (s *Store) ComplianceSummary(ctx context.Context, accountID string, f holdfast.DeviceFilter, at time.Time) ([]holdfast.ComplianceCount, error) {
	c := scopeConds(accountID, f)
	t := micros(normTime(at))
	args := append([]any{t, t}, c.args...)
	return list(ctx, s, "compliance summary", func(r scanner) (holdfast.ComplianceCount, error) {
		var cc holdfast.ComplianceCount
		return cc, r.Scan(&cc.ProfileID, &cc.Workload, &cc.State, &cc.Devices, &cc.Bytes)
	}, `SELECT u.profile_id, d.workload, `+complianceState+` AS st, COUNT(*), COALESCE(SUM(d.stored_bytes), 0)
		FROM `+complianceFrom+c.where()+` GROUP BY u.profile_id, d.workload, st ORDER BY u.profile_id, d.workload, st`, args...)
}

// StorageSeries returns one point per UTC day from from to to (inclusive):
// the bytes the devices of f's profiles and workloads stored at the end of
// that day. f.UserID is not looked at.
func (s *Store) StorageSeries(ctx context.Context, accountID string, f holdfast.DeviceFilter, from, to time.Time) ([]holdfast.UsagePoint, error) {
	var c conds
	c.add("account_id = ?", accountID)
	c.in("workload", f.Workloads)
	c.in("profile_id", f.ProfileIDs)
	first, last := holdfast.UsageDay(from), holdfast.UsageDay(to)
	var base int64
	err := s.queryRow(ctx, `SELECT COALESCE(SUM(delta), 0) FROM storage_usage`+c.where()+` AND day < ?`,
		append(c.args, micros(first))...).Scan(&base)
	if err != nil {
		return nil, s.fail("storage usage", err)
	}
	deltas, err := list(ctx, s, "storage usage", func(r scanner) (holdfast.UsagePoint, error) {
		var (
			p   holdfast.UsagePoint
			day int64
		)
		err := r.Scan(&day, &p.Bytes)
		p.Day = fromMicros(day)
		return p, err
	}, `SELECT day, SUM(delta) FROM storage_usage`+c.where()+` AND day >= ? AND day <= ? GROUP BY day ORDER BY day`,
		append(c.args, micros(first), micros(last))...)
	if err != nil {
		return nil, err
	}
	var out []holdfast.UsagePoint
	for day, i := first, 0; !day.After(last); day = day.AddDate(0, 0, 1) {
		for ; i < len(deltas) && !deltas[i].Day.After(day); i++ {
			base += deltas[i].Bytes
		}
		out = append(out, holdfast.UsagePoint{Day: day, Bytes: base})
	}
	return out, nil
}
