package holdfast

import (
	"context"
	"errors"
	"time"
)

// DeviceMapping says that a user's new device replaces an old one: the new
// device inherits the old one's data, so the old device's snapshots are
// part of the new device's history (listed and restored with it). A
// device has at most one successor and one predecessor, and a chain of
// replacements never loops.
type DeviceMapping struct {
	AccountID   string    `json:"account_id"`
	OldDeviceID string    `json:"old_device_id"`
	NewDeviceID string    `json:"new_device_id"`
	UserID      string    `json:"user_id"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// DeviceMappingFilter narrows PageDeviceMappings. A nil slice does not
// filter, an empty one matches nothing; both are on the new device.
type DeviceMappingFilter struct {
	UserID     string
	ProfileIDs []string
	Workloads  []string
}

// DeviceMappingStore keeps device replacement mappings.
//
// Contract (enforced by storage/storagetest):
//   - CreateDeviceMapping refuses, with ErrConflict, an old device that
//     already has a successor or a new one that already has a
//     predecessor; a missing device is ErrNotFound.
//   - GetDeviceMapping finds the mapping whose new device is the one
//     named; DeleteDeviceMapping removes it; missing: ErrNotFound.
//   - PageDeviceMappings pages by (CreatedAt, NewDeviceID), oldest first,
//     with the total matching.
//   - Removing either device removes the mapping; every write increments
//     the account's Revision.
type DeviceMappingStore interface {
	CreateDeviceMapping(ctx context.Context, m *DeviceMapping) error
	GetDeviceMapping(ctx context.Context, accountID, newDeviceID string) (DeviceMapping, error)
	DeleteDeviceMapping(ctx context.Context, accountID, newDeviceID string) error
	PageDeviceMappings(ctx context.Context, accountID string, f DeviceMappingFilter, p Page) (Paged[DeviceMapping], error)
}

// MaxLineage bounds a chain of replacements DeviceLineage follows.
const MaxLineage = 64

// DeviceLineage returns deviceID and the devices it replaced, newest
// first, following the mappings of store (at most MaxLineage devices).
func DeviceLineage(ctx context.Context, store DeviceMappingStore, accountID, deviceID string) ([]string, error) {
	out := []string{deviceID}
	for len(out) < MaxLineage {
		m, err := store.GetDeviceMapping(ctx, accountID, out[len(out)-1])
		if errors.Is(err, ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, m.OldDeviceID)
	}
	return out, nil
}
