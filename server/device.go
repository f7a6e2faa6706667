package server

import (
	"net/http"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/directory"
)

// deviceList is the body of GET /api/v1/devices: one page.
type deviceList struct {
	Devices    []holdfast.Device `json:"devices"`
	NextCursor string            `json:"next_cursor,omitempty"`
	Total      int               `json:"total"`
}

// listDevices serves GET /api/v1/devices (users.view); ?user_id= narrows
// to one user's; pages with limit and cursor.
func (s *Server) listDevices(w http.ResponseWriter, r *http.Request) error {
	ctx, q := r.Context(), r.URL.Query()
	page, err := holdfast.ParsePage(q.Get("limit"), q.Get("cursor"))
	if err != nil {
		return err
	}
	got, err := s.directory.ListDevices(ctx, principal(ctx), q.Get("user_id"), page)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, deviceList{Devices: got.Items, NextCursor: got.Next, Total: got.Total})
}

// getDevice serves GET /api/v1/devices/{id} (users.view).
func (s *Server) getDevice(w http.ResponseWriter, r *http.Request) error {
	d, err := s.directory.GetDevice(r.Context(), principal(r.Context()), r.PathValue("id"))
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
	var in deviceCreate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := s.directory.CreateDevice(r.Context(), principal(r.Context()), directory.NewDevice(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

// devicePatch is the body of PATCH /api/v1/devices/{id}.
type devicePatch struct {
	Name     *string `json:"name"`
	Platform *string `json:"platform"`
	State    *string `json:"state"`
}

// updateDevice serves PATCH /api/v1/devices/{id} (workloads.manage).
func (s *Server) updateDevice(w http.ResponseWriter, r *http.Request) error {
	var in devicePatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	d, err := s.directory.UpdateDevice(r.Context(), principal(r.Context()), r.PathValue("id"), directory.DevicePatch(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// deleteDevice serves DELETE /api/v1/devices/{id} (workloads.delete).
func (s *Server) deleteDevice(w http.ResponseWriter, r *http.Request) error {
	if err := s.directory.DeleteDevice(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
