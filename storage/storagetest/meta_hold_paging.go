package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// holdPageFixture is an account with legal hold types, holds of each type
// and untyped ones (names repeat, so pages break ties by id), and a hold
// with custodians some of whom were added at the same time; a stranger
// account holds rows that must never show.
type holdPageFixture struct {
	acct       string
	types      []holdfast.LegalHoldType
	holds      []holdfast.LegalHold
	custodians []holdfast.Custodian // of holds[0]
}

func newHoldPageFixture(t *testing.T, s holdfast.MetaStore) holdPageFixture {
	ctx := t.Context()
	f := holdPageFixture{acct: metaNewAccount(t, s).ID}
	other := metaNewAccount(t, s).ID
	for _, acct := range []string{f.acct, other} {
		for i := range 5 {
			ht := holdfast.LegalHoldType{AccountID: acct, Name: fmt.Sprintf("Type %d", 4-i)}
			metaMust(t, s.CreateHoldType(ctx, &ht))
			if acct == f.acct {
				f.types = append(f.types, metaGet[holdfast.LegalHoldType](t)(s.GetHoldType(ctx, acct, ht.ID)))
			}
		}
	}
	for i := range 13 {
		typeID := "" // every third hold is untyped
		if i%3 != 0 {
			typeID = f.types[i%3].ID
		}
		h := holdfast.LegalHold{AccountID: f.acct, Name: fmt.Sprintf("Hold %d", i%4), TypeID: typeID, DataAccess: holdfast.AccessAllData}
		metaMust(t, s.CreateHold(ctx, &h))
		f.holds = append(f.holds, metaGet[holdfast.LegalHold](t)(s.GetHold(ctx, f.acct, h.ID)))
		o := holdfast.LegalHold{AccountID: other, Name: h.Name, DataAccess: holdfast.AccessAllData}
		metaMust(t, s.CreateHold(ctx, &o))
	}
	prof := holdfast.Profile{AccountID: f.acct, Name: "Default", Default: true}
	metaMust(t, s.CreateProfile(ctx, &prof))
	for i := range 9 {
		u := holdfast.User{AccountID: f.acct, Name: fmt.Sprintf("User %d", i), Email: metaUniq("c") + "@example.com",
			ProfileID: prof.ID, State: holdfast.UserActive}
		metaMust(t, s.CreateUser(ctx, &u))
		// Three custodians at each instant: ties break by user id.
		c := holdfast.Custodian{HoldID: f.holds[0].ID, UserID: u.ID, AddedAt: metaAt(time.Duration(2-i/3) * time.Minute)}
		metaMust(t, s.AddCustodian(ctx, f.acct, &c))
		f.custodians = append(f.custodians, c)
		if i < 2 {
			metaMust(t, s.AddCustodian(ctx, f.acct, &holdfast.Custodian{HoldID: f.holds[1].ID, UserID: u.ID, AddedAt: metaT0}))
		}
	}
	return f
}

// testMetaHoldPaging pages through legal holds, legal hold types and a
// hold's custodians: each comes back exactly once in the list's order,
// the totals count only the filter's matches in the account, and a cursor
// the list did not return is a validation error naming the cursor.
func testMetaHoldPaging(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := newHoldPageFixture(t, s)
	hName, hID := func(h holdfast.LegalHold) string { return h.Name }, func(h holdfast.LegalHold) string { return h.ID }
	tName, tID := func(h holdfast.LegalHoldType) string { return h.Name }, func(h holdfast.LegalHoldType) string { return h.ID }
	holds := func(hf holdfast.HoldFilter) func(holdfast.Page) (holdfast.Paged[holdfast.LegalHold], error) {
		return func(p holdfast.Page) (holdfast.Paged[holdfast.LegalHold], error) {
			return s.PageHolds(ctx, f.acct, hf, p)
		}
	}
	types := func(ids []string) func(holdfast.Page) (holdfast.Paged[holdfast.LegalHoldType], error) {
		return func(p holdfast.Page) (holdfast.Paged[holdfast.LegalHoldType], error) {
			return s.PageHoldTypes(ctx, f.acct, ids, p)
		}
	}
	t1, t2 := f.types[1].ID, f.types[2].ID
	t.Run("holds", func(t *testing.T) {
		checkWalk(t, f.holds, func(holdfast.LegalHold) bool { return true }, hName, hID, holds(holdfast.HoldFilter{}))
		checkWalk(t, f.holds, func(h holdfast.LegalHold) bool { return h.TypeID == t1 }, hName, hID,
			holds(holdfast.HoldFilter{TypeIDs: []string{t1, "type_missing"}}))
		checkWalk(t, f.holds, func(h holdfast.LegalHold) bool { return h.TypeID == t2 || h.TypeID == "" }, hName, hID,
			holds(holdfast.HoldFilter{TypeIDs: []string{t2, ""}}))
		checkWalk(t, f.holds, func(holdfast.LegalHold) bool { return false }, hName, hID, holds(holdfast.HoldFilter{TypeIDs: []string{}}))
	})
	t.Run("types", func(t *testing.T) {
		checkWalk(t, f.types, func(holdfast.LegalHoldType) bool { return true }, tName, tID, types(nil))
		checkWalk(t, f.types, func(ht holdfast.LegalHoldType) bool { return ht.ID == t1 || ht.ID == t2 }, tName, tID,
			types([]string{t2, t1, "type_missing"}))
		checkWalk(t, f.types, func(holdfast.LegalHoldType) bool { return false }, tName, tID, types([]string{}))
	})
	t.Run("custodians", func(t *testing.T) {
		want := slices.Clone(f.custodians)
		slices.SortFunc(want, func(a, b holdfast.Custodian) int {
			if c := a.AddedAt.Compare(b.AddedAt); c != 0 {
				return c
			}
			return strings.Compare(a.UserID, b.UserID)
		})
		var wantIDs []string
		for _, c := range want {
			wantIDs = append(wantIDs, c.UserID)
		}
		uid := func(c holdfast.Custodian) string { return c.UserID }
		for _, limit := range []int{1, 2, 3, 50} {
			ids, total := WalkPages(t, limit, uid, func(p holdfast.Page) (holdfast.Paged[holdfast.Custodian], error) {
				return s.PageCustodians(ctx, f.acct, f.holds[0].ID, p)
			})
			if !slices.Equal(ids, wantIDs) || total != len(wantIDs) {
				t.Errorf("limit %d: custodians %v (total %d), want %v", limit, ids, total, wantIDs)
			}
		}
		first := metaGet[holdfast.Paged[holdfast.Custodian]](t)(s.PageCustodians(ctx, f.acct, f.holds[0].ID, holdfast.Page{Limit: 1}))
		metaAssertEqual(t, "first custodian", first.Items[0], want[0])
		none := metaGet[holdfast.Paged[holdfast.Custodian]](t)(s.PageCustodians(ctx, f.acct, "hold_missing", holdfast.Page{}))
		if len(none.Items) != 0 || none.Total != 0 || none.Next != "" {
			t.Errorf("custodians of a missing hold = %+v, want an empty last page", none)
		}
	})
	t.Run("bad cursor", func(t *testing.T) {
		for _, c := range []string{"not a cursor", holdfast.EncodeCursor("one key"), holdfast.EncodeCursor("a", "b", "c")} {
			_, err := s.PageHolds(ctx, f.acct, holdfast.HoldFilter{}, holdfast.Page{Cursor: c})
			metaAssertCursorError(t, "PageHolds", err)
			_, err = s.PageHoldTypes(ctx, f.acct, nil, holdfast.Page{Cursor: c})
			metaAssertCursorError(t, "PageHoldTypes", err)
			_, err = s.PageCustodians(ctx, f.acct, f.holds[0].ID, holdfast.Page{Cursor: c})
			metaAssertCursorError(t, "PageCustodians", err)
		}
		_, err := s.PageCustodians(ctx, f.acct, f.holds[0].ID, holdfast.Page{Cursor: holdfast.EncodeCursor("not a time", "user")})
		metaAssertCursorError(t, "PageCustodians", err)
	})
}

// metaAssertCursorError fails unless err is a validation error naming the
// cursor.
func metaAssertCursorError(tb testing.TB, what string, err error) {
	tb.Helper()
	var v *holdfast.ValidationError
	if !errors.As(err, &v) || len(v.Fields) == 0 || v.Fields[0].Field != "cursor" {
		tb.Errorf("%s with a foreign cursor: error %v, want a validation error naming cursor", what, err)
	}
}
