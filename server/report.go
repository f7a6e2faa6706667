package server

import (
	"log/slog"
	"net/http"
	"net/url"

	"github.com/holdfast/holdfast/reports"
)

// newReports builds the reports service over the server's services.
func newReports(s *Server, opts Options) *reports.Service {
	o := reports.Options{Changes: s.changes, Directory: s.directory, Holds: s.holds, Admins: s.admins,
		Mailer: opts.Mailer, Clock: s.clock}
	if opts.Data != nil {
		o.Backups = opts.Data
	}
	return reports.New(o)
}

// registerReportRoutes registers the reports API (reports.view).
func (s *Server) registerReportRoutes() {
	s.authed("GET /api/v1/reports", s.listReports)
	s.authed("GET /api/v1/reports/{id}", s.runReport)
}

// listReports serves GET /api/v1/reports: the reports, their columns and
// filters (reports.view).
func (s *Server) listReports(w http.ResponseWriter, r *http.Request) error {
	list, err := s.reports.List(r.Context(), principal(r.Context()))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"reports": list})
}

// reportParams are the query values of a report request that are not its
// filters.
var reportParams = map[string]bool{"limit": true, "cursor": true, "format": true, "offset": true}

// reportQuery splits a report request's query into its filters.
func reportQuery(q url.Values) reports.Query {
	f := reports.Query{}
	for k := range q {
		if !reportParams[k] {
			f[k] = q.Get(k)
		}
	}
	return f
}

// runReport serves GET /api/v1/reports/{id}: one page of the report as
// JSON (rows, next_cursor, total, and on the first page its chart), or
// with format=csv (or Accept: text/csv) the whole report as CSV, streamed.
func (s *Server) runReport(w http.ResponseWriter, r *http.Request) error {
	ctx, q := r.Context(), r.URL.Query()
	if q.Get("format") == "csv" || acceptsCSV(r) {
		cw := &csvAnswer{w: w, name: r.PathValue("id")}
		err := s.reports.WriteCSV(ctx, cw, principal(ctx), r.PathValue("id"), reportQuery(q))
		if err != nil && cw.started {
			s.log.LogAttrs(ctx, slog.LevelError, "stream report", slog.String("request_id", requestIDFrom(ctx)), slog.String("error", err.Error()))
			panic(http.ErrAbortHandler) // a cut connection, never a CSV that looks whole
		}
		return err
	}
	pg, err := pageOf(q)
	if err != nil {
		return err
	}
	res, err := s.reports.Run(ctx, principal(ctx), r.PathValue("id"), reportQuery(q), pg)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// csvAnswer sends the CSV headers with the first bytes, so an error
// before any row is still the JSON error envelope.
type csvAnswer struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (c *csvAnswer) Write(b []byte) (int, error) {
	if !c.started {
		c.started = true
		h := c.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="`+c.name+`.csv"`)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "private, no-store")
		c.w.WriteHeader(http.StatusOK)
	}
	return c.w.Write(b)
}
