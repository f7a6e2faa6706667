package storagetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// metaPageAll walks every page of a list of size limit and returns the ids
// in the order listed and the total of each page.
func metaPageAll[T any](t *testing.T, limit int, id func(T) string,
	list func(holdfast.Page) (holdfast.Paged[T], error)) (ids []string, totals []int) {
	t.Helper()
	p := holdfast.Page{Limit: limit}
	for range 1000 {
		got := metaGet[holdfast.Paged[T]](t)(list(p))
		if len(got.Items) > limit {
			t.Fatalf("a page of %d items for a limit of %d", len(got.Items), limit)
		}
		for _, it := range got.Items {
			ids = append(ids, id(it))
		}
		totals = append(totals, got.Total)
		if got.Next == "" {
			return ids, totals
		}
		p.Cursor = got.Next
	}
	t.Fatal("the pages never end")
	return nil, nil
}

// metaWantPages checks that ids lists want exactly once, in order, and that
// every page said the total is len(want).
func metaWantPages(t *testing.T, what string, ids []string, totals []int, want []string) {
	t.Helper()
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("%s paged = %v, want %v", what, ids, want)
	}
	for i, n := range totals {
		if n != len(want) {
			t.Errorf("%s page %d total = %d, want %d", what, i, n, len(want))
		}
	}
}

// testMetaAdminPaging pages through more administrators than a page holds:
// each comes back exactly once in name order (ties by id), the total counts
// the filter's matches in the account, another account's never appear, and
// a foreign cursor is ErrInvalid.
func testMetaAdminPaging(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	other := metaNewAccount(t, s).ID
	var all, disabled []holdfast.Administrator
	for i := range 11 {
		// Names repeat so that pages must break ties by id.
		a := holdfast.Administrator{AccountID: acct, Name: fmt.Sprintf("Admin %d", i%4), Email: metaUniq("page") + "@example.com",
			RoleID: "helpdesk", State: holdfast.AdminActive}
		if i%3 == 0 {
			a.State = holdfast.AdminDisabled
		}
		metaMust(t, s.CreateAdmin(ctx, &a))
		o := holdfast.Administrator{AccountID: other, Name: a.Name, Email: metaUniq("other") + "@example.com", RoleID: "helpdesk"}
		metaMust(t, s.CreateAdmin(ctx, &o))
		all = append(all, a)
	}
	// The store's own order is the reference: name, then id.
	ordered := metaGet[[]holdfast.Administrator](t)(s.ListAdmins(ctx, acct, holdfast.AdminFilter{}))
	var want, wantDisabled []string
	for _, a := range ordered {
		want = append(want, a.ID)
		if a.State == holdfast.AdminDisabled {
			wantDisabled = append(wantDisabled, a.ID)
			disabled = append(disabled, a)
		}
	}
	if len(want) != len(all) || len(disabled) != 4 {
		t.Fatalf("ListAdmins = %d administrators (%d disabled), want %d (4)", len(want), len(disabled), len(all))
	}
	for _, limit := range []int{1, 3, 11, 50} {
		ids, totals := metaPageAll(t, limit, metaAdminID, func(p holdfast.Page) (holdfast.Paged[holdfast.Administrator], error) {
			return s.PageAdmins(ctx, acct, holdfast.AdminFilter{}, p)
		})
		metaWantPages(t, fmt.Sprintf("PageAdmins limit %d", limit), ids, totals, want)
	}
	ids, totals := metaPageAll(t, 3, metaAdminID, func(p holdfast.Page) (holdfast.Paged[holdfast.Administrator], error) {
		return s.PageAdmins(ctx, acct, holdfast.AdminFilter{State: holdfast.AdminDisabled}, p)
	})
	metaWantPages(t, "PageAdmins disabled", ids, totals, wantDisabled)
	empty := metaGet[holdfast.Paged[holdfast.Administrator]](t)(s.PageAdmins(ctx, acct, holdfast.AdminFilter{Search: "nobody"}, holdfast.Page{}))
	if len(empty.Items) != 0 || empty.Total != 0 || empty.Next != "" {
		t.Errorf("PageAdmins of no match = %+v, want an empty last page", empty)
	}
	for _, c := range []string{"not a cursor", holdfast.EncodeCursor("one part"), holdfast.EncodeCursor("a", "b", "c")} {
		_, err := s.PageAdmins(ctx, acct, holdfast.AdminFilter{}, holdfast.Page{Cursor: c})
		if !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("PageAdmins(cursor %q) error = %v, want ErrInvalid", c, err)
		}
	}
}

// testMetaAuditPaging pages through an account's trail in both orders:
// each record exactly once, the total counting the filter's matches in the
// account only; a time window keeps the records from Since up to, not
// including, Before.
func testMetaAuditPaging(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	other := metaNewAccount(t, s).ID
	var want, wantUpdates, newest []string
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 9 {
		action := "user.create"
		if i%2 == 1 {
			action = "user.update"
		}
		r := holdfast.AuditRecord{AccountID: acct, Action: action, ResourceType: "user", Time: base.Add(time.Duration(i) * time.Hour)}
		metaMust(t, s.AppendAudit(ctx, &r))
		o := holdfast.AuditRecord{AccountID: other, Action: action, ResourceType: "user"}
		metaMust(t, s.AppendAudit(ctx, &o))
		id := fmt.Sprint(r.Seq)
		want = append(want, id)
		newest = append([]string{id}, newest...)
		if action == "user.update" {
			wantUpdates = append(wantUpdates, id)
		}
	}
	seq := func(r holdfast.AuditRecord) string { return fmt.Sprint(r.Seq) }
	for _, tt := range []struct {
		name string
		f    holdfast.AuditFilter
		want []string
	}{
		{"all", holdfast.AuditFilter{}, want},
		{"newest first", holdfast.AuditFilter{Newest: true}, newest},
		{"action", holdfast.AuditFilter{Action: "user.update"}, wantUpdates},
		{"after seq", holdfast.AuditFilter{AfterSeq: 6}, want[6:]},
		{"time window", holdfast.AuditFilter{Since: base.Add(2 * time.Hour), Before: base.Add(5 * time.Hour)}, want[2:5]},
		{"since", holdfast.AuditFilter{Since: base.Add(7 * time.Hour)}, want[7:]},
		{"before, newest first", holdfast.AuditFilter{Before: base.Add(2 * time.Hour), Newest: true}, []string{want[1], want[0]}},
	} {
		ids, totals := metaPageAll(t, 2, seq, func(p holdfast.Page) (holdfast.Paged[holdfast.AuditRecord], error) {
			return s.PageAudit(ctx, acct, tt.f, p)
		})
		metaWantPages(t, "PageAudit "+tt.name, ids, totals, tt.want)
	}
	if _, err := s.PageAudit(ctx, acct, holdfast.AuditFilter{}, holdfast.Page{Cursor: holdfast.EncodeCursor("x")}); !errors.Is(err, holdfast.ErrInvalid) {
		t.Errorf("PageAudit(cursor of no seq) error = %v, want ErrInvalid", err)
	}
}
