package devices

import (
	"context"
	"slices"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// rightMappings guards device replacement mappings.
const rightMappings = "devices.manage_mappings"

// MapDevice records that device newID replaces oldID
// (devices.manage_mappings on both, in the caller's scope): the new
// device inherits the old one's data, so the old device's snapshots are
// listed as the new device's history and restored from it. Both must be
// devices of one user, of one kind and workload, and different; the new
// one must not be decommissioned. A device already replaced, a new one
// that already replaces another, or a replacement that would loop is
// ErrConflict. Audited as device.map.
func (s *Service) MapDevice(ctx context.Context, p holdfast.Principal, oldID, newID string) (holdfast.DeviceMapping, error) {
	var v holdfast.ValidationError
	oldID, newID = strings.TrimSpace(oldID), strings.TrimSpace(newID)
	if oldID == "" {
		v.Add("old_device_id", "is required")
	}
	if newID == "" || newID == oldID {
		v.Add("new_device_id", "is required and must differ from old_device_id")
	}
	if err := v.Err(); err != nil {
		return holdfast.DeviceMapping{}, err
	}
	var out holdfast.DeviceMapping
	c := change.Change{Action: "device.map", ResourceType: holdfast.ResourceDevice, ResourceID: newID, Checks: []change.Check{
		{Right: rightMappings, Resource: deviceEntity(oldID)}, {Right: rightMappings, Resource: deviceEntity(newID)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		older, err := tx.GetDevice(ctx, p.AccountID, oldID)
		if err != nil {
			return "", nil, err
		}
		newer, err := tx.GetDevice(ctx, p.AccountID, newID)
		if err != nil {
			return "", nil, err
		}
		if err := mappable(ctx, tx, older, newer); err != nil {
			return "", nil, err
		}
		out = holdfast.DeviceMapping{AccountID: p.AccountID, OldDeviceID: oldID, NewDeviceID: newID, UserID: newer.UserID,
			CreatedBy: p.AdminID, CreatedAt: s.run.Now()}
		if err := tx.CreateDeviceMapping(ctx, &out); err != nil {
			return "", nil, err
		}
		return newID, map[string]any{"old_device_id": oldID, "user_id": newer.UserID}, nil
	})
	return out, err
}

// mappable checks the rules of a replacement of older by newer.
func mappable(ctx context.Context, tx holdfast.MetaStore, older, newer holdfast.Device) error {
	var v holdfast.ValidationError
	switch {
	case older.UserID != newer.UserID:
		v.Add("new_device_id", "must be a device of the old device's user")
	case older.Kind != newer.Kind || older.Workload != newer.Workload:
		v.Add("new_device_id", "must be of the old device's kind and workload (%s, %s)", older.Kind, older.Workload)
	}
	if err := v.Err(); err != nil {
		return err
	}
	if newer.State == stateDecommissioned {
		return conflict("device %q is decommissioned and cannot replace another", newer.Name)
	}
	lineage, err := holdfast.DeviceLineage(ctx, tx, older.AccountID, older.ID)
	if err != nil {
		return err
	}
	if slices.Contains(lineage, newer.ID) {
		return conflict("device %q already came before device %q", newer.Name, older.Name)
	}
	return nil
}

// UnmapDevice removes the mapping that makes newID a replacement
// (devices.manage_mappings on it): the old device's snapshots are its own
// again. Audited as device.unmap.
func (s *Service) UnmapDevice(ctx context.Context, p holdfast.Principal, newID string) error {
	c := change.Change{Action: "device.unmap", ResourceType: holdfast.ResourceDevice, ResourceID: newID,
		Checks: []change.Check{{Right: rightMappings, Resource: deviceEntity(newID)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		m, err := tx.GetDeviceMapping(ctx, p.AccountID, newID)
		if err != nil {
			return "", nil, err
		}
		if err := tx.DeleteDeviceMapping(ctx, p.AccountID, newID); err != nil {
			return "", nil, err
		}
		return newID, map[string]any{"old_device_id": m.OldDeviceID, "user_id": m.UserID}, nil
	})
	return err
}

// ListMappings returns one page of the mappings p may see
// (devices.manage_mappings), oldest first, only userID's when set, inside
// p's profile and workload scope (on the new device).
func (s *Service) ListMappings(ctx context.Context, p holdfast.Principal, userID string, page holdfast.Page) (holdfast.Paged[holdfast.DeviceMapping], error) {
	empty := holdfast.Paged[holdfast.DeviceMapping]{Items: []holdfast.DeviceMapping{}}
	if err := page.Validate(); err != nil {
		return empty, err
	}
	if ok, err := s.run.Allowed(ctx, p, change.Check{Right: rightMappings, Resource: deviceEntity("")}); !ok || err != nil {
		return empty, err
	}
	profiles, workloads, err := s.scope.Scope(ctx, p)
	if err != nil {
		return empty, err
	}
	f := holdfast.DeviceMappingFilter{UserID: userID, ProfileIDs: profiles, Workloads: workloads}
	return s.store.PageDeviceMappings(ctx, p.AccountID, f, page)
}
