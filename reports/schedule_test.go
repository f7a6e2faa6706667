package reports_test

import (
	"crypto/tls"
	"encoding/csv"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/admins"
	"github.com/holdfast/holdfast/mail"
	"github.com/holdfast/holdfast/mail/mailtest"
	"github.com/holdfast/holdfast/mail/smtpsink"
	"github.com/holdfast/holdfast/reports"
)

func newSink(t *testing.T) (*smtpsink.Sink, holdfast.Mailer) {
	sink := smtpsink.Start(t, smtpsink.Options{User: "mailer", Password: "pw"})
	m, err := mail.NewSMTP(mail.SMTPOptions{Host: sink.Host, Port: sink.Port, TLS: mail.TLSMandatory, Username: "mailer", Password: "pw",
		From: "reports@example.com", TLSConfig: &tls.Config{RootCAs: sink.CAs, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		Attempts: 1})
	must(t, err)
	return sink, m
}

func (f *fixture) runDue(want int) {
	f.t.Helper()
	n, err := f.svc.RunDue(f.t.Context())
	must(f.t, err)
	if n != want {
		f.t.Fatalf("RunDue at %v ran %d schedules, want %d", f.clock.t, n, want)
	}
}

func (f *fixture) runs(p holdfast.Principal, id string) []holdfast.ReportRun {
	f.t.Helper()
	got, err := f.svc.ListRuns(f.t.Context(), p, id, holdfast.Page{})
	must(f.t, err)
	return got.Items
}

// TestScheduledDelivery: a daily CSV schedule runs by the clock (not
// before its time, once per period), the report arrives at the SMTP sink
// attached for both recipients, and each run is in the history and the
// audit trail; a refused delivery is a failed run.
func TestScheduledDelivery(t *testing.T) {
	sink, mailer := newSink(t)
	f := newFixture(t, mailer)
	ctx := t.Context()
	start := t0.Add(time.Hour)
	rs, err := f.svc.CreateSchedule(ctx, f.root, reports.ScheduleInput{Name: "Daily status", Report: "last_backup", Format: "csv",
		Frequency: holdfast.ReportDaily, Recipients: []string{"ops@example.com", "Cy <cy@example.org>"}, Start: &start})
	must(t, err)
	f.runDue(0)
	f.clock.t = start
	f.runDue(1)
	f.runDue(0) // claimed: not again at the same time
	got := sink.Wait(t, 1)
	if !slices.Equal(got[0].To, []string{"ops@example.com", "cy@example.org"}) {
		t.Errorf("envelope recipients %v", got[0].To)
	}
	m, err := mailtest.Parse(got[0].Data)
	must(t, err)
	att, ok := m.Attachments["last_backup-2026-05-20.csv"]
	if !ok || att.ContentType != "text/csv" || m.Subject != "Holdfast report: Daily status" || !strings.Contains(m.Text, "5 rows") {
		t.Fatalf("message %q %q, attachments %v", m.Subject, m.Text, m.Attachments)
	}
	recs, err := csv.NewReader(strings.NewReader(string(att.Data))).ReadAll()
	if err != nil || len(recs) != 6 || recs[1][1] != "laptop" {
		t.Errorf("attached CSV %q (%v)", recs, err)
	}
	runs := f.runs(f.root, rs.ID)
	if len(runs) != 1 || runs[0].Status != holdfast.ReportDelivered || runs[0].Rows != 5 || !runs[0].At.Equal(start) {
		t.Errorf("history %+v", runs)
	}

	sink.FailNext(550)
	f.clock.t = start.Add(24 * time.Hour)
	f.runDue(1)
	runs = f.runs(f.root, rs.ID)
	if len(runs) != 2 || runs[0].Status != holdfast.ReportFailed || !strings.Contains(runs[0].Error, "550") {
		t.Errorf("after a refused delivery: %+v", runs)
	}
	recs2, err := f.store.ListAudit(ctx, f.acct, holdfast.AuditFilter{Action: "report_schedule.run"})
	must(t, err)
	if len(recs2) != 2 || recs2[0].Outcome != holdfast.OutcomeSuccess || recs2[1].Outcome != holdfast.OutcomeFailed || recs2[0].ResourceID != rs.ID {
		t.Errorf("run audit %+v", recs2)
	}
	// A server down for three days runs once on return, then daily.
	f.clock.t = start.Add(4*24*time.Hour + time.Minute)
	f.runDue(1)
	f.runDue(0)
	back, err := f.store.GetReportSchedule(ctx, f.acct, rs.ID)
	must(t, err)
	if want := start.Add(5 * 24 * time.Hour); !back.NextRun.Equal(want) {
		t.Errorf("next run %v, want %v", back.NextRun, want)
	}
}

// TestScheduleRunsAsOwner: a schedule of an administrator confined to the
// Sales profile delivers only Sales' devices (JSON); once the owner is
// disabled its runs fail, and say why.
func TestScheduleRunsAsOwner(t *testing.T) {
	sink, mailer := newSink(t)
	f := newFixture(t, mailer)
	ctx := t.Context()
	role, err := f.adm.CreateRole(ctx, f.root, admins.NewRole{Name: "Reporters", Rights: []string{"reports.view", "reports.schedule", "users.view"}})
	must(t, err)
	owner := f.admin("rep@example.com", role.ID, holdfast.Scopes{Profiles: []string{f.sales.ID}, AllWorkloads: true})
	rs, err := f.svc.CreateSchedule(ctx, owner, reports.ScheduleInput{Name: "Sales devices", Report: "devices", Format: "json",
		Frequency: holdfast.ReportWeekly, Recipients: []string{"sales@example.com"}})
	must(t, err)
	f.clock.t = t0.AddDate(0, 0, 7)
	f.runDue(1)
	m, err := mailtest.Parse(sink.Wait(t, 1)[0].Data)
	must(t, err)
	var body struct {
		Rows []map[string]any `json:"rows"`
	}
	must(t, json.Unmarshal(m.Attachments["devices-2026-05-27.json"].Data, &body))
	var devices []string
	for _, r := range body.Rows {
		devices = append(devices, r["device"].(string))
	}
	if !slices.Equal(devices, []string{"sales-pc", "tablet"}) {
		t.Errorf("the scoped owner's report holds %v", devices)
	}
	a, err := f.store.GetAdmin(ctx, f.acct, owner.AdminID)
	must(t, err)
	a.State = holdfast.AdminDisabled
	must(t, f.store.UpdateAdmin(ctx, &a))
	f.clock.t = t0.AddDate(0, 0, 14)
	f.runDue(1)
	if runs := f.runs(f.root, rs.ID); len(runs) != 2 || runs[0].Status != holdfast.ReportFailed || !strings.Contains(runs[0].Error, "disabled") {
		t.Errorf("a disabled owner's run: %+v", runs)
	}
	if n := len(sink.Messages()); n != 1 {
		t.Errorf("%d messages, want only the first run's", n)
	}
}

func TestScheduleRules(t *testing.T) {
	f := newFixture(t, nil)
	ctx := t.Context()
	var v *holdfast.ValidationError
	_, err := f.svc.CreateSchedule(ctx, f.root, reports.ScheduleInput{Name: "", Report: "users", Query: map[string]string{"colour": "red"},
		Format: "pdf", Frequency: "hourly", Recipients: []string{"not an address"}})
	if !errors.As(err, &v) {
		t.Fatalf("bad schedule: %v", err)
	}
	var fields []string
	for _, fe := range v.Fields {
		fields = append(fields, fe.Field)
	}
	if want := []string{"name", "query.colour", "format", "frequency", "recipients[0]"}; !slices.Equal(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}
	viewer := f.admin("viewer@example.com", "view_only_admin", holdfast.Scopes{AllProfiles: true, AllWorkloads: true})
	in := reports.ScheduleInput{Name: "x", Report: "users", Format: "csv", Frequency: holdfast.ReportMonthly, Recipients: []string{"a@example.com"}}
	if _, err := f.svc.CreateSchedule(ctx, viewer, in); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("without reports.schedule: %v", err)
	}
	rs, err := f.svc.CreateSchedule(ctx, f.root, in)
	must(t, err)
	if want := t0.AddDate(0, 1, 0); !rs.NextRun.Equal(want) {
		t.Errorf("first run %v, want a month on", rs.NextRun)
	}
	if _, err := f.svc.CreateSchedule(ctx, f.root, in); !errors.Is(err, holdfast.ErrConflict) {
		t.Errorf("a second schedule of one name: %v", err)
	}
	in.Frequency = holdfast.ReportDaily
	if _, err := f.svc.UpdateSchedule(ctx, viewer, rs.ID, in); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("update without reports.schedule: %v", err)
	}
	if got, err := f.svc.ListSchedules(ctx, viewer, holdfast.Page{}); err != nil || got.Total != 1 {
		t.Errorf("viewer's schedules: %v %v", got, err)
	}
	must(t, f.svc.DeleteSchedule(ctx, f.root, rs.ID))
	if _, err := f.svc.ListRuns(ctx, f.root, rs.ID, holdfast.Page{}); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("runs of a deleted schedule: %v", err)
	}
	recs, err := f.store.ListAudit(ctx, f.acct, holdfast.AuditFilter{ResourceType: reports.ResourceSchedule})
	must(t, err)
	var actions []string
	for _, r := range recs {
		actions = append(actions, r.Action+":"+r.Outcome)
	}
	want := []string{"report_schedule.create:denied", "report_schedule.create:success", "report_schedule.update:denied", "report_schedule.delete:success"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit %v, want %v", actions, want)
	}
}
