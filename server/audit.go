package server

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/holdfast/holdfast"
)

// auditList is the body of GET /api/v1/audit.
type auditList struct {
	Records []holdfast.AuditRecord `json:"records"`
}

// listAudit serves GET /api/v1/audit (admins.view): the account's trail in
// sequence order, filtered by after_seq, actor, action, resource_type,
// resource_id and limit.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	f := holdfast.AuditFilter{
		ActorID:      q.Get("actor"),
		Action:       q.Get("action"),
		ResourceType: q.Get("resource_type"),
		ResourceID:   q.Get("resource_id"),
	}
	var err error
	if f.Limit, _, err = pageParams(q); err != nil {
		return err
	}
	if v := q.Get("after_seq"); v != "" {
		if f.AfterSeq, err = strconv.ParseInt(v, 10, 64); err != nil || f.AfterSeq < 0 {
			return fmt.Errorf("%w: after_seq must be a whole number, 0 or more", errBadRequest)
		}
	}
	if _, err := s.decide(ctx, check{right: "admins.view", resource: accountEntity(ctx)}); err != nil {
		return err
	}
	records, err := s.store.ListAudit(ctx, principal(ctx).AccountID, f)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, auditList{Records: nonNilSlice(records)})
}

// verifyAudit serves GET /api/v1/audit/verify (admins.view, like the
// trail itself): it walks the account's trail, checks every MAC link and
// every signed checkpoint, and reports OK, or the first bad record, or the
// missing tail (the newest checkpoint's seq against the last record's).
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := s.decide(ctx, check{right: "admins.view", resource: accountEntity(ctx)}); err != nil {
		return err
	}
	if s.audit == nil {
		return fmt.Errorf("%w: audit verification is not configured", holdfast.ErrUnavailable)
	}
	rep, err := s.audit.Verify(ctx, principal(ctx).AccountID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rep)
}
