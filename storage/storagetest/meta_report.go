package storagetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// testMetaReport runs the [holdfast.ReportStore] contract: schedules
// round-trip, names are unique per account, pages walk by name, due
// schedules are found across accounts and claimed once, runs page newest
// first and go with their schedule.
func testMetaReport(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f, g := metaNewFixture(t, s), metaNewFixture(t, s)
	due := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
	rs := holdfast.ReportSchedule{AccountID: f.account.ID, Name: "Weekly backups", Report: "last_backup",
		Query: map[string]string{"days": "3"}, Format: "csv", Frequency: holdfast.ReportWeekly,
		Recipients: []string{"a@example.com", "b@example.com"}, OwnerID: f.admin.ID, NextRun: due}
	metaMust(t, s.CreateReportSchedule(ctx, &rs))
	got, err := s.GetReportSchedule(ctx, f.account.ID, rs.ID)
	metaMust(t, err)
	metaAssertEqual(t, "schedule read back", got, rs)
	_, err = s.GetReportSchedule(ctx, g.account.ID, rs.ID)
	metaAssertErr(t, "schedule from another account", err, holdfast.ErrNotFound)
	dup := rs
	dup.ID = ""
	metaAssertErr(t, "a second schedule of one name", s.CreateReportSchedule(ctx, &dup), holdfast.ErrConflict)
	dup.AccountID, dup.ID, dup.OwnerID = g.account.ID, "", g.admin.ID
	metaMust(t, s.CreateReportSchedule(ctx, &dup)) // the same name in another account

	got.Name, got.Recipients, got.Query = "Renamed", []string{"c@example.com"}, map[string]string{}
	metaMust(t, s.UpdateReportSchedule(ctx, &got))
	back, err := s.GetReportSchedule(ctx, f.account.ID, rs.ID)
	metaMust(t, err)
	metaAssertEqual(t, "updated schedule", back, got)
	missing := got
	missing.ID = "no-such-schedule"
	metaAssertErr(t, "update of a missing schedule", s.UpdateReportSchedule(ctx, &missing), holdfast.ErrNotFound)

	for i := range 5 {
		x := holdfast.ReportSchedule{AccountID: f.account.ID, Name: fmt.Sprintf("s%d", 4-i), Report: "users", Format: "json",
			Frequency: holdfast.ReportDaily, Recipients: []string{"a@example.com"}, OwnerID: f.admin.ID, NextRun: due.Add(time.Hour)}
		metaMust(t, s.CreateReportSchedule(ctx, &x))
	}
	names, total := WalkPages(t, 2, func(r holdfast.ReportSchedule) string { return r.Name }, func(p holdfast.Page) (holdfast.Paged[holdfast.ReportSchedule], error) {
		return s.PageReportSchedules(ctx, f.account.ID, p)
	})
	if total != 6 || !slices.Equal(names, []string{"Renamed", "s0", "s1", "s2", "s3", "s4"}) {
		t.Errorf("schedule pages: %v (total %d)", names, total)
	}
	testMetaReportDue(t, s, f, g, rs.ID, due)
	testMetaReportRuns(t, s, f, rs.ID)
}

// testMetaReportDue: the due schedules of both accounts at due, then a
// claim that exactly one of many racing callers wins.
func testMetaReportDue(t *testing.T, s holdfast.MetaStore, f, g metaFixture, id string, due time.Time) {
	ctx := t.Context()
	ours := func(at time.Time) []string {
		list, err := s.DueReportSchedules(ctx, at, 1000)
		metaMust(t, err)
		var out []string
		for _, r := range list {
			if r.AccountID == f.account.ID || r.AccountID == g.account.ID {
				out = append(out, r.AccountID+"/"+r.Name)
			}
		}
		return out
	}
	if got := ours(due); len(got) != 2 || !slices.Contains(got, f.account.ID+"/Renamed") || !slices.Contains(got, g.account.ID+"/Weekly backups") {
		t.Errorf("due at %v: %v", due, got)
	}
	if got := ours(due.Add(-time.Microsecond)); len(got) != 0 {
		t.Errorf("due before: %v", got)
	}
	next := due.Add(7 * 24 * time.Hour)
	var wins sync.WaitGroup
	claimed := make(chan bool, 8)
	for range 8 {
		wins.Add(1)
		go func() {
			defer wins.Done()
			ok, err := s.ClaimReportSchedule(ctx, f.account.ID, id, due, next)
			if err != nil {
				t.Error(err)
			}
			claimed <- ok
		}()
	}
	wins.Wait()
	close(claimed)
	n := 0
	for ok := range claimed {
		if ok {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d of 8 racing claims won, want 1", n)
	}
	got, err := s.GetReportSchedule(ctx, f.account.ID, id)
	metaMust(t, err)
	if !got.NextRun.Equal(next) || got.LastRun == nil || !got.LastRun.Equal(due) {
		t.Errorf("after the claim: next %v last %v", got.NextRun, got.LastRun)
	}
}

func testMetaReportRuns(t *testing.T, s holdfast.MetaStore, f metaFixture, id string) {
	ctx := t.Context()
	at := time.Date(2001, 3, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for i := range 5 {
		r := holdfast.ReportRun{AccountID: f.account.ID, ScheduleID: id, At: at.Add(time.Duration(i/2) * time.Hour), Status: holdfast.ReportDelivered,
			Rows: i, Recipients: []string{"a@example.com"}}
		metaMust(t, s.AddReportRun(ctx, &r))
		want = append(want, r.ID)
	}
	bad := holdfast.ReportRun{AccountID: f.account.ID, ScheduleID: "no-such-schedule", At: at, Status: holdfast.ReportFailed}
	metaAssertErr(t, "a run of a missing schedule", s.AddReportRun(ctx, &bad), holdfast.ErrNotFound)
	ids, total := WalkPages(t, 2, func(r holdfast.ReportRun) string { return r.ID }, func(p holdfast.Page) (holdfast.Paged[holdfast.ReportRun], error) {
		return s.PageReportRuns(ctx, f.account.ID, id, p)
	})
	// Newest first: the two at +2h... the one at +2h is run 4; ties (same
	// time) break by id, descending.
	if total != 5 || len(ids) != 5 || ids[0] != want[4] {
		t.Errorf("runs %v (total %d), want %s first", ids, total, want[4])
	}
	metaMust(t, s.DeleteReportSchedule(ctx, f.account.ID, id))
	if got, err := s.PageReportRuns(ctx, f.account.ID, id, holdfast.Page{}); err != nil || got.Total != 0 {
		t.Errorf("runs after the schedule's delete: %d, %v", got.Total, err)
	}
	metaAssertErr(t, "delete again", s.DeleteReportSchedule(ctx, f.account.ID, id), holdfast.ErrNotFound)
}
