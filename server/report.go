package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/holdfast/holdfast"

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
	s.authed("GET /api/v1/report-schedules", s.listReportSchedules)
	s.authed("POST /api/v1/report-schedules", s.createReportSchedule)
	s.authed("PUT /api/v1/report-schedules/{id}", s.replaceReportSchedule)
	s.authed("DELETE /api/v1/report-schedules/{id}", s.deleteReportSchedule)
	s.authed("GET /api/v1/report-schedules/{id}/runs", s.listReportRuns)
}

// RunReportSchedules runs the due report schedules, looking at the clock
// every minute, until ctx ends; each run's outcome is in its history and
// the audit trail, and a store failure is logged.
func (s *Server) RunReportSchedules(ctx context.Context) {
	sched := holdfast.Schedule{Clock: s.clock, Every: time.Minute}
	sched.Run(ctx, holdfast.SchedulePoll(time.Minute), func(ctx context.Context) {
		if _, err := s.reports.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.log.LogAttrs(ctx, slog.LevelError, "report schedules", slog.String("error", err.Error()))
		}
	})
}

// listReportSchedules serves GET /api/v1/report-schedules (reports.view).
func (s *Server) listReportSchedules(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	got, err := s.reports.ListSchedules(r.Context(), principal(r.Context()), pg)
	if err != nil {
		return err
	}
	return writePage(w, "schedules", got)
}

// createReportSchedule serves POST /api/v1/report-schedules
// (reports.schedule): the report runs as the caller.
func (s *Server) createReportSchedule(w http.ResponseWriter, r *http.Request) error {
	var in reports.ScheduleInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	rs, err := s.reports.CreateSchedule(r.Context(), principal(r.Context()), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, rs)
}

// replaceReportSchedule serves PUT /api/v1/report-schedules/{id}
// (reports.schedule): every setting is replaced and the report then runs
// as the caller.
func (s *Server) replaceReportSchedule(w http.ResponseWriter, r *http.Request) error {
	var in reports.ScheduleInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	rs, err := s.reports.UpdateSchedule(r.Context(), principal(r.Context()), r.PathValue("id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rs)
}

// deleteReportSchedule serves DELETE /api/v1/report-schedules/{id}
// (reports.schedule).
func (s *Server) deleteReportSchedule(w http.ResponseWriter, r *http.Request) error {
	if err := s.reports.DeleteSchedule(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	return noContent(w)
}

// listReportRuns serves GET /api/v1/report-schedules/{id}/runs
// (reports.view): the schedule's history, newest first.
func (s *Server) listReportRuns(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageOf(r.URL.Query())
	if err != nil {
		return err
	}
	got, err := s.reports.ListRuns(r.Context(), principal(r.Context()), r.PathValue("id"), pg)
	if err != nil {
		return err
	}
	return writePage(w, "runs", got)
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
