package server

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/holdfast/holdfast"
)

// listAudit serves GET /api/v1/audit (admins.view): one page of the
// account's trail in sequence order, filtered by after_seq, actor, action,
// resource_type, resource_id and the time window since/before.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilterOf(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	out, err := s.admins.Audit(r.Context(), principal(r.Context()), f, page)
	if err != nil {
		return err
	}
	return writePage(w, "records", out)
}

// exportAudit serves GET /api/v1/audit/export (admins.view): every record
// matching the filters of GET /api/v1/audit, oldest first, as CSV.
func (s *Server) exportAudit(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilterOf(r.URL.Query())
	if err != nil {
		return err
	}
	return s.admins.ExportAudit(r.Context(), principal(r.Context()), f, &csvAttachment{w: w, name: "audit-trail.csv"})
}

// csvAttachment sets the headers of a CSV download at the first write, so
// that an error before it is still answered as JSON.
type csvAttachment struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (c *csvAttachment) Write(b []byte) (int, error) {
	if !c.started {
		c.started = true
		h := c.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+c.name+`"`)
		h.Set("Cache-Control", "no-store")
	}
	return c.w.Write(b)
}

// auditFilterOf reads the audit trail's filters: after_seq a whole
// number, since and before RFC 3339 times.
func auditFilterOf(q url.Values) (holdfast.AuditFilter, error) {
	f := holdfast.AuditFilter{ActorID: q.Get("actor"), Action: q.Get("action"),
		ResourceType: q.Get("resource_type"), ResourceID: q.Get("resource_id")}
	var bad holdfast.ValidationError
	if v := q.Get("after_seq"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			bad.Add("after_seq", "must be a whole number, 0 or more")
		}
		f.AfterSeq = n
	}
	for _, t := range []struct {
		name string
		to   *time.Time
	}{{"since", &f.Since}, {"before", &f.Before}} {
		if v := q.Get(t.name); v != "" {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				bad.Add(t.name, "must be a time like 2026-03-01T00:00:00Z")
			}
			*t.to = at
		}
	}
	return f, bad.Err()
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
