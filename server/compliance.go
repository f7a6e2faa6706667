package server

import (
	"net/http"
	"strconv"

	"github.com/holdfast/holdfast"

	"github.com/holdfast/holdfast/snapshots"
)

// registerComplianceRoutes registers backup status and compliance: the
// dashboard, a device's status, and the runs a backup client reports.
func (s *Server) registerComplianceRoutes() {
	s.authed("GET /api/v1/dashboard", s.getDashboard)
	s.authed("GET /api/v1/devices/{id}/backup-status", s.getBackupStatus)
	s.authed("POST /api/v1/backups/{id}/runs", s.withData(s.reportRun))
	s.authed("GET /api/v1/backups/{id}/policy", s.withData(s.backupPolicy))
}

// backupPolicy serves GET /api/v1/backups/{id}/policy (backups.perform):
// the effective backup policy of the device.
func (s *Server) backupPolicy(w http.ResponseWriter, r *http.Request) error {
	pol, err := s.snaps.Policy(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pol)
}

// getDashboard serves GET /api/v1/dashboard (users.view): compliance
// counts and the storage series (?days=, 1 to 366) of the devices the
// caller may see.
func (s *Server) getDashboard(w http.ResponseWriter, r *http.Request) error {
	days := 0
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			var bad holdfast.ValidationError
			bad.Add("days", "must be a whole number of days")
			return bad.Err()
		}
		days = n
	}
	d, err := s.directory.Dashboard(r.Context(), principal(r.Context()), days)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// getBackupStatus serves GET /api/v1/devices/{id}/backup-status
// (users.view): the device with its compliance state now.
func (s *Server) getBackupStatus(w http.ResponseWriter, r *http.Request) error {
	d, err := s.directory.GetDeviceStatus(r.Context(), principal(r.Context()), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// reportRun serves POST /api/v1/backups/{id}/runs (backups.perform): a
// backup client reports a failed run, or that its last snapshot is
// partial.
func (s *Server) reportRun(w http.ResponseWriter, r *http.Request) error {
	var in snapshots.Report
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	st, err := s.snaps.ReportRun(r.Context(), principal(r.Context()), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}
