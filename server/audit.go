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

// auditVerification is the body of GET /api/v1/audit/verify.
type auditVerification struct {
	OK      bool                 `json:"ok"`
	Records int64                `json:"records"`
	Break   *holdfast.AuditBreak `json:"break,omitempty"`
}

// verifyAudit serves GET /api/v1/audit/verify (admins.view): it walks the
// account's whole trail and checks every hash link, reporting the first
// break and how many records verified before it.
func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := s.decide(ctx, check{right: "admins.view", resource: accountEntity(ctx)}); err != nil {
		return err
	}
	acct := principal(ctx).AccountID
	var (
		out      = auditVerification{OK: true}
		prevSeq  int64
		prevHash string
	)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		page, err := s.store.ListAudit(ctx, acct, holdfast.AuditFilter{AfterSeq: prevSeq, Limit: maxLimit})
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		if b := holdfast.VerifyAuditChain(prevSeq, prevHash, page); b != nil {
			// Records counts those that verified, before the break.
			for _, rec := range page {
				if rec.Seq == b.Seq {
					break
				}
				out.Records++
			}
			out.OK, out.Break = false, b
			break
		}
		out.Records += int64(len(page))
		last := page[len(page)-1]
		prevSeq, prevHash = last.Seq, last.Hash
	}
	return writeJSON(w, http.StatusOK, out)
}
