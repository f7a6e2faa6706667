// Package reports is the reports domain: last backup status, backup
// activity, non-compliant devices, storage use, users, devices, the legal
// hold summary and the administrator audit trail, each with filters,
// server-side paging, JSON and CSV, and chart data for the console; and
// their scheduled delivery by e-mail.
//
// A report needs reports.view, and shows only what the caller may see:
// its rows come from the same scoped lists as the API's (directory,
// legalhold, admins), so the engine narrows them by profile, workload and
// legal hold type, and a right the caller lacks (users.view, admins.view,
// a legal hold right) leaves the report empty rather than refused.
package reports

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/directory"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/storage"
)

// Rights the service asks the engine for.
const (
	RightView     = "reports.view"
	RightSchedule = "reports.schedule"
)

// Backups reads snapshot headers (the dedup store, storage.Store).
type Backups interface {
	Snapshots(ctx context.Context, f storage.SnapshotFilter) ([]storage.Snapshot, error)
	PageSnapshots(ctx context.Context, f storage.SnapshotFilter, p holdfast.Page) (holdfast.Paged[storage.Snapshot], error)
}

// Options configure a Service. Backups may be nil (a server without a
// data store): the backup reports then show no backup.
type Options struct {
	Changes   *change.Runner // required
	Directory *directory.Service
	Holds     *legalhold.Service
	Admins    *admins.Service
	Backups   Backups
	Mailer    holdfast.Mailer // scheduled delivery; nil: schedules run but cannot deliver
	Clock     holdfast.Clock
}

// Service runs reports. It is safe for concurrent use.
type Service struct {
	run     *change.Runner
	store   holdfast.MetaStore
	dir     *directory.Service
	holds   *legalhold.Service
	admins  *admins.Service
	backups Backups
	mailer  holdfast.Mailer
	clock   holdfast.Clock
}

// New returns the service over o.
func New(o Options) *Service {
	return &Service{run: o.Changes, store: o.Changes.Store(), dir: o.Directory, holds: o.Holds, admins: o.Admins,
		backups: o.Backups, mailer: o.Mailer, clock: holdfast.ClockOrSystem(o.Clock)}
}

// Column is one column of a report: its key in a JSON row and its CSV
// header.
type Column struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Row is one row of a report, by column id.
type Row map[string]any

// Point is one value of a chart series: X a day (YYYY-MM-DD) or a
// category.
type Point struct {
	X string `json:"x"`
	Y int64  `json:"y"`
}

// Series is one line or bar set of a chart.
type Series struct {
	Name   string  `json:"name"`
	Points []Point `json:"points"`
}

// Chart is what the console draws beside a report.
type Chart struct {
	Kind   string   `json:"kind"` // "line" (X are days) or "bar" (X are categories)
	Series []Series `json:"series"`
}

// Result is one page of a report.
type Result struct {
	Report  string   `json:"report"`
	Columns []Column `json:"columns"`
	Rows    []Row    `json:"rows"`
	Next    string   `json:"next_cursor,omitempty"`
	Total   int      `json:"total"`
	Chart   *Chart   `json:"chart,omitempty"`
}

// Query is a report's filters, by name, as the API and a schedule give
// them. Each report takes only the filters it lists; any other is
// ErrInvalid naming it.
type Query map[string]string

// Info describes a report: its id, title, columns and filters.
type Info struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Columns []Column `json:"columns"`
	Filters []string `json:"filters"`
}

// definition is a report: its description and its pager.
type definition struct {
	Info
	page func(ctx context.Context, s *Service, p holdfast.Principal, q Query, pg holdfast.Page) (Result, error)
	// chart, when set, draws the whole report (not one page); only the
	// first page carries it.
	chart func(ctx context.Context, s *Service, p holdfast.Principal, q Query) (*Chart, error)
}

// catalog is every report, in the order the console lists them.
func catalog() []definition {
	return []definition{lastBackup(), backupActivity(), nonCompliant(), storageUse(), usersReport(), devicesReport(),
		legalHolds(), auditTrail()}
}

func find(id string) (definition, error) {
	for _, d := range catalog() {
		if d.ID == id {
			return d, nil
		}
	}
	return definition{}, fmt.Errorf("report %q: %w", id, holdfast.ErrNotFound)
}

// List describes the reports p may run (reports.view); without it the
// refusal.
func (s *Service) List(ctx context.Context, p holdfast.Principal) ([]Info, error) {
	if err := s.decide(ctx, p, RightView); err != nil {
		return nil, err
	}
	var out []Info
	for _, d := range catalog() {
		out = append(out, d.Info)
	}
	return out, nil
}

// Run returns one page of report id for p (reports.view), filtered by q,
// the first page with the report's chart. An unknown report is
// ErrNotFound; a filter the report does not take, or a bad value, is
// ErrInvalid naming it.
func (s *Service) Run(ctx context.Context, p holdfast.Principal, id string, q Query, pg holdfast.Page) (Result, error) {
	d, err := s.prepare(ctx, p, id, q, pg)
	if err != nil {
		return Result{}, err
	}
	res, err := d.page(ctx, s, p, q, pg)
	if err != nil {
		return Result{}, err
	}
	res.Report, res.Columns = d.ID, d.Columns
	if res.Rows == nil {
		res.Rows = []Row{}
	}
	if d.chart != nil && pg.Cursor == "" {
		if res.Chart, err = d.chart(ctx, s, p, q); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// prepare finds the report, checks q and the page, and decides
// reports.view.
func (s *Service) prepare(ctx context.Context, p holdfast.Principal, id string, q Query, pg holdfast.Page) (definition, error) {
	d, err := find(id)
	if err != nil {
		return d, err
	}
	var v holdfast.ValidationError
	for k := range q {
		if !slices.Contains(d.Filters, k) {
			v.Add(k, "is not a filter of the %s report (its filters: %v)", d.ID, d.Filters)
		}
	}
	if err := v.Err(); err != nil {
		return d, err
	}
	if err := pg.Validate(); err != nil {
		return d, err
	}
	return d, s.decide(ctx, p, RightView)
}

func (s *Service) decide(ctx context.Context, p holdfast.Principal, right string) error {
	_, err := s.run.Decide(ctx, p, change.Check{Right: right, Resource: holdfast.Entity{Type: holdfast.ResourceAccount, ID: p.AccountID}})
	return err
}

// day is the chart's key of t: its UTC date.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
