package holdfast

import "time"

// ErrOverQuota is a backup refused because it would take its user past the
// storage quota of the user's profile: a conflict with the user's state
// (409, code quota_exceeded), not a full store (507).
var ErrOverQuota error = overQuota{}

type overQuota struct{}

func (overQuota) Error() string { return "storage quota exceeded" }

// Is makes ErrOverQuota a kind of ErrConflict.
func (overQuota) Is(target error) bool { return target == ErrConflict }

// Backup results of a device's last run.
const (
	BackupSuccess = "success" // a snapshot was committed
	BackupPartial = "partial" // a snapshot was committed, some items were not read
	BackupFailed  = "failed"  // no snapshot
)

// BackupStatus is what a device's backups say about it: the newest
// snapshot and the last run, whatever its result.
type BackupStatus struct {
	// LastBackupAt is when the newest snapshot was committed (success or
	// partial); nil before the first.
	LastBackupAt *time.Time `json:"last_backup_at,omitempty"`
	// LastAttemptAt, LastResult and LastError describe the last run.
	LastAttemptAt *time.Time `json:"last_attempt_at,omitempty"`
	LastResult    string     `json:"last_result,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
	// StoredBytes is the size of the newest snapshot: the data the device
	// has protected, counted against its user's quota.
	StoredBytes int64 `json:"stored_bytes"`
}

// BackupRun is one run a device reports (MetaStore.RecordBackup). With
// Committed, a snapshot of Bytes was committed at At.
type BackupRun struct {
	At        time.Time
	Result    string // BackupSuccess, BackupPartial or BackupFailed
	Error     string
	Committed bool
	Bytes     int64
}

// Defaults of a profile's compliance rule when its fields are zero.
const (
	DefaultComplianceHours = 72
	DefaultGraceHours      = 168
)

// Compliance states of a device (see Compliance).
const (
	Compliant    = "compliant"
	NonCompliant = "noncompliant"
	Pending      = "pending"  // new, within its grace period
	Excluded     = "excluded" // not expected to back up
)

// ComplianceStates are the states, in the order summaries list them.
var ComplianceStates = []string{Compliant, NonCompliant, Pending, Excluded}

// ComplianceWindow is how long after its last backup a device of the
// policy stays compliant.
func (b BackupPolicy) ComplianceWindow() time.Duration {
	return hoursOr(b.ComplianceHours, DefaultComplianceHours)
}

// Grace is how long a new device of the policy may go without a backup.
func (b BackupPolicy) Grace() time.Duration {
	return hoursOr(b.GraceHours, DefaultGraceHours)
}

func hoursOr(h, def int) time.Duration {
	if h <= 0 {
		h = def
	}
	return time.Duration(h) * time.Hour
}

// Compliance is the published rule (README, "Backup compliance"), at now,
// of device d of a user in state user under policy:
//   - excluded: the device is not enabled or its user not active (nothing
//     is expected of it);
//   - compliant: its newest snapshot is younger than the window;
//   - pending: otherwise, while the device is younger than the grace
//     period;
//   - noncompliant: otherwise.
//
// A failed run does not change the state by itself: the window counts
// from the last snapshot committed. The stores' summaries count by the
// same rule (storagetest checks they agree).
func Compliance(d Device, user UserState, policy BackupPolicy, now time.Time) string {
	switch {
	case d.State != "enabled" || user != UserActive:
		return Excluded
	case d.Backup.LastBackupAt != nil && d.Backup.LastBackupAt.After(now.Add(-policy.ComplianceWindow())):
		return Compliant
	case d.CreatedAt.After(now.Add(-policy.Grace())):
		return Pending
	}
	return NonCompliant
}

// ComplianceCount is how many devices of one profile and workload are in
// one compliance state, with the bytes their newest snapshots hold.
type ComplianceCount struct {
	ProfileID string `json:"profile_id"`
	Workload  string `json:"workload"`
	State     string `json:"state"`
	Devices   int    `json:"devices"`
	Bytes     int64  `json:"bytes"`
}

// UsagePoint is the storage the devices in a scope held at the end of a
// day (UTC), counted from the newest snapshot of each.
type UsagePoint struct {
	Day   time.Time `json:"day"`
	Bytes int64     `json:"bytes"`
}

// UsageDay is the UTC day of t, as the storage series keys it.
func UsageDay(t time.Time) time.Time {
	return t.UTC().Truncate(24 * time.Hour)
}
