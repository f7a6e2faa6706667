package holdfast

import "time"

// Device kinds: an endpoint (laptop, desktop, mobile) or a SaaS data source.
const (
	DeviceEndpoint = "endpoint"
	DeviceSaaS     = "saas"
)

// Device is a backup source of a user: an endpoint or a SaaS data source
// (for example the user's Exchange Online mailbox).
type Device struct {
	ID        string `json:"id"`
	AccountID string `json:"account_id"`
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	Kind      string `json:"kind"`     // DeviceEndpoint or DeviceSaaS
	Workload  string `json:"workload"` // catalog workload id: endpoints, exchange_online, onedrive, ...
	Platform  string `json:"platform,omitempty"`
	// State is "enabled", "disabled" or "decommissioned".
	State string `json:"state"`
	// Backup is the device's backup status, written by RecordBackup only.
	Backup    BackupStatus `json:"backup"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// DeviceFilter narrows PageDevices. A nil slice does not filter; an empty
// one matches nothing (a scope that reaches nothing).
type DeviceFilter struct {
	UserID     string
	ProfileIDs []string // the profile of the device's user
	Workloads  []string
}
