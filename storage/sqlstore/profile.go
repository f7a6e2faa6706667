package sqlstore

import (
	"context"
	"fmt"

	"github.com/holdfast/holdfast"
)

const profileColumns = `account_id, id, name, description, is_default, workloads, block_admin_access, retention,
	auto_delete_preserved_days, created_at, updated_at, backup, max_users, compliance_hours, grace_hours`

func scanProfile(r scanner) (holdfast.Profile, error) {
	var (
		p                            holdfast.Profile
		workloads, retention, backup string
		created, updatedAt           int64
	)
	err := r.Scan(&p.AccountID, &p.ID, &p.Name, &p.Description, &p.Default, &workloads, &p.BlockAdminAccess, &retention,
		&p.AutoDeletePreservedDays, &created, &updatedAt, &backup, &p.MaxUsers, &p.Backup.ComplianceHours, &p.Backup.GraceHours)
	if err != nil {
		return p, err
	}
	if err := fromJSONObject(backup, &p.Backup); err != nil {
		return p, err
	}
	if err := fromJSONStrings(workloads, &p.Workloads); err != nil {
		return p, err
	}
	if err := fromJSONObject(retention, &p.Retention); err != nil {
		return p, err
	}
	p.CreatedAt, p.UpdatedAt = fromMicros(created), fromMicros(updatedAt)
	return p, nil
}

func profileConflicts(p *holdfast.Profile) []unique {
	return []unique{
		{"name", "profile name " + p.Name + " is taken"},
		{"", "profile " + p.ID + " already exists"},
	}
}

// CreateProfile stores a new profile. A taken name or ID in the account is
// ErrConflict.
func (s *Store) CreateProfile(ctx context.Context, p *holdfast.Profile) error {
	p.ID = newID(p.ID)
	stamp(&p.CreatedAt, &p.UpdatedAt)
	workloads, err := jsonText(p.Workloads)
	if err != nil {
		return s.fail("profile "+p.ID, err)
	}
	retention, err := jsonText(p.Retention)
	if err != nil {
		return s.fail("profile "+p.ID, err)
	}
	backup, err := jsonText(p.Backup)
	if err != nil {
		return s.fail("profile "+p.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, p.AccountID); err != nil {
			return err
		}
		_, err := s.exec(ctx, `INSERT INTO profiles (`+profileColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			p.AccountID, p.ID, p.Name, p.Description, p.Default, workloads, p.BlockAdminAccess, retention,
			p.AutoDeletePreservedDays, micros(p.CreatedAt), micros(p.UpdatedAt), backup, p.MaxUsers,
			p.Backup.ComplianceHours, p.Backup.GraceHours)
		if err != nil {
			return s.fail("profile "+p.ID, err, profileConflicts(p)...)
		}
		return nil
	})
}

// GetProfile returns the account's profile; missing: ErrNotFound.
func (s *Store) GetProfile(ctx context.Context, accountID, id string) (holdfast.Profile, error) {
	p, err := scanProfile(s.queryRow(ctx, `SELECT `+profileColumns+` FROM profiles WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.Profile{}, s.fail("profile "+id, err)
	}
	return p, nil
}

// ListProfiles returns the account's profiles by name, then ID.
func (s *Store) ListProfiles(ctx context.Context, accountID string) ([]holdfast.Profile, error) {
	return list(ctx, s, "profiles", scanProfile,
		`SELECT `+profileColumns+` FROM profiles WHERE account_id = ? ORDER BY name, id`, accountID)
}

// UpdateProfile replaces the profile's fields except its keys and
// CreatedAt. A zero UpdatedAt becomes now. Missing: ErrNotFound; name taken:
// ErrConflict.
func (s *Store) UpdateProfile(ctx context.Context, p *holdfast.Profile) error {
	if p.UpdatedAt.IsZero() {
		p.UpdatedAt = now()
	}
	p.UpdatedAt = normTime(p.UpdatedAt)
	workloads, err := jsonText(p.Workloads)
	if err != nil {
		return s.fail("profile "+p.ID, err)
	}
	retention, err := jsonText(p.Retention)
	if err != nil {
		return s.fail("profile "+p.ID, err)
	}
	backup, err := jsonText(p.Backup)
	if err != nil {
		return s.fail("profile "+p.ID, err)
	}
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, p.AccountID); err != nil {
			return err
		}
		res, err := s.exec(ctx, `UPDATE profiles SET name = ?, description = ?, is_default = ?, workloads = ?,
			block_admin_access = ?, retention = ?, auto_delete_preserved_days = ?, updated_at = ?, backup = ?,
			max_users = ?, compliance_hours = ?, grace_hours = ? WHERE account_id = ? AND id = ?`,
			p.Name, p.Description, p.Default, workloads, p.BlockAdminAccess, retention, p.AutoDeletePreservedDays,
			micros(p.UpdatedAt), backup, p.MaxUsers, p.Backup.ComplianceHours, p.Backup.GraceHours, p.AccountID, p.ID)
		return s.affectedOne("profile "+p.ID, res, err, profileConflicts(p)...)
	})
}

// DeleteProfile removes a profile without users; missing: ErrNotFound, with
// users: ErrConflict.
func (s *Store) DeleteProfile(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		if err := s.bump(ctx, accountID); err != nil {
			return err
		}
		n, err := s.CountUsersInProfile(ctx, accountID, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: profile %s has %d users", holdfast.ErrConflict, id, n)
		}
		return s.execOne(ctx, "profile "+id, `DELETE FROM profiles WHERE account_id = ? AND id = ?`, accountID, id)
	})
}

// CountUsersInProfile counts the profile's users, whatever their state.
func (s *Store) CountUsersInProfile(ctx context.Context, accountID, profileID string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE account_id = ? AND profile_id = ?`, accountID, profileID).Scan(&n)
	if err != nil {
		return 0, s.fail("users", err)
	}
	return n, nil
}
