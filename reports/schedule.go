package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/mail"
)

// Audit actions and the resource type of schedules.
const (
	ResourceSchedule = "report_schedule"
	actionCreate     = "report_schedule.create"
	actionUpdate     = "report_schedule.update"
	actionDelete     = "report_schedule.delete"
	actionRun        = "report_schedule.run"
)

// MaxAttachment bounds a scheduled report's attachment; a larger report
// is a failed run that says so (narrow its filters).
const MaxAttachment = 10 << 20

// dueBatch bounds the schedules one look at the clock runs.
const dueBatch = 100

// ScheduleInput is what a caller sets of a schedule. Start, when set, is
// the first run; otherwise the first run is one period after now.
type ScheduleInput struct {
	Name       string            `json:"name"`
	Report     string            `json:"report"`
	Query      map[string]string `json:"query"`
	Format     string            `json:"format"`
	Frequency  string            `json:"frequency"`
	Recipients []string          `json:"recipients"`
	Start      *time.Time        `json:"start"`
}

// validate checks in, naming each bad field.
func (in ScheduleInput) validate() error {
	var v holdfast.ValidationError
	if n := utf8.RuneCountInString(strings.TrimSpace(in.Name)); n < 1 || n > 100 {
		v.Add("name", "must be 1 to 100 characters")
	}
	if d, err := find(in.Report); err != nil {
		v.Add("report", "is not a report (GET /api/v1/reports lists them)")
	} else {
		for k := range in.Query {
			if !slices.Contains(d.Filters, k) {
				v.Add("query."+k, "is not a filter of the %s report", d.ID)
			}
		}
	}
	if in.Format != "csv" && in.Format != "json" {
		v.Add("format", "must be csv or json")
	}
	if next(in.Frequency, time.Time{}).IsZero() {
		v.Add("frequency", "must be daily, weekly or monthly")
	}
	if err := mail.Validate(holdfast.Message{To: in.Recipients}); err != nil {
		var mv *holdfast.ValidationError
		if errors.As(err, &mv) {
			for _, f := range mv.Fields {
				v.Add(strings.Replace(f.Field, "to", "recipients", 1), "%s", f.Message)
			}
		}
	}
	return v.Err()
}

// next is the run after t of frequency; zero for an unknown frequency.
func next(frequency string, t time.Time) time.Time {
	switch frequency {
	case holdfast.ReportDaily:
		return t.AddDate(0, 0, 1)
	case holdfast.ReportWeekly:
		return t.AddDate(0, 0, 7)
	case holdfast.ReportMonthly:
		return t.AddDate(0, 1, 0)
	}
	return time.Time{}
}

func scheduleEntity(p holdfast.Principal, id string) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceAccount, ID: p.AccountID, Properties: map[string]any{"schedule_id": id}}
}

// CreateSchedule adds a schedule (reports.schedule) that runs the report
// as p, audited.
func (s *Service) CreateSchedule(ctx context.Context, p holdfast.Principal, in ScheduleInput) (holdfast.ReportSchedule, error) {
	if err := in.validate(); err != nil {
		return holdfast.ReportSchedule{}, err
	}
	rs := holdfast.ReportSchedule{AccountID: p.AccountID, OwnerID: p.AdminID}
	s.apply(&rs, in)
	c := change.Change{Action: actionCreate, ResourceType: ResourceSchedule,
		Checks: []change.Check{{Right: RightSchedule, Resource: scheduleEntity(p, "")}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		if err := tx.CreateReportSchedule(ctx, &rs); err != nil {
			return "", nil, err
		}
		return rs.ID, in, nil
	})
	return rs, err
}

// apply copies in over rs, and sets the next run.
func (s *Service) apply(rs *holdfast.ReportSchedule, in ScheduleInput) {
	rs.Name, rs.Report, rs.Query, rs.Format = strings.TrimSpace(in.Name), in.Report, in.Query, in.Format
	rs.Frequency, rs.Recipients = in.Frequency, in.Recipients
	if rs.Query == nil {
		rs.Query = map[string]string{}
	}
	rs.NextRun = next(in.Frequency, s.clock.Now())
	if in.Start != nil {
		rs.NextRun = *in.Start
	}
}

// UpdateSchedule replaces a schedule's settings (reports.schedule); the
// report then runs as p. Audited.
func (s *Service) UpdateSchedule(ctx context.Context, p holdfast.Principal, id string, in ScheduleInput) (holdfast.ReportSchedule, error) {
	if err := in.validate(); err != nil {
		return holdfast.ReportSchedule{}, err
	}
	var rs holdfast.ReportSchedule
	c := change.Change{Action: actionUpdate, ResourceType: ResourceSchedule, ResourceID: id,
		Checks: []change.Check{{Right: RightSchedule, Resource: scheduleEntity(p, id)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		var err error
		if rs, err = tx.GetReportSchedule(ctx, p.AccountID, id); err != nil {
			return "", nil, err
		}
		s.apply(&rs, in)
		rs.OwnerID = p.AdminID
		return id, in, tx.UpdateReportSchedule(ctx, &rs)
	})
	return rs, err
}

// DeleteSchedule removes a schedule and its history (reports.schedule),
// audited.
func (s *Service) DeleteSchedule(ctx context.Context, p holdfast.Principal, id string) error {
	c := change.Change{Action: actionDelete, ResourceType: ResourceSchedule, ResourceID: id,
		Checks: []change.Check{{Right: RightSchedule, Resource: scheduleEntity(p, id)}}}
	_, err := s.run.Apply(ctx, p, c, func(tx holdfast.MetaStore) (string, any, error) {
		return id, nil, tx.DeleteReportSchedule(ctx, p.AccountID, id)
	})
	return err
}

// ListSchedules pages the account's schedules by name (reports.view).
func (s *Service) ListSchedules(ctx context.Context, p holdfast.Principal, pg holdfast.Page) (holdfast.Paged[holdfast.ReportSchedule], error) {
	if err := pg.Validate(); err != nil {
		return holdfast.Paged[holdfast.ReportSchedule]{}, err
	}
	if err := s.decide(ctx, p, RightView); err != nil {
		return holdfast.Paged[holdfast.ReportSchedule]{}, err
	}
	return s.store.PageReportSchedules(ctx, p.AccountID, pg)
}

// ListRuns pages a schedule's runs, newest first (reports.view).
func (s *Service) ListRuns(ctx context.Context, p holdfast.Principal, id string, pg holdfast.Page) (holdfast.Paged[holdfast.ReportRun], error) {
	if err := pg.Validate(); err != nil {
		return holdfast.Paged[holdfast.ReportRun]{}, err
	}
	if err := s.decide(ctx, p, RightView); err != nil {
		return holdfast.Paged[holdfast.ReportRun]{}, err
	}
	if _, err := s.store.GetReportSchedule(ctx, p.AccountID, id); err != nil {
		return holdfast.Paged[holdfast.ReportRun]{}, err
	}
	return s.store.PageReportRuns(ctx, p.AccountID, id, pg)
}

// RunDue runs every schedule due by the clock: each is claimed first (one
// replica runs it), runs as its owner, is mailed to its recipients, and
// is recorded as a run and in the audit trail, delivered or failed. A run
// that fails is not retried before its next time. It returns how many
// ran, and the first error of the store.
func (s *Service) RunDue(ctx context.Context) (int, error) {
	now := s.clock.Now()
	due, err := s.store.DueReportSchedules(ctx, now, dueBatch)
	if err != nil {
		return 0, err
	}
	ran := 0
	for _, rs := range due {
		if err := ctx.Err(); err != nil {
			return ran, err
		}
		at := next(rs.Frequency, rs.NextRun)
		for !at.After(now) { // a server down for a while skips the missed runs
			at = next(rs.Frequency, at)
		}
		ok, err := s.store.ClaimReportSchedule(ctx, rs.AccountID, rs.ID, rs.NextRun, at)
		if err != nil {
			return ran, err
		}
		if !ok {
			continue
		}
		if err := s.deliver(ctx, rs, now); err != nil {
			return ran, err
		}
		ran++
	}
	return ran, nil
}

// deliver runs rs as its owner, mails it, and records the run.
func (s *Service) deliver(ctx context.Context, rs holdfast.ReportSchedule, now time.Time) error {
	run := holdfast.ReportRun{AccountID: rs.AccountID, ScheduleID: rs.ID, At: now, Status: holdfast.ReportDelivered, Recipients: rs.Recipients}
	p, err := s.owner(ctx, rs)
	if err == nil {
		var att holdfast.Attachment
		if att, run.Rows, err = s.render(ctx, p, rs, now); err == nil {
			err = s.send(ctx, rs, att, run.Rows, now)
		}
	}
	outcome := holdfast.OutcomeSuccess
	if err != nil {
		run.Status, run.Error, outcome = holdfast.ReportFailed, runError(err), holdfast.OutcomeFailed
	}
	return s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		if err := tx.AddReportRun(ctx, &run); err != nil {
			return err
		}
		return s.run.Append(ctx, tx, p, change.Record{Action: actionRun, ResourceType: ResourceSchedule, ResourceID: rs.ID,
			Outcome: outcome, Detail: map[string]any{"run": run.ID, "status": run.Status, "rows": run.Rows, "recipients": run.Recipients, "error": run.Error}})
	})
}

// runError is what a run's history says of err: the refusal or the
// problem, never a driver's detail beyond its message.
func runError(err error) string {
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return msg
}

// owner is the principal the schedule runs as: its owner while active.
// The account is always known, so a failed run is audited in it.
func (s *Service) owner(ctx context.Context, rs holdfast.ReportSchedule) (holdfast.Principal, error) {
	p := holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: rs.AccountID, AdminID: rs.OwnerID}
	a, err := s.store.GetAdmin(ctx, rs.AccountID, rs.OwnerID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return p, fmt.Errorf("the schedule's owner no longer exists: %w", holdfast.ErrDenied)
	}
	if err != nil {
		return p, err
	}
	p.Email = a.Email
	if a.State != holdfast.AdminActive {
		return p, fmt.Errorf("the schedule's owner is %s: %w", a.State, holdfast.ErrDenied)
	}
	return p, nil
}

// render runs the report as p into its attachment, bounded by
// MaxAttachment, and counts its rows.
func (s *Service) render(ctx context.Context, p holdfast.Principal, rs holdfast.ReportSchedule, now time.Time) (holdfast.Attachment, int, error) {
	buf := &bounded{max: MaxAttachment}
	name := rs.Report + "-" + now.UTC().Format(time.DateOnly)
	if rs.Format == "csv" {
		n, err := s.writeCSV(ctx, buf, p, rs.Report, rs.Query)
		if err != nil {
			return holdfast.Attachment{}, 0, err
		}
		return holdfast.Attachment{Name: name + ".csv", ContentType: "text/csv", Data: buf.Bytes()}, n, nil
	}
	rows, err := s.allRows(ctx, p, rs)
	if err != nil {
		return holdfast.Attachment{}, 0, err
	}
	if err := json.NewEncoder(buf).Encode(map[string]any{"report": rs.Report, "generated_at": now.UTC(), "rows": rows}); err != nil {
		return holdfast.Attachment{}, 0, err
	}
	return holdfast.Attachment{Name: name + ".json", ContentType: "application/json", Data: buf.Bytes()}, len(rows), nil
}

// allRows walks every page of the report, up to what fits an attachment.
func (s *Service) allRows(ctx context.Context, p holdfast.Principal, rs holdfast.ReportSchedule) ([]Row, error) {
	var rows []Row
	pg := holdfast.Page{Limit: holdfast.MaxPageSize}
	for {
		res, err := s.Run(ctx, p, rs.Report, rs.Query, pg)
		if err != nil {
			return nil, err
		}
		rows = append(rows, res.Rows...)
		if res.Next == "" {
			return rows, nil
		}
		if len(rows) > MaxAttachment/100 {
			return nil, errTooLarge
		}
		pg.Cursor = res.Next
	}
}

var errTooLarge = fmt.Errorf("the report is larger than %d MiB; narrow its filters: %w", MaxAttachment>>20, holdfast.ErrInvalid)

func (s *Service) send(ctx context.Context, rs holdfast.ReportSchedule, att holdfast.Attachment, rows int, now time.Time) error {
	if s.mailer == nil {
		return fmt.Errorf("no mail is configured: %w", holdfast.ErrUnavailable)
	}
	d, err := find(rs.Report)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("%s, as of %s: %d rows, attached (%s).\n\nThis is the scheduled report %q (%s).\n",
		d.Title, now.UTC().Format("2006-01-02 15:04 MST"), rows, att.Name, rs.Name, rs.Frequency)
	return s.mailer.Send(ctx, holdfast.Message{To: rs.Recipients, Subject: "Holdfast report: " + rs.Name,
		Text: text, Attachments: []holdfast.Attachment{att}})
}

// bounded is a buffer that refuses to grow past max.
type bounded struct {
	bytes.Buffer
	max int
}

func (b *bounded) Write(p []byte) (int, error) {
	if b.Len()+len(p) > b.max {
		return 0, errTooLarge
	}
	return b.Buffer.Write(p)
}
