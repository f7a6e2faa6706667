package holdfast

import (
	"context"
	"time"
)

// Report schedule frequencies.
const (
	ReportDaily   = "daily"
	ReportWeekly  = "weekly"
	ReportMonthly = "monthly"
)

// Report run statuses.
const (
	ReportDelivered = "delivered"
	ReportFailed    = "failed"
)

// ReportSchedule delivers a report by e-mail on a schedule: the report
// runs as its owner (what the owner may see is what the recipients get)
// with its filters, and goes to the recipients as an attachment.
type ReportSchedule struct {
	ID         string            `json:"id"`
	AccountID  string            `json:"account_id"`
	Name       string            `json:"name"` // unique per account
	Report     string            `json:"report"`
	Query      map[string]string `json:"query"`
	Format     string            `json:"format"`    // csv or json
	Frequency  string            `json:"frequency"` // ReportDaily, ReportWeekly or ReportMonthly
	Recipients []string          `json:"recipients"`
	OwnerID    string            `json:"owner_id"` // the administrator the report runs as
	NextRun    time.Time         `json:"next_run"`
	LastRun    *time.Time        `json:"last_run,omitempty"`
	CreatedAt  time.Time         `json:"created_at"`
	UpdatedAt  time.Time         `json:"updated_at"`
}

// ReportRun is one run of a schedule: when, and whether it was delivered.
type ReportRun struct {
	ID         string    `json:"id"`
	AccountID  string    `json:"account_id"`
	ScheduleID string    `json:"schedule_id"`
	At         time.Time `json:"at"`
	Status     string    `json:"status"` // ReportDelivered or ReportFailed
	Rows       int       `json:"rows"`
	Recipients []string  `json:"recipients"`
	Error      string    `json:"error,omitempty"`
}

// ReportStore keeps report schedules and their runs. They do not move the
// account's Revision: no decision depends on them.
//
// Contract (enforced by storage/storagetest):
//   - a schedule name taken in the account is ErrConflict; a missing
//     schedule is ErrNotFound; deleting a schedule deletes its runs.
//   - DueReportSchedules returns, across accounts, the schedules whose
//     NextRun is at or before at, the earliest first, at most limit.
//   - ClaimReportSchedule moves NextRun from due to next only when it is
//     still due, and reports whether it did: of replicas racing for one run,
//     exactly one claims it.
type ReportStore interface {
	CreateReportSchedule(ctx context.Context, s *ReportSchedule) error
	GetReportSchedule(ctx context.Context, accountID, id string) (ReportSchedule, error)
	// PageReportSchedules pages the account's schedules by name then id.
	PageReportSchedules(ctx context.Context, accountID string, p Page) (Paged[ReportSchedule], error)
	UpdateReportSchedule(ctx context.Context, s *ReportSchedule) error
	DeleteReportSchedule(ctx context.Context, accountID, id string) error
	DueReportSchedules(ctx context.Context, at time.Time, limit int) ([]ReportSchedule, error)
	ClaimReportSchedule(ctx context.Context, accountID, id string, due, next time.Time) (bool, error)
	AddReportRun(ctx context.Context, r *ReportRun) error
	// PageReportRuns pages a schedule's runs, newest first.
	PageReportRuns(ctx context.Context, accountID, scheduleID string, p Page) (Paged[ReportRun], error)
}
