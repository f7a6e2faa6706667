package legalhold_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
	"github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/legalhold"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// scopedFixture is the service over SQLite and the real engine, with holds
// of two types and untyped ones, a platform administrator (every type), a
// Legal Administrator of the Legal type only, and a Help Desk
// administrator (no legal hold right).
type scopedFixture struct {
	meta                 holdfast.MetaStore
	svc                  *legalhold.Service
	acct                 string
	legal, hr            holdfast.LegalHoldType
	legalHolds, hrHolds  []string
	untyped              []string
	root, lena, helpdesk holdfast.Principal
}

func newScopedFixture(t *testing.T) *scopedFixture {
	t.Helper()
	ctx := t.Context()
	meta, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "meta.db"))
	must(t, err)
	t.Cleanup(func() { meta.Close() })
	a := holdfast.Account{Name: "Acme", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}
	must(t, meta.CreateAccount(ctx, &a))
	f := &scopedFixture{meta: meta, acct: a.ID}
	f.legal = holdfast.LegalHoldType{AccountID: a.ID, Name: "Legal", Predefined: true}
	f.hr = holdfast.LegalHoldType{AccountID: a.ID, Name: "Human Resources", Predefined: true}
	must(t, meta.CreateHoldType(ctx, &f.legal))
	must(t, meta.CreateHoldType(ctx, &f.hr))
	for i := range 7 {
		f.legalHolds = append(f.legalHolds, f.hold(t, fmt.Sprintf("Case %d", i%3), f.legal.ID))
	}
	for i := range 5 {
		f.hrHolds = append(f.hrHolds, f.hold(t, fmt.Sprintf("Case %d", i%3), f.hr.ID))
	}
	for i := range 2 {
		f.untyped = append(f.untyped, f.hold(t, fmt.Sprintf("Untyped %d", i), ""))
	}
	f.root = f.admin(t, "root@example.com", "platform_admin", holdfast.Scopes{AllLegalHoldTypes: true, AllProfiles: true, AllWorkloads: true})
	f.lena = f.admin(t, "lena@example.com", "legal_admin", holdfast.Scopes{LegalHoldTypes: []string{f.legal.ID}, AllProfiles: true, AllWorkloads: true})
	f.helpdesk = f.admin(t, "hank@example.com", "help_desk_admin", holdfast.Scopes{AllProfiles: true, AllWorkloads: true})
	engine, err := authz.New(ctx, authz.Options{Store: meta, CacheBytes: -1})
	must(t, err)
	f.svc = legalhold.New(meta, legalhold.Options{Changes: change.New(change.Options{Store: meta, Authorizer: engine})})
	return f
}

func (f *scopedFixture) hold(t *testing.T, name, typeID string) string {
	t.Helper()
	h := holdfast.LegalHold{AccountID: f.acct, Name: name, TypeID: typeID, DataAccess: holdfast.AccessAllData}
	must(t, f.meta.CreateHold(t.Context(), &h))
	return h.ID
}

func (f *scopedFixture) admin(t *testing.T, email, role string, scopes holdfast.Scopes) holdfast.Principal {
	t.Helper()
	a := holdfast.Administrator{AccountID: f.acct, Name: email, Email: email, RoleID: role, Scopes: scopes, State: holdfast.AdminActive}
	must(t, f.meta.CreateAdmin(t.Context(), &a))
	return holdfast.Principal{Kind: holdfast.PrincipalAdmin, AccountID: f.acct, AdminID: a.ID, Email: email}
}

func sameSet(got, want []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
}

// TestListHoldsPagesInsideTypeScope: the hold list pages by cursor inside
// the caller's legal hold types, so a Legal Administrator of one type walks
// only the holds of that type and its total counts only those; the
// platform administrator walks every hold, untyped ones too.
func TestListHoldsPagesInsideTypeScope(t *testing.T) {
	f := newScopedFixture(t)
	ctx := t.Context()
	holdID := func(h legalhold.Info) string { return h.ID }
	holds := func(p holdfast.Principal, q legalhold.HoldQuery) func(holdfast.Page) (holdfast.Paged[legalhold.Info], error) {
		return func(page holdfast.Page) (holdfast.Paged[legalhold.Info], error) {
			return f.svc.ListHolds(ctx, p, q, page)
		}
	}
	all := slices.Concat(f.legalHolds, f.hrHolds, f.untyped)
	for _, tt := range []struct {
		name  string
		p     holdfast.Principal
		q     legalhold.HoldQuery
		limit int
		want  []string
	}{
		{"platform admin", f.root, legalhold.HoldQuery{}, 3, all},
		{"platform admin, one type", f.root, legalhold.HoldQuery{TypeID: f.hr.ID}, 2, f.hrHolds},
		{"legal admin", f.lena, legalhold.HoldQuery{}, 2, f.legalHolds},
		{"legal admin, its type", f.lena, legalhold.HoldQuery{TypeID: f.legal.ID}, 4, f.legalHolds},
		{"legal admin, another type", f.lena, legalhold.HoldQuery{TypeID: f.hr.ID}, 2, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ids, total := storagetest.WalkPages(t, tt.limit, holdID, holds(tt.p, tt.q))
			if !sameSet(ids, tt.want) || total != len(tt.want) {
				t.Errorf("listed %d holds (total %d), want %d: %v", len(ids), total, len(tt.want), ids)
			}
		})
	}
	if _, err := f.svc.ListHolds(ctx, f.helpdesk, legalhold.HoldQuery{}, holdfast.Page{}); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("help desk lists holds: %v, want ErrDenied", err)
	}
	_, err := f.svc.ListHolds(ctx, f.root, legalhold.HoldQuery{}, holdfast.Page{Cursor: "bogus"})
	var v *holdfast.ValidationError
	if !errors.As(err, &v) || v.Fields[0].Field != "cursor" {
		t.Errorf("a bogus cursor: %v, want a validation error naming cursor", err)
	}
}

// TestListTypesPagesInsideTypeScope: the type list pages inside the
// caller's legal hold types too.
func TestListTypesPagesInsideTypeScope(t *testing.T) {
	f := newScopedFixture(t)
	ctx := t.Context()
	typeID := func(ht holdfast.LegalHoldType) string { return ht.ID }
	types := func(p holdfast.Principal) func(holdfast.Page) (holdfast.Paged[holdfast.LegalHoldType], error) {
		return func(page holdfast.Page) (holdfast.Paged[holdfast.LegalHoldType], error) {
			return f.svc.ListTypes(ctx, p, page)
		}
	}
	if ids, total := storagetest.WalkPages(t, 1, typeID, types(f.root)); !slices.Equal(ids, []string{f.hr.ID, f.legal.ID}) || total != 2 {
		t.Errorf("platform admin types = %v (total %d), want Human Resources, Legal", ids, total)
	}
	if ids, total := storagetest.WalkPages(t, 1, typeID, types(f.lena)); !slices.Equal(ids, []string{f.legal.ID}) || total != 1 {
		t.Errorf("legal admin types = %v (total %d), want Legal only", ids, total)
	}
	if _, err := f.svc.ListTypes(ctx, f.helpdesk, holdfast.Page{}); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("help desk lists types: %v, want ErrDenied", err)
	}
}

// TestListCustodiansPages: a hold's custodians page by cursor in the order
// they were added, and a hold outside the caller's types is refused.
func TestListCustodiansPages(t *testing.T) {
	f := newScopedFixture(t)
	ctx := t.Context()
	prof := holdfast.Profile{AccountID: f.acct, Name: "Default", Default: true}
	must(t, f.meta.CreateProfile(ctx, &prof))
	var want []string
	for i := range 5 {
		u := holdfast.User{AccountID: f.acct, Name: fmt.Sprint("User ", i), Email: fmt.Sprintf("u%d@example.com", i), ProfileID: prof.ID, State: holdfast.UserActive}
		must(t, f.meta.CreateUser(ctx, &u))
		want = append(want, u.Email)
	}
	rep, err := f.svc.Add(ctx, f.lena, f.legalHolds[0], want)
	must(t, err)
	if len(rep.Added) != len(want) {
		t.Fatalf("added %v", rep)
	}
	email := func(c legalhold.CustodianInfo) string { return c.Email }
	ids, total := storagetest.WalkPages(t, 2, email, func(p holdfast.Page) (holdfast.Paged[legalhold.CustodianInfo], error) {
		return f.svc.ListCustodians(ctx, f.lena, f.legalHolds[0], p)
	})
	if !sameSet(ids, want) || total != len(want) {
		t.Errorf("custodians = %v (total %d), want %v", ids, total, want)
	}
	if _, err := f.svc.ListCustodians(ctx, f.lena, f.hrHolds[0], holdfast.Page{}); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("legal admin lists the custodians of an HR hold: %v, want ErrDenied", err)
	}
	got, err := f.svc.ListCustodians(ctx, f.root, f.legalHolds[0], holdfast.Page{Limit: holdfast.MaxPageSize})
	must(t, err)
	if len(got.Items) != len(want) || got.Next != "" {
		t.Errorf("one large page = %d custodians, next %q", len(got.Items), got.Next)
	}
}
