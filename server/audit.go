package server

import (
	"net/http"
	"strconv"

	"github.com/holdfast/holdfast"
)

// listAudit serves GET /api/v1/audit (admins.view): one page of the
// account's trail in sequence order, filtered by after_seq, actor, action,
// resource_type and resource_id.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := holdfast.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"),
		ResourceType: q.Get("resource_type"), ResourceID: q.Get("resource_id")}
	if v := q.Get("after_seq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			var bad holdfast.ValidationError
			bad.Add("after_seq", "must be a whole number, 0 or more")
			return bad.Err()
		}
		f.AfterSeq = n
	}
	page, err := pageOf(q)
	if err != nil {
		return err
	}
	out, err := s.admins.Audit(r.Context(), principal(r.Context()), f, page)
	if err != nil {
		return err
	}
	return writePage(w, "records", out)
}

// verifyAudit serves GET /api/v1/audit/verify (admins.view): the first bad
// record or the missing tail of the account's trail, or OK.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.admins.VerifyAudit(r.Context(), principal(r.Context()))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
