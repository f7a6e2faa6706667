package devices

import (
	"context"
	"fmt"
	"slices"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

var (
	kinds  = []string{holdfast.CommandWipe, holdfast.CommandUpgrade}
	states = []string{holdfast.CommandPending, holdfast.CommandDelivered, holdfast.CommandDone, holdfast.CommandFailed}
	// open are the states a command may still leave.
	open = []string{holdfast.CommandPending, holdfast.CommandDelivered}
)

// CommandFilter narrows ListCommands; empty members do not filter.
type CommandFilter struct {
	DeviceID, Kind, State string
}

// ListCommands returns one page of the device commands p may see
// (users.view), oldest first: the query runs inside p's profile and
// workload scope, so the cursor and the total count only those. Without
// users.view the page is empty; a device p may not see is refused.
func (s *Service) ListCommands(ctx context.Context, p holdfast.Principal, f CommandFilter, page holdfast.Page) (holdfast.Paged[holdfast.DeviceCommand], error) {
	empty := holdfast.Paged[holdfast.DeviceCommand]{Items: []holdfast.DeviceCommand{}}
	var v holdfast.ValidationError
	if f.Kind != "" && !slices.Contains(kinds, f.Kind) {
		v.Add("kind", "must be one of %v", kinds)
	}
	if f.State != "" && !slices.Contains(states, f.State) {
		v.Add("state", "must be one of %v", states)
	}
	if err := v.Err(); err != nil {
		return empty, err
	}
	if err := page.Validate(); err != nil {
		return empty, err
	}
	if f.DeviceID != "" {
		if _, err := s.run.Decide(ctx, p, change.Check{Right: rightView, Resource: deviceEntity(f.DeviceID)}); err != nil {
			return empty, err
		}
	} else if ok, err := s.run.Allowed(ctx, p, change.Check{Right: rightView, Resource: deviceEntity("")}); !ok || err != nil {
		return empty, err
	}
	profiles, workloads, err := s.scope.Scope(ctx, p)
	if err != nil {
		return empty, err
	}
	sf := holdfast.DeviceCommandFilter{DeviceID: f.DeviceID, Kind: f.Kind, ProfileIDs: profiles, Workloads: workloads}
	if f.State != "" {
		sf.States = []string{f.State}
	}
	return s.store.PageDeviceCommands(ctx, p.AccountID, sf, page)
}

// GetCommand returns command id (users.view on its device). A command of
// a device p may not see is refused like the device.
func (s *Service) GetCommand(ctx context.Context, p holdfast.Principal, id string) (holdfast.DeviceCommand, error) {
	c, err := s.store.GetDeviceCommand(ctx, p.AccountID, id)
	if err != nil {
		return c, err
	}
	if _, err := s.run.Decide(ctx, p, change.Check{Right: rightView, Resource: deviceEntity(c.DeviceID)}); err != nil {
		return holdfast.DeviceCommand{}, err
	}
	return c, nil
}

// Take is what a device's agent calls to fetch its work (backups.perform
// on the device, the right its backups use): one page of the device's
// open commands, oldest first. The pending ones on the page become
// delivered, in one transaction with a device_command.deliver record; the
// delivered ones come again, so an agent that crashed before acting on a
// command gets it once more. It works on a decommissioned device, whose
// wipe is waiting.
func (s *Service) Take(ctx context.Context, p holdfast.Principal, deviceID string, page holdfast.Page) (holdfast.Paged[holdfast.DeviceCommand], error) {
	out := holdfast.Paged[holdfast.DeviceCommand]{Items: []holdfast.DeviceCommand{}}
	if err := page.Validate(); err != nil {
		return out, err
	}
	d, err := s.run.Decide(ctx, p, change.Check{Right: rightAgent, Resource: deviceEntity(deviceID)})
	if err != nil {
		return out, err
	}
	err = s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		got, err := tx.PageDeviceCommands(ctx, p.AccountID, holdfast.DeviceCommandFilter{DeviceID: deviceID, States: open}, page)
		if err != nil {
			return err
		}
		now := s.run.Now()
		var delivered []string
		for i, c := range got.Items {
			if c.State == holdfast.CommandPending {
				c.State, c.DeliveredAt = holdfast.CommandDelivered, &now
				if err := tx.UpdateDeviceCommand(ctx, &c); err != nil {
					return err
				}
				got.Items[i], delivered = c, append(delivered, c.ID)
			}
		}
		out = got
		if len(delivered) == 0 {
			return nil
		}
		return s.run.Append(ctx, tx, p, change.Record{Action: "device_command.deliver", ResourceType: holdfast.ResourceDevice,
			ResourceID: deviceID, Decision: d, Outcome: holdfast.OutcomeSuccess, Detail: map[string]any{"commands": delivered}})
	})
	return out, err
}

// Ack is an agent's report on a command: State done (for a wipe: the
// device is wiped) or failed, and a message.
type Ack struct {
	State  string
	Result string
}

// Acknowledge records the agent's result of command id of device deviceID
// (backups.perform on the device). The command must be open; the same
// report again (an agent retrying after a lost answer) returns the command
// unchanged, another one on a final command is ErrConflict. A command of
// another device is ErrNotFound.
func (s *Service) Acknowledge(ctx context.Context, p holdfast.Principal, deviceID, id string, in Ack) (holdfast.DeviceCommand, error) {
	var v holdfast.ValidationError
	if in.State != holdfast.CommandDone && in.State != holdfast.CommandFailed {
		v.Add("state", "must be %s or %s", holdfast.CommandDone, holdfast.CommandFailed)
	}
	checkResult(&v, in.Result)
	if err := v.Err(); err != nil {
		return holdfast.DeviceCommand{}, err
	}
	var out holdfast.DeviceCommand
	c := change.Change{Action: "device_command.ack", ResourceType: ResourceCommand, ResourceID: id,
		Checks: []change.Check{{Right: rightAgent, Resource: deviceEntity(deviceID)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		cmd, err := tx.GetDeviceCommand(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if cmd.DeviceID != deviceID {
			return "", nil, fmt.Errorf("device command %s: %w", id, holdfast.ErrNotFound)
		}
		detail := map[string]any{"device_id": deviceID, "kind": cmd.Kind, "state": in.State}
		if !holdfast.CommandOpen(cmd.State) {
			if cmd.State != in.State || cmd.Result != in.Result {
				return "", nil, conflict("device command %s is already %s", id, cmd.State)
			}
			out, detail["repeated"] = cmd, true
			return id, detail, nil
		}
		now := s.run.Now()
		if cmd.DeliveredAt == nil {
			cmd.DeliveredAt = &now
		}
		cmd.State, cmd.Result, cmd.CompletedAt = in.State, in.Result, &now
		if err := tx.UpdateDeviceCommand(ctx, &cmd); err != nil {
			return "", nil, err
		}
		out = cmd
		return id, detail, nil
	})
	return out, err
}
