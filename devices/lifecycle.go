package devices

import (
	"context"
	"fmt"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// Device states this service reads and sets (directory sets the others).
const (
	stateEnabled        = "enabled"
	stateDecommissioned = "decommissioned"
)

// Decommission asks for a decommission; Wipe queues a remote wipe of the
// endpoint for its agent.
type Decommission struct {
	Wipe bool
}

// DecommissionResult is the decommissioned device and its wipe command
// (nil without one).
type DecommissionResult struct {
	Device holdfast.Device         `json:"device"`
	Wipe   *holdfast.DeviceCommand `json:"wipe,omitempty"`
}

// Decommission decommissions device id (devices.decommission, in the
// caller's profile and workload scope): the device takes no more backups
// and no more commands, its open upgrade requests fail, and with in.Wipe
// a wipe command is queued for its agent. Its user, its snapshots and any
// data under legal hold stay as they are: decommissioning deletes
// nothing. A device already decommissioned is ErrConflict; a wipe of a
// SaaS source (nothing on an endpoint to wipe) is refused naming "wipe".
// Listeners hear of it once it has committed.
func (s *Service) Decommission(ctx context.Context, p holdfast.Principal, id string, in Decommission) (DecommissionResult, error) {
	var out DecommissionResult
	c := change.Change{Action: "device.decommission", ResourceType: holdfast.ResourceDevice, ResourceID: id,
		Checks: []change.Check{{Right: rightDecommission, Resource: deviceEntity(id)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		d, err := tx.GetDevice(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if d.State == stateDecommissioned {
			return "", nil, conflict("device %q is already decommissioned", d.Name)
		}
		if in.Wipe && d.Kind != holdfast.DeviceEndpoint {
			var v holdfast.ValidationError
			v.Add("wipe", "device %q is a SaaS source: only an endpoint can be wiped", d.Name)
			return "", nil, v.Err()
		}
		now := s.run.Now()
		d.State, d.UpdatedAt = stateDecommissioned, now
		if err := tx.UpdateDevice(ctx, &d); err != nil {
			return "", nil, fmt.Errorf("device %s: %w", id, err)
		}
		cancelled, err := s.cancelOpen(ctx, tx, d, now)
		if err != nil {
			return "", nil, err
		}
		out.Device = d
		detail := map[string]any{"user_id": d.UserID, "name": d.Name, "wipe": in.Wipe, "cancelled_commands": cancelled}
		if in.Wipe {
			w := holdfast.DeviceCommand{AccountID: p.AccountID, DeviceID: d.ID, UserID: d.UserID, Kind: holdfast.CommandWipe,
				State: holdfast.CommandPending, RequestedBy: p.AdminID, CreatedAt: now}
			if err := tx.CreateDeviceCommand(ctx, &w); err != nil {
				return "", nil, err
			}
			out.Wipe, detail["command_id"] = &w, w.ID
		}
		return id, detail, nil
	})
	if err != nil {
		return out, err
	}
	s.decommissioned(ctx, Decommissioned{Device: out.Device, Wipe: out.Wipe, By: p, At: out.Device.UpdatedAt})
	return out, nil
}

// cancelOpen fails the device's open commands (a decommissioned device
// takes none but its wipe) and returns their ids.
func (s *Service) cancelOpen(ctx context.Context, tx holdfast.MetaStore, d holdfast.Device, now time.Time) ([]string, error) {
	ids := []string{}
	f := holdfast.DeviceCommandFilter{DeviceID: d.ID, States: []string{holdfast.CommandPending, holdfast.CommandDelivered}}
	for page := (holdfast.Page{Limit: holdfast.MaxPageSize}); ; {
		got, err := tx.PageDeviceCommands(ctx, d.AccountID, f, page)
		if err != nil {
			return nil, err
		}
		for _, c := range got.Items {
			c.State, c.Result, c.CompletedAt = holdfast.CommandFailed, "cancelled: the device was decommissioned", &now
			if err := tx.UpdateDeviceCommand(ctx, &c); err != nil {
				return nil, err
			}
			ids = append(ids, c.ID)
		}
		if got.Next == "" {
			return ids, nil
		}
		page.Cursor = got.Next
	}
}

// RequestUpgrade queues an upgrade of the client on endpoint id to version
// ("" for the newest) for its agent (devices.upgrade_client, in the
// caller's profile and workload scope). A bad version is refused naming
// "version"; a SaaS source (which runs no client), a decommissioned
// device, or one with an upgrade still open is ErrConflict.
func (s *Service) RequestUpgrade(ctx context.Context, p holdfast.Principal, id, version string) (holdfast.DeviceCommand, error) {
	if version != "" && !versionPattern.MatchString(version) {
		var v holdfast.ValidationError
		v.Add("version", "must be a client version such as 7.5.1 (letters, digits, '.', '+', '-'; at most 64)")
		return holdfast.DeviceCommand{}, v.Err()
	}
	var out holdfast.DeviceCommand
	c := change.Change{Action: "device.upgrade", ResourceType: holdfast.ResourceDevice, ResourceID: id,
		Checks: []change.Check{{Right: rightUpgrade, Resource: deviceEntity(id)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		d, err := tx.GetDevice(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if err := upgradable(ctx, tx, d); err != nil {
			return "", nil, err
		}
		out = holdfast.DeviceCommand{AccountID: p.AccountID, DeviceID: d.ID, UserID: d.UserID, Kind: holdfast.CommandUpgrade,
			State: holdfast.CommandPending, Params: map[string]string{"version": version}, RequestedBy: p.AdminID, CreatedAt: s.run.Now()}
		if err := tx.CreateDeviceCommand(ctx, &out); err != nil {
			return "", nil, err
		}
		return id, map[string]any{"user_id": d.UserID, "name": d.Name, "version": version, "command_id": out.ID}, nil
	})
	return out, err
}

// upgradable refuses an upgrade of a device that runs no client, is
// decommissioned, or has one open.
func upgradable(ctx context.Context, tx holdfast.MetaStore, d holdfast.Device) error {
	if d.Kind != holdfast.DeviceEndpoint {
		return conflict("device %q is a SaaS source and runs no client", d.Name)
	}
	if d.State == stateDecommissioned {
		return conflict("device %q is decommissioned", d.Name)
	}
	open, err := tx.PageDeviceCommands(ctx, d.AccountID, holdfast.DeviceCommandFilter{DeviceID: d.ID, Kind: holdfast.CommandUpgrade,
		States: []string{holdfast.CommandPending, holdfast.CommandDelivered}}, holdfast.Page{Limit: 1})
	if err != nil {
		return err
	}
	if len(open.Items) > 0 {
		return conflict("device %q already has upgrade %s %s", d.Name, open.Items[0].ID, open.Items[0].State)
	}
	return nil
}
