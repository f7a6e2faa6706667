package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/holdfast/holdfast"
)

const scheduleColumns = `account_id, id, name, report, query, format, frequency, recipients, owner_id, next_run, last_run, created_at, updated_at`

var scheduleKeys = []unique{{"name", "a report schedule of this name exists"}}

func scanSchedule(r scanner) (holdfast.ReportSchedule, error) {
	var (
		s                      holdfast.ReportSchedule
		query, recipients      string
		next, created, updated int64
		last                   sql.NullInt64
	)
	err := r.Scan(&s.AccountID, &s.ID, &s.Name, &s.Report, &query, &s.Format, &s.Frequency, &recipients, &s.OwnerID,
		&next, &last, &created, &updated)
	if err != nil {
		return s, err
	}
	s.Query = map[string]string{}
	if err := json.Unmarshal([]byte(query), &s.Query); err != nil {
		return s, err
	}
	if err := fromJSONStrings(recipients, &s.Recipients); err != nil {
		return s, err
	}
	s.NextRun, s.LastRun = fromMicros(next), fromNullMicros(last)
	s.CreatedAt, s.UpdatedAt = fromMicros(created), fromMicros(updated)
	return s, nil
}

// scheduleArgs are the column values of s in scheduleColumns order.
func scheduleArgs(s *holdfast.ReportSchedule) ([]any, error) {
	if s.Query == nil {
		s.Query = map[string]string{}
	}
	query, err := jsonText(s.Query)
	if err != nil {
		return nil, err
	}
	recipients, err := jsonText(nonNilStrings(s.Recipients))
	if err != nil {
		return nil, err
	}
	s.NextRun, s.LastRun = normTime(s.NextRun), normTimePtr(s.LastRun)
	return []any{s.AccountID, s.ID, s.Name, s.Report, query, s.Format, s.Frequency, recipients, s.OwnerID,
		micros(s.NextRun), nullMicros(s.LastRun), micros(s.CreatedAt), micros(s.UpdatedAt)}, nil
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// CreateReportSchedule stores a new schedule; an empty ID becomes a
// random one.
func (s *Store) CreateReportSchedule(ctx context.Context, rs *holdfast.ReportSchedule) error {
	rs.ID = newID(rs.ID)
	stamp(&rs.CreatedAt, &rs.UpdatedAt)
	args, err := scheduleArgs(rs)
	if err != nil {
		return err
	}
	return s.write(ctx, func(s *Store) error {
		if _, err := s.exec(ctx, `INSERT INTO report_schedules (`+scheduleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
			return s.fail("report schedule "+rs.ID, err, scheduleKeys...)
		}
		return nil
	})
}

// GetReportSchedule returns one schedule of the account.
func (s *Store) GetReportSchedule(ctx context.Context, accountID, id string) (holdfast.ReportSchedule, error) {
	rs, err := scanSchedule(s.queryRow(ctx, `SELECT `+scheduleColumns+` FROM report_schedules WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return holdfast.ReportSchedule{}, s.fail("report schedule "+id, err)
	}
	return rs, nil
}

// PageReportSchedules pages the account's schedules by (name, id).
func (s *Store) PageReportSchedules(ctx context.Context, accountID string, p holdfast.Page) (holdfast.Paged[holdfast.ReportSchedule], error) {
	var c conds
	c.add("account_id = ?", accountID)
	return pageOf(ctx, s, keyed[holdfast.ReportSchedule]{table: "report_schedules", columns: scheduleColumns, scan: scanSchedule,
		key: func(r holdfast.ReportSchedule) (string, string) { return r.Name, r.ID }}, c, p)
}

// UpdateReportSchedule replaces a schedule's settings and times.
func (s *Store) UpdateReportSchedule(ctx context.Context, rs *holdfast.ReportSchedule) error {
	rs.UpdatedAt = now()
	args, err := scheduleArgs(rs)
	if err != nil {
		return err
	}
	return s.write(ctx, func(s *Store) error {
		res, err := s.exec(ctx, `UPDATE report_schedules SET name = ?, report = ?, query = ?, format = ?, frequency = ?, recipients = ?,
			owner_id = ?, next_run = ?, last_run = ?, updated_at = ? WHERE account_id = ? AND id = ?`,
			append(slices.Clip(args[2:10]), args[10], args[12], rs.AccountID, rs.ID)...)
		if err != nil {
			return s.fail("report schedule "+rs.ID, err, scheduleKeys...)
		}
		return s.affectedOne("report schedule "+rs.ID, res, nil)
	})
}

// DeleteReportSchedule removes a schedule and its runs.
func (s *Store) DeleteReportSchedule(ctx context.Context, accountID, id string) error {
	return s.write(ctx, func(s *Store) error {
		if _, err := s.exec(ctx, `DELETE FROM report_runs WHERE account_id = ? AND schedule_id = ?`, accountID, id); err != nil {
			return s.fail("runs of report schedule "+id, err)
		}
		return s.execOne(ctx, "report schedule "+id, `DELETE FROM report_schedules WHERE account_id = ? AND id = ?`, accountID, id)
	})
}

// DueReportSchedules lists the schedules due at at, across accounts,
// the earliest first.
func (s *Store) DueReportSchedules(ctx context.Context, at time.Time, limit int) ([]holdfast.ReportSchedule, error) {
	return list(ctx, s, "due report schedules", scanSchedule,
		`SELECT `+scheduleColumns+` FROM report_schedules WHERE next_run <= ? ORDER BY next_run, account_id, id LIMIT ?`,
		micros(normTime(at)), int64(max(limit, 1)))
}

// ClaimReportSchedule moves a due schedule's next run from due to next,
// only if no one did first.
func (s *Store) ClaimReportSchedule(ctx context.Context, accountID, id string, due, next time.Time) (bool, error) {
	var claimed bool
	err := s.write(ctx, func(s *Store) error {
		res, err := s.exec(ctx, `UPDATE report_schedules SET next_run = ?, last_run = ? WHERE account_id = ? AND id = ? AND next_run = ?`,
			micros(normTime(next)), micros(normTime(due)), accountID, id, micros(normTime(due)))
		if err != nil {
			return s.fail("report schedule "+id, err)
		}
		n, err := res.RowsAffected()
		claimed = n == 1
		return err
	})
	return claimed, err
}

const runColumns = `account_id, id, schedule_id, at, status, row_count, recipients, error`

func scanRun(r scanner) (holdfast.ReportRun, error) {
	var (
		run        holdfast.ReportRun
		at         int64
		recipients string
	)
	if err := r.Scan(&run.AccountID, &run.ID, &run.ScheduleID, &at, &run.Status, &run.Rows, &recipients, &run.Error); err != nil {
		return run, err
	}
	run.At = fromMicros(at)
	return run, fromJSONStrings(recipients, &run.Recipients)
}

// AddReportRun records a run of a schedule; a missing schedule is
// ErrNotFound.
func (s *Store) AddReportRun(ctx context.Context, r *holdfast.ReportRun) error {
	r.ID = newID(r.ID)
	r.At = normTime(r.At)
	recipients, err := jsonText(nonNilStrings(r.Recipients))
	if err != nil {
		return err
	}
	return s.write(ctx, func(s *Store) error {
		_, err := s.exec(ctx, `INSERT INTO report_runs (`+runColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			r.AccountID, r.ID, r.ScheduleID, micros(r.At), r.Status, r.Rows, recipients, r.Error)
		if err != nil {
			return s.fail("run of report schedule "+r.ScheduleID, err)
		}
		return nil
	})
}

// PageReportRuns pages a schedule's runs newest first, by (at, id).
func (s *Store) PageReportRuns(ctx context.Context, accountID, scheduleID string, p holdfast.Page) (holdfast.Paged[holdfast.ReportRun], error) {
	return pageBy(ctx, s, pageQuery[holdfast.ReportRun]{
		what: "report runs", columns: runColumns, from: "report_runs WHERE account_id = ? AND schedule_id = ?",
		args: []any{accountID, scheduleID}, order: "at DESC, id DESC",
		after: func(key []string) (string, []any, error) {
			if len(key) != 2 {
				return "", nil, badCursor()
			}
			at, err := strconv.ParseInt(key[0], 10, 64)
			if err != nil {
				return "", nil, badCursor()
			}
			return "(at < ? OR (at = ? AND id < ?))", []any{at, at, key[1]}, nil
		},
		key:  func(r holdfast.ReportRun) []string { return []string{strconv.FormatInt(micros(r.At), 10), r.ID} },
		scan: scanRun,
	}, p)
}
