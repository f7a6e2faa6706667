package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// Device states.
const (
	deviceEnabled  = "enabled"
	deviceDisabled = "disabled"
)

// deviceList is the body of GET /api/v1/devices.
type deviceList struct {
	Devices []holdfast.Device `json:"devices"`
}

// listDevices serves GET /api/v1/devices: the devices the engine lets the
// caller view (users.view on each); ?user_id= narrows to one user's.
func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	all, err := s.store.ListDevices(ctx, principal(ctx).AccountID, r.URL.Query().Get("user_id"))
	if err != nil {
		return err
	}
	out := deviceList{Devices: []holdfast.Device{}}
	for _, d := range all {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := s.allowed(ctx, check{right: "users.view", resource: deviceEntity(d.ID, nil)})
		if err != nil {
			return err
		}
		if ok {
			out.Devices = append(out.Devices, d)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// getDevice serves GET /api/v1/devices/{id} (users.view).
func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := s.decide(ctx, check{right: "users.view", resource: deviceEntity(id, nil)}); err != nil {
		return err
	}
	d, err := s.store.GetDevice(ctx, principal(ctx).AccountID, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// deviceCreate is the body of POST /api/v1/devices.
type deviceCreate struct {
	UserID   string `json:"user_id"`
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Workload string `json:"workload"`
	Platform string `json:"platform"`
}

// createDevice serves POST /api/v1/devices (workloads.manage).
func (s *Server) createDevice(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in deviceCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	acct := principal(ctx).AccountID
	var v holdfast.ValidationError
	now := s.now().UTC().Truncate(time.Microsecond)
	d := holdfast.Device{
		AccountID: acct,
		UserID:    strings.TrimSpace(in.UserID),
		Name:      checkName(&v, "name", in.Name),
		Kind:      in.Kind,
		Workload:  strings.TrimSpace(in.Workload),
		Platform:  strings.TrimSpace(in.Platform),
		State:     deviceEnabled,
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
	} else if !s.knownWorkload(d.Workload) {
		v.Add("workload", "%q is not a known workload (want one of %s)", d.Workload, strings.Join(s.workloadIDs(), ", "))
	}
	if err := v.Err(); err != nil {
		return err
	}
	c := change{action: "device.create", resourceType: holdfast.ResourceDevice, checks: []check{{
		right: "workloads.manage", resource: deviceEntity("", map[string]any{"user_id": d.UserID, "workload": d.Workload}),
	}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		if _, err := tx.GetUser(ctx, acct, d.UserID); errors.Is(err, holdfast.ErrNotFound) {
			return "", nil, invalidField("user_id", "user %q does not exist", d.UserID)
		} else if err != nil {
			return "", nil, err
		}
		if err := tx.CreateDevice(ctx, &d); err != nil {
			return "", nil, fmt.Errorf("device %q: %w", d.Name, err)
		}
		return d.ID, map[string]any{"user_id": d.UserID, "name": d.Name, "workload": d.Workload}, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

// devicePatch is the body of PATCH /api/v1/devices/{id}. State is enabled
// or disabled; decommissioning is a separate right and not done here.
type devicePatch struct {
	Name     *string `json:"name"`
	Platform *string `json:"platform"`
	State    *string `json:"state"`
}

// updateDevice serves PATCH /api/v1/devices/{id} (workloads.manage).
func (s *Server) updateDevice(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	var in devicePatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var v holdfast.ValidationError
	if in.Name != nil {
		*in.Name = checkName(&v, "name", *in.Name)
	}
	if in.State != nil && *in.State != deviceEnabled && *in.State != deviceDisabled {
		v.Add("state", "must be %s or %s", deviceEnabled, deviceDisabled)
	}
	if in == (devicePatch{}) {
		v.Add("", "the request changes nothing")
	}
	if err := v.Err(); err != nil {
		return err
	}
	var out holdfast.Device
	c := change{action: "device.update", resourceType: holdfast.ResourceDevice, resourceID: id,
		checks: []check{{right: "workloads.manage", resource: deviceEntity(id, nil)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		d, err := tx.GetDevice(ctx, principal(ctx).AccountID, id)
		if err != nil {
			return "", nil, err
		}
		if d.State == "decommissioned" {
			return "", nil, fmt.Errorf("%w: device %s is decommissioned", holdfast.ErrConflict, id)
		}
		detail := map[string]any{}
		set := func(field string, dst, src *string) {
			if src != nil && *dst != *src {
				detail[field] = map[string]string{"from": *dst, "to": *src}
				*dst = *src
			}
		}
		set("name", &d.Name, in.Name)
		set("platform", &d.Platform, in.Platform)
		set("state", &d.State, in.State)
		d.UpdatedAt = s.now().UTC().Truncate(time.Microsecond)
		if err := tx.UpdateDevice(ctx, &d); err != nil {
			return "", nil, fmt.Errorf("device %s: %w", id, err)
		}
		out = d
		return id, detail, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// deleteDevice serves DELETE /api/v1/devices/{id} (workloads.delete). The
// device of a held user is kept: the engine refuses, and the hold is
// checked again inside the transaction (ErrHeld).
func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	ctx, id := r.Context(), r.PathValue("id")
	acct := principal(ctx).AccountID
	c := change{action: "device.delete", resourceType: holdfast.ResourceDevice, resourceID: id,
		checks: []check{{right: "workloads.delete", resource: deviceEntity(id, nil)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		d, err := tx.GetDevice(ctx, acct, id)
		if err != nil {
			return "", nil, err
		}
		u, err := tx.GetUser(ctx, acct, d.UserID)
		if err != nil {
			return "", nil, fmt.Errorf("user of device %s: %w", id, err)
		}
		if err := checkNotHeld(ctx, tx, &u); err != nil {
			return "", nil, err
		}
		if err := tx.DeleteDevice(ctx, acct, id); err != nil {
			return "", nil, fmt.Errorf("device %s: %w", id, err)
		}
		return id, map[string]any{"user_id": d.UserID, "name": d.Name}, nil
	})
	if err != nil {
		return err
	}
	return noContent(w)
}

// workloadIDs are the ids of the catalog's workloads.
func (s *Server) workloadIDs() []string {
	var ids []string
	for _, w := range s.engine.Catalog().Workloads {
		ids = append(ids, w.ID)
	}
	return ids
}

// deviceEntity is a device as a decision resource.
func deviceEntity(id string, props map[string]any) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceDevice, ID: id, Properties: props}
}
