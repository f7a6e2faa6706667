package legalhold_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// rightsAuthorizer allows exactly the rights it holds, on any resource.
type rightsAuthorizer map[string]bool

func (a rightsAuthorizer) Decide(_ context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	if a[req.Action.Name] {
		return holdfast.Decision{Allow: true, ID: "d-allow"}, nil
	}
	return holdfast.Decision{ID: "d-deny", Reasons: []string{"no " + req.Action.Name}}, nil
}

type serviceFixture struct {
	meta    holdfast.MetaStore
	svc     *legalhold.Service
	p       holdfast.Principal
	account holdfast.Account
	rights  rightsAuthorizer
}

func newServiceFixture(t *testing.T) *serviceFixture {
	t.Helper()
	ctx := t.Context()
	meta, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	a := holdfast.Account{Name: "Acme", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}
	must(t, meta.CreateAccount(ctx, &a))
	rights := rightsAuthorizer{legalhold.RightView: true, legalhold.RightCreateManage: true, legalhold.RightDelete: true}
	runner := change.New(change.Options{Store: meta, Authorizer: rights})
	return &serviceFixture{meta: meta, account: a, rights: rights,
		svc: legalhold.New(meta, legalhold.Options{Changes: runner}),
		p:   holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: a.ID, AdminID: "admin-1", Email: "lena@example.com"}}
}

func (f *serviceFixture) audit(t *testing.T, action string) []holdfast.AuditRecord {
	t.Helper()
	recs, err := f.meta.ListAudit(t.Context(), f.account.ID, holdfast.AuditFilter{Action: action})
	must(t, err)
	return recs
}

// TestServiceChangesAreDecidedAndAudited: the service, without HTTP, asks
// the engine before a change (a refusal is audited as denied and changes
// nothing), and writes one success record with the change.
func TestServiceChangesAreDecidedAndAudited(t *testing.T) {
	f := newServiceFixture(t)
	ctx := t.Context()
	name := "Q3 audit"
	h, rep, err := f.svc.Create(ctx, f.p, legalhold.Input{Name: &name})
	must(t, err)
	if rep != nil || h.ID == "" || h.CustodianCount != 0 {
		t.Fatalf("Create = %+v, %v", h, rep)
	}
	if recs := f.audit(t, "legal_hold.create"); len(recs) != 1 || recs[0].ResourceID != h.ID || recs[0].Outcome != holdfast.OutcomeSuccess || recs[0].DecisionID != "d-allow" {
		t.Errorf("create records = %+v", recs)
	}

	delete(f.rights, legalhold.RightDelete)
	err = f.svc.Delete(ctx, f.p, h.ID)
	if !errors.Is(err, holdfast.ErrDenied) {
		t.Fatalf("Delete without the right = %v, want ErrDenied", err)
	}
	if _, err := f.meta.GetHold(ctx, f.account.ID, h.ID); err != nil {
		t.Errorf("the refused delete removed the hold: %v", err)
	}
	if recs := f.audit(t, "legal_hold.delete"); len(recs) != 1 || recs[0].Outcome != holdfast.OutcomeDenied {
		t.Errorf("refused delete records = %+v, want one denied", recs)
	}
}

// TestServiceRotateWithoutAuditChangesNothing: a WebDAV credential whose
// audit record cannot be written is not made (ErrUnavailable), and the
// old credential keeps working.
func TestServiceRotateWithoutAuditChangesNothing(t *testing.T) {
	f := newServiceFixture(t)
	ctx := t.Context()
	name := "Q3 audit"
	h, _, err := f.svc.Create(ctx, f.p, legalhold.Input{Name: &name})
	must(t, err)
	old, pw, err := f.svc.Rotate(ctx, f.p, h.ID, nil)
	must(t, err)
	db := f.meta.(interface{ DB() *sql.DB }).DB()
	_, err = db.Exec(`CREATE TRIGGER audit_refuse BEFORE INSERT ON audit BEGIN SELECT RAISE(ABORT, 'audit sink blocked'); END`)
	must(t, err)
	if _, _, err := f.svc.Rotate(ctx, f.p, h.ID, nil); !errors.Is(err, holdfast.ErrUnavailable) {
		t.Fatalf("Rotate with the audit trail blocked = %v, want ErrUnavailable", err)
	}
	got, err := f.svc.Access(ctx, f.p, h.ID)
	must(t, err)
	if got == nil || got.UserName != old.UserName {
		t.Errorf("credential after the refused rotation = %+v, want %s", got, old.UserName)
	}
	if _, err := f.svc.OpenWithCredential(ctx, old.UserName, pw.Reveal(), h.ID); err != nil {
		t.Errorf("the old credential no longer opens the hold: %v", err)
	}
	if _, err := f.svc.OpenWithCredential(ctx, old.UserName, pw.Reveal(), "another-hold"); !errors.Is(err, legalhold.ErrNoAccess) {
		t.Errorf("the credential on another hold = %v, want ErrNoAccess", err)
	}
}
