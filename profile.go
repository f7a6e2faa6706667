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
	AutoDeletePreservedDays int       `json:"auto_delete_preserved_days,omitempty"`
	CreatedAt               time.Time `json:"created_at"`
	UpdatedAt               time.Time `json:"updated_at"`
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
