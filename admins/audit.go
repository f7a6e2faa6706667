package admins

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
)

// Audit returns one page of p's account's audit trail matching f, in
// sequence order (newest first with f.Newest), with the total that match
// (admins.view). f.Limit is not looked at: the page sets the size.
func (s *Service) Audit(ctx context.Context, p holdfast.Principal, f holdfast.AuditFilter, page holdfast.Page) (holdfast.Paged[holdfast.AuditRecord], error) {
	out := holdfast.Paged[holdfast.AuditRecord]{Items: []holdfast.AuditRecord{}}
	var v holdfast.ValidationError
	if f.AfterSeq < 0 {
		v.Add("after_seq", "must be a whole number, 0 or more")
	}
	if !f.Since.IsZero() && !f.Before.IsZero() && !f.Before.After(f.Since) {
		v.Add("before", "must be later than since")
	}
	if err := v.Err(); err != nil {
		return out, err
	}
	if err := page.Validate(); err != nil {
		return out, err
	}
	if err := s.view(ctx, p, "admins.view", accountEntity(p)); err != nil {
		return out, err
	}
	return s.store.PageAudit(ctx, p.AccountID, f, page)
}

// VerifyAudit walks p's account's trail (admins.view, like the trail
// itself), checks every MAC link and every signed checkpoint, and reports
// OK, or the first bad record, or the missing tail. Without a verifier it
// is ErrUnavailable.
func (s *Service) VerifyAudit(ctx context.Context, p holdfast.Principal) (audit.Report, error) {
	if err := s.view(ctx, p, "admins.view", accountEntity(p)); err != nil {
		return audit.Report{}, err
	}
	if s.verify == nil {
		return audit.Report{}, fmt.Errorf("%w: audit verification is not configured", holdfast.ErrUnavailable)
	}
	return s.verify.Verify(ctx, p.AccountID)
}

// auditCSVHeader names the columns of ExportAudit.
var auditCSVHeader = []string{"seq", "time", "actor_id", "actor_email", "action", "resource_type", "resource_id",
	"outcome", "decision_id", "request_id", "detail"}

// ExportAudit writes every record of p's account's trail matching f,
// oldest first, to w as CSV: a header row, then one row per record, its
// detail as JSON. It asks like Audit (a refusal writes nothing) and reads
// the trail a page at a time, so an export of any size holds one page in
// memory. A cell that a spreadsheet would run as a formula is written
// with a leading apostrophe.
func (s *Service) ExportAudit(ctx context.Context, p holdfast.Principal, f holdfast.AuditFilter, w io.Writer) error {
	f.Newest = false
	page := holdfast.Page{Limit: holdfast.MaxPageSize}
	cw := csv.NewWriter(w)
	for first := true; ; first = false {
		out, err := s.Audit(ctx, p, f, page)
		if err != nil {
			return err
		}
		if first {
			if err := cw.Write(auditCSVHeader); err != nil {
				return err
			}
		}
		for _, r := range out.Items {
			if err := cw.Write(auditRow(r)); err != nil {
				return err
			}
		}
		if cw.Flush(); cw.Error() != nil || out.Next == "" {
			return cw.Error()
		}
		page.Cursor = out.Next
	}
}

func auditRow(r holdfast.AuditRecord) []string {
	row := []string{strconv.FormatInt(r.Seq, 10), r.Time.UTC().Format(time.RFC3339Nano), r.ActorID, r.ActorEmail, r.Action,
		r.ResourceType, r.ResourceID, r.Outcome, r.DecisionID, r.RequestID, string(r.Detail)}
	for i, c := range row {
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			row[i] = "'" + c
		}
	}
	return row
}
