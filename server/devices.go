package server

import (
	"net/http"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/devices"
)

// registerDeviceRoutes registers the device lifecycle API (the devices
// service): decommissioning, upgrade requests, and the command queue an
// administrator reads and a device's agent takes and acknowledges.
func (s *Server) registerDeviceRoutes() {
	s.authed("POST /api/v1/devices/{id}/decommission", s.decommissionDevice)
	s.authed("POST /api/v1/devices/{id}/upgrade", s.upgradeDevice)
	s.authed("POST /api/v1/devices/{id}/commands/take", s.takeCommands)
	s.authed("POST /api/v1/devices/{id}/commands/{command}/ack", s.ackCommand)
	s.authed("GET /api/v1/device-commands", s.listCommands)
	s.authed("GET /api/v1/device-commands/{id}", s.getCommand)
	s.authed("POST /api/v1/activation-keys", s.issueKey)
	s.authed("GET /api/v1/activation-keys", s.listKeys)
	s.authed("POST /api/v1/activation-keys/{id}/revoke", s.revokeKey)
	s.authed("POST /api/v1/device-mappings", s.mapDevice)
	s.authed("GET /api/v1/device-mappings", s.listMappings)
	s.authed("DELETE /api/v1/device-mappings/{id}", s.unmapDevice)
}

// decommissionBody is the body of POST /api/v1/devices/{id}/decommission.
type decommissionBody struct {
	Wipe bool `json:"wipe"`
}

// decommissionDevice serves POST /api/v1/devices/{id}/decommission
// (devices.decommission).
func (s *Server) decommissionDevice(w http.ResponseWriter, r *http.Request) error {
	var in decommissionBody
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	res, err := s.devices.Decommission(r.Context(), principal(r.Context()), r.PathValue("id"), devices.Decommission(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// upgradeBody is the body of POST /api/v1/devices/{id}/upgrade.
type upgradeBody struct {
	Version string `json:"version"`
}

// upgradeDevice serves POST /api/v1/devices/{id}/upgrade
// (devices.upgrade_client): 201 with the queued command.
func (s *Server) upgradeDevice(w http.ResponseWriter, r *http.Request) error {
	var in upgradeBody
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := s.devices.RequestUpgrade(r.Context(), principal(r.Context()), r.PathValue("id"), in.Version)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, c)
}

// takeCommands serves POST /api/v1/devices/{id}/commands/take (the agent:
// backups.perform on the device): one page of open commands, the pending
// ones now delivered.
func (s *Server) takeCommands(w http.ResponseWriter, r *http.Request) error {
	page, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	got, err := s.devices.Take(r.Context(), principal(r.Context()), r.PathValue("id"), page)
	if err != nil {
		return err
	}
	return writePage(w, "commands", got)
}

// ackBody is the body of POST /api/v1/devices/{id}/commands/{command}/ack.
type ackBody struct {
	State  string `json:"state"`
	Result string `json:"result"`
}

// ackCommand serves POST /api/v1/devices/{id}/commands/{command}/ack (the
// agent: backups.perform on the device).
func (s *Server) ackCommand(w http.ResponseWriter, r *http.Request) error {
	var in ackBody
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	c, err := s.devices.Acknowledge(r.Context(), principal(r.Context()), r.PathValue("id"), r.PathValue("command"), devices.Ack(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// listCommands serves GET /api/v1/device-commands (users.view):
// ?device_id=, ?kind=, ?state= narrow; pages with limit and cursor.
func (s *Server) listCommands(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	f := devices.CommandFilter{DeviceID: q.Get("device_id"), Kind: q.Get("kind"), State: q.Get("state")}
	got, err := s.devices.ListCommands(r.Context(), principal(r.Context()), f, page)
	if err != nil {
		return err
	}
	return writePage(w, "commands", got)
}

// getCommand serves GET /api/v1/device-commands/{id} (users.view on its
// device).
func (s *Server) getCommand(w http.ResponseWriter, r *http.Request) error {
	c, err := s.devices.GetCommand(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

// keyBody is the body of POST /api/v1/activation-keys.
type keyBody struct {
	UserID    string `json:"user_id"`
	ProfileID string `json:"profile_id"`
	Name      string `json:"name"`
	ValidDays int    `json:"valid_days"`
}

// issuedKey is the answer of POST /api/v1/activation-keys: the key and,
// this once, its secret.
type issuedKey struct {
	holdfast.ActivationKey
	Secret string `json:"secret"`
}

// issueKey serves POST /api/v1/activation-keys (users.download_auth_keys).
func (s *Server) issueKey(w http.ResponseWriter, r *http.Request) error {
	var in keyBody
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	k, secret, err := s.devices.IssueKey(r.Context(), principal(r.Context()), devices.NewKey(in))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, issuedKey{ActivationKey: k, Secret: secret.Reveal()})
}

// listKeys serves GET /api/v1/activation-keys (users.download_auth_keys):
// ?kind=, ?user_id=, ?profile_id= narrow; pages with limit and cursor.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	f := devices.KeyFilter{Kind: q.Get("kind"), UserID: q.Get("user_id"), ProfileID: q.Get("profile_id")}
	got, err := s.devices.ListKeys(r.Context(), principal(r.Context()), f, page)
	if err != nil {
		return err
	}
	return writePage(w, "keys", got)
}

// revokeKey serves POST /api/v1/activation-keys/{id}/revoke
// (users.download_auth_keys).
func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.devices.RevokeKey(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, k)
}

// mappingBody is the body of POST /api/v1/device-mappings.
type mappingBody struct {
	OldDeviceID string `json:"old_device_id"`
	NewDeviceID string `json:"new_device_id"`
}

// mapDevice serves POST /api/v1/device-mappings (devices.manage_mappings
// on both devices).
func (s *Server) mapDevice(w http.ResponseWriter, r *http.Request) error {
	var in mappingBody
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	m, err := s.devices.MapDevice(r.Context(), principal(r.Context()), in.OldDeviceID, in.NewDeviceID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, m)
}

// listMappings serves GET /api/v1/device-mappings
// (devices.manage_mappings): ?user_id= narrows; pages with limit and
// cursor.
func (s *Server) listMappings(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	got, err := s.devices.ListMappings(r.Context(), principal(r.Context()), q.Get("user_id"), page)
	if err != nil {
		return err
	}
	return writePage(w, "mappings", got)
}

// unmapDevice serves DELETE /api/v1/device-mappings/{id}, id the new
// device (devices.manage_mappings).
func (s *Server) unmapDevice(w http.ResponseWriter, r *http.Request) error {
	if err := s.devices.UnmapDevice(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}
