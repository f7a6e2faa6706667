package admins

import (
	"context"
	"fmt"

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
