package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
)

// Device states an administrator sets; decommissioning is a separate
// right and not done here.
const (
	DeviceEnabled        = "enabled"
	DeviceDisabled       = "disabled"
	DeviceDecommissioned = "decommissioned"
)

// ListDevices returns one page of the devices p may view (users.view), by
// name, only userID's when it is set: the query runs inside p's profile
// and workload scope, so the cursor and the total count only those.
// Without users.view the page is empty.
func (s *Service) ListDevices(ctx context.Context, p holdfast.Principal, userID string, page holdfast.Page) (holdfast.Paged[holdfast.Device], error) {
	empty := holdfast.Paged[holdfast.Device]{Items: []holdfast.Device{}}
	if err := page.Validate(); err != nil {
		return empty, err
	}
	if ok, err := s.visible(ctx, p, "users.view", deviceEntity("", nil)); !ok || err != nil {
		return empty, err
	}
	sc, err := s.scopeOf(ctx, p)
	if err != nil {
		return empty, err
	}
	f := holdfast.DeviceFilter{UserID: userID, ProfileIDs: sc.profiles, Workloads: sc.workloads}
	return s.store.PageDevices(ctx, p.AccountID, f, page)
}

// GetDevice returns device id (users.view).
func (s *Service) GetDevice(ctx context.Context, p holdfast.Principal, id string) (holdfast.Device, error) {
	if err := s.decide(ctx, p, "users.view", deviceEntity(id, nil)); err != nil {
		return holdfast.Device{}, err
	}
	return s.store.GetDevice(ctx, p.AccountID, id)
}

// NewDevice is a device to create for a user.
type NewDevice struct {
	UserID, Name, Kind, Workload, Platform string
}

// CreateDevice creates an enabled device (workloads.manage over a device
// of the user and workload). The workload must be one the catalog knows;
// a name the user's other device has is ErrConflict.
func (s *Service) CreateDevice(ctx context.Context, p holdfast.Principal, in NewDevice) (holdfast.Device, error) {
	var v holdfast.ValidationError
	now := s.run.Now()
	d := holdfast.Device{
		AccountID: p.AccountID,
		UserID:    strings.TrimSpace(in.UserID),
		Name:      holdfast.CheckName(&v, "name", in.Name),
		Kind:      in.Kind,
		Workload:  strings.TrimSpace(in.Workload),
		Platform:  strings.TrimSpace(in.Platform),
		State:     DeviceEnabled,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if d.UserID == "" {
		v.Add("user_id", "is required")
	}
	if d.Kind != holdfast.DeviceEndpoint && d.Kind != holdfast.DeviceSaaS {
		v.Add("kind", "must be %s or %s", holdfast.DeviceEndpoint, holdfast.DeviceSaaS)
	}
	if d.Workload == "" {
		v.Add("workload", "is required")
	} else if !s.KnownWorkload(d.Workload) {
		v.Add("workload", "%q is not a known workload (want one of %s)", d.Workload, strings.Join(s.WorkloadIDs(), ", "))
	}
	if err := v.Err(); err != nil {
		return d, err
	}
	c := change.Change{Action: "device.create", ResourceType: holdfast.ResourceDevice, Checks: []change.Check{{
		Right: "workloads.manage", Resource: deviceEntity("", map[string]any{"user_id": d.UserID, "workload": d.Workload}),
	}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if _, err := tx.GetUser(ctx, p.AccountID, d.UserID); errors.Is(err, holdfast.ErrNotFound) {
			return "", nil, invalidField("user_id", "user %q does not exist", d.UserID)
		} else if err != nil {
			return "", nil, err
		}
		if err := tx.CreateDevice(ctx, &d); err != nil {
			return "", nil, fmt.Errorf("device %q: %w", d.Name, err)
		}
		return d.ID, map[string]any{"user_id": d.UserID, "name": d.Name, "workload": d.Workload}, nil
	})
	return d, err
}

// DevicePatch changes a device; nil members stay as they are. State is
// enabled or disabled.
type DevicePatch struct {
	Name, Platform, State *string
}

// UpdateDevice applies in to device id (workloads.manage). A
// decommissioned device does not change (ErrConflict); a name the user's
// other device has is ErrConflict.
func (s *Service) UpdateDevice(ctx context.Context, p holdfast.Principal, id string, in DevicePatch) (holdfast.Device, error) {
	var v holdfast.ValidationError
	if in.Name != nil {
		*in.Name = holdfast.CheckName(&v, "name", *in.Name)
	}
	if in.State != nil && *in.State != DeviceEnabled && *in.State != DeviceDisabled {
		v.Add("state", "must be %s or %s", DeviceEnabled, DeviceDisabled)
	}
	if in == (DevicePatch{}) {
		v.Add("", "the request changes nothing")
	}
	if err := v.Err(); err != nil {
		return holdfast.Device{}, err
	}
	var out holdfast.Device
	c := change.Change{Action: "device.update", ResourceType: holdfast.ResourceDevice, ResourceID: id,
		Checks: []change.Check{{Right: "workloads.manage", Resource: deviceEntity(id, nil)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		d, err := tx.GetDevice(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if d.State == DeviceDecommissioned {
			return "", nil, fmt.Errorf("%w: device %s is decommissioned", holdfast.ErrConflict, id)
		}
		detail := map[string]any{}
		set(detail, "name", &d.Name, in.Name)
		set(detail, "platform", &d.Platform, in.Platform)
		set(detail, "state", &d.State, in.State)
		d.UpdatedAt = s.run.Now()
		if err := tx.UpdateDevice(ctx, &d); err != nil {
			return "", nil, fmt.Errorf("device %s: %w", id, err)
		}
		out = d
		return id, detail, nil
	})
	return out, err
}

// DeleteDevice removes device id (workloads.delete). The device of a held
// user is kept: the engine refuses, and the hold is checked again inside
// the transaction (ErrHeld).
func (s *Service) DeleteDevice(ctx context.Context, p holdfast.Principal, id string) error {
	c := change.Change{Action: "device.delete", ResourceType: holdfast.ResourceDevice, ResourceID: id,
		Checks: []change.Check{{Right: "workloads.delete", Resource: deviceEntity(id, nil)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		d, err := tx.GetDevice(ctx, p.AccountID, id)
		if err != nil {
			return "", nil, err
		}
		u, err := tx.GetUser(ctx, p.AccountID, d.UserID)
		if err != nil {
			return "", nil, fmt.Errorf("user of device %s: %w", id, err)
		}
		if err := checkNotHeld(ctx, tx, &u); err != nil {
			return "", nil, err
		}
		if err := tx.DeleteDevice(ctx, p.AccountID, id); err != nil {
			return "", nil, fmt.Errorf("device %s: %w", id, err)
		}
		return id, map[string]any{"user_id": d.UserID, "name": d.Name}, nil
	})
	return err
}
