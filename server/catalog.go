package server

import (
	"net/http"

	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/policies"
)

// rightsList is the body of GET /api/v1/rights.
type rightsList struct {
	Categories []admins.CategoryView `json:"categories"`
	// Workloads are the catalog's workloads (data sources), for pickers.
	Workloads []policies.Workload `json:"workloads"`
}

// listRights serves GET /api/v1/rights: the catalog, to any authenticated
// administrator (it is the same for every account and names no data).
func (s *Server) listRights(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, rightsList{Categories: s.admins.Rights(), Workloads: s.engine.Catalog().Workloads})
}
