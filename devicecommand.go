package holdfast

import (
	"context"
	"time"
)

// Device command kinds: what an administrator asks a device's agent to do.
const (
	// CommandWipe erases the backed-up folders from the endpoint (a
	// remote wipe, queued when a device is decommissioned). Backups and
	// held data on the server are never touched by it.
	CommandWipe = "wipe"
	// CommandUpgrade installs a client version (Params["version"], or the
	// newest when empty).
	CommandUpgrade = "upgrade"
)

// Device command states. A command is pending until the device's agent
// takes it (delivered), and final once the agent reports done (for a wipe:
// wiped) or failed.
const (
	CommandPending   = "pending"
	CommandDelivered = "delivered"
	CommandDone      = "done"
	CommandFailed    = "failed"
)

// CommandOpen reports whether a command in state may still change: pending
// or delivered.
func CommandOpen(state string) bool { return state == CommandPending || state == CommandDelivered }

// DeviceCommand is one command queued for a device's agent.
type DeviceCommand struct {
	ID        string            `json:"id"`
	AccountID string            `json:"account_id"`
	DeviceID  string            `json:"device_id"`
	UserID    string            `json:"user_id"` // the device's user when queued
	Kind      string            `json:"kind"`    // CommandWipe, CommandUpgrade
	State     string            `json:"state"`   // CommandPending, ...
	Params    map[string]string `json:"params,omitempty"`
	// Result is the agent's message with its final state (an error, the
	// installed version), at most 1,024 characters.
	Result string `json:"result,omitempty"`
	// RequestedBy is the administrator who queued it.
	RequestedBy string     `json:"requested_by"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// DeviceCommandFilter narrows PageDeviceCommands. A nil slice does not
// filter; an empty one matches nothing (a scope that reaches nothing).
type DeviceCommandFilter struct {
	DeviceID   string
	Kind       string
	States     []string
	ProfileIDs []string // the profile of the device's user
	Workloads  []string // the device's workload
}

// DeviceCommandStore keeps the device command queue.
//
// Contract (enforced by storage/storagetest):
//   - CreateDeviceCommand assigns an ID when empty; a missing device is
//     ErrNotFound, a taken ID ErrConflict.
//   - UpdateDeviceCommand changes State, Result, DeliveredAt and
//     CompletedAt only; a missing command is ErrNotFound.
//   - PageDeviceCommands pages by (CreatedAt, ID), oldest first, with the
//     total matching the filter.
//   - Removing a device removes its commands.
//   - Rows of one account are never returned for another.
//   - None of these writes changes the account's Revision: commands are
//     not decision data, and an agent's acknowledgements must not empty
//     the decision cache.
type DeviceCommandStore interface {
	CreateDeviceCommand(ctx context.Context, c *DeviceCommand) error
	GetDeviceCommand(ctx context.Context, accountID, id string) (DeviceCommand, error)
	UpdateDeviceCommand(ctx context.Context, c *DeviceCommand) error
	PageDeviceCommands(ctx context.Context, accountID string, f DeviceCommandFilter, p Page) (Paged[DeviceCommand], error)
}
