package holdfast

import "time"

// Profile is a named set of backup settings applied to a group of users.
// Each user belongs to exactly one profile.
type Profile struct {
	ID          string `json:"id"`
	AccountID   string `json:"account_id"`
	Name        string `json:"name"` // unique per account
	Description string `json:"description,omitempty"`
	Default     bool   `json:"default"` // the Default profile cannot be renamed or deleted
	// Workloads are the data sources the profile backs up.
	Workloads []string `json:"workloads,omitempty"`
	// BlockAdminAccess is the data-privacy setting: administrators may not
	// download users' data (legal administrators still may while held).
	BlockAdminAccess bool      `json:"block_admin_access"`
	Retention        Retention `json:"retention"`
	// AutoDeletePreservedDays deletes preserved users after this many days
	// (30 to 366; 0 = off). Users on hold are skipped.
	AutoDeletePreservedDays int `json:"auto_delete_preserved_days,omitempty"`
	// Backup is what the devices of the profile's users back up, and when
	// they count as compliant.
	Backup BackupPolicy `json:"backup"`
	// MaxUsers bounds the users of the profile (0: no bound).
	MaxUsers  int       `json:"max_users,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Retention says which snapshots of a source a profile keeps.
type Retention struct {
	KeepLast    int `json:"keep_last,omitempty"`
	KeepDaily   int `json:"keep_daily,omitempty"`
	KeepWeekly  int `json:"keep_weekly,omitempty"`
	KeepMonthly int `json:"keep_monthly,omitempty"`
	// KeepWithinDays keeps everything newer than this many days.
	KeepWithinDays int `json:"keep_within_days,omitempty"`
}

// BackupPolicy is the backup boundary of a profile: what its devices back
// up, how often, how much each user may store, and the compliance rule's
// window (see Compliance). The agent and `holdfast backup` obey it.
type BackupPolicy struct {
	// Folders are what an endpoint backs up: "Desktop", "Documents",
	// "Downloads", "Pictures" (under the user's home) or absolute paths.
	Folders []string `json:"folders,omitempty"`
	// ExcludeTypes are file extensions (lower case, without the dot) that
	// are never backed up.
	ExcludeTypes []string `json:"exclude_types,omitempty"`
	// MaxFileBytes skips files larger than this (0: no limit).
	MaxFileBytes int64 `json:"max_file_bytes,omitempty"`
	// IntervalMinutes is how often the agent backs up (0: the default of
	// DefaultIntervalMinutes).
	IntervalMinutes int `json:"interval_minutes,omitempty"`
	// QuotaBytes is each user's storage quota: the newest snapshots of a
	// user's devices together (0: no quota).
	QuotaBytes int64 `json:"quota_bytes,omitempty"`
	// ComplianceHours is the compliance window; GraceHours the grace period
	// of a new device (0: the defaults).
	ComplianceHours int `json:"compliance_hours,omitempty"`
	GraceHours      int `json:"grace_hours,omitempty"`
}

// DefaultIntervalMinutes is the backup interval of a profile that sets none.
const DefaultIntervalMinutes = 240

// Effective is the policy with its defaults filled in: what a device of
// the profile obeys.
func (b BackupPolicy) Effective() BackupPolicy {
	if b.IntervalMinutes <= 0 {
		b.IntervalMinutes = DefaultIntervalMinutes
	}
	if b.ComplianceHours <= 0 {
		b.ComplianceHours = DefaultComplianceHours
	}
	if b.GraceHours <= 0 {
		b.GraceHours = DefaultGraceHours
	}
	return b
}
