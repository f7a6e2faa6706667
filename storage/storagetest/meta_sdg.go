package storagetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// testMetaSDG runs the [holdfast.SDGStore] contract: objects read back as
// written, names are unique per account and kind, kinds and accounts stay
// apart, pages walk by name, and none of it changes the account revision.
func testMetaSDG(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	rev := metaRevision(t, s, acct)

	in := holdfast.SDGObject{AccountID: acct, Kind: holdfast.SDGKindType, Name: "Employee id", Body: []byte(`{"pattern":"EMP-\\d{6}"}`),
		CreatedAt: metaAt(0), UpdatedAt: metaAt(0)}
	o := in
	metaMust(t, s.CreateSDGObject(ctx, &o))
	if o.ID == "" {
		t.Fatal("CreateSDGObject gave no id")
	}
	got := metaGet[holdfast.SDGObject](t)(s.GetSDGObject(ctx, acct, holdfast.SDGKindType, o.ID))
	metaAssertEqual(t, "GetSDGObject", got, o)

	// the name is taken in its kind, not in another kind or account
	dup := holdfast.SDGObject{AccountID: acct, Kind: holdfast.SDGKindType, Name: "Employee id", Body: []byte(`{}`)}
	metaAssertErr(t, "CreateSDGObject with a taken name", s.CreateSDGObject(ctx, &dup), holdfast.ErrConflict)
	sameID := holdfast.SDGObject{AccountID: acct, Kind: holdfast.SDGKindType, ID: o.ID, Name: "other", Body: []byte(`{}`)}
	metaAssertErr(t, "CreateSDGObject with a taken id", s.CreateSDGObject(ctx, &sameID), holdfast.ErrConflict)
	tpl := holdfast.SDGObject{AccountID: acct, Kind: holdfast.SDGKindTemplate, Name: "Employee id", Body: []byte(`{}`)}
	metaMust(t, s.CreateSDGObject(ctx, &tpl))
	g := metaNewFixture(t, s)
	other := holdfast.SDGObject{AccountID: g.account.ID, Kind: holdfast.SDGKindType, Name: "Employee id", Body: []byte(`{}`)}
	metaMust(t, s.CreateSDGObject(ctx, &other))
	_, err := s.GetSDGObject(ctx, g.account.ID, holdfast.SDGKindType, o.ID)
	metaAssertErr(t, "another account's object", err, holdfast.ErrNotFound)
	_, err = s.GetSDGObject(ctx, acct, holdfast.SDGKindPolicy, o.ID)
	metaAssertErr(t, "the object under another kind", err, holdfast.ErrNotFound)

	// update: name and body; a taken name refuses and changes nothing
	o.Name, o.Body, o.UpdatedAt = "Staff id", []byte(`{"pattern":"STAFF-\\d{6}"}`), metaAt(time.Minute)
	metaMust(t, s.UpdateSDGObject(ctx, &o))
	metaAssertEqual(t, "after UpdateSDGObject", metaGet[holdfast.SDGObject](t)(s.GetSDGObject(ctx, acct, holdfast.SDGKindType, o.ID)), o)
	second := holdfast.SDGObject{AccountID: acct, Kind: holdfast.SDGKindType, Name: "Badge", Body: []byte(`{}`)}
	metaMust(t, s.CreateSDGObject(ctx, &second))
	clash := second
	clash.Name = "Staff id"
	metaAssertErr(t, "UpdateSDGObject to a taken name", s.UpdateSDGObject(ctx, &clash), holdfast.ErrConflict)
	metaAssertEqual(t, "after the refused update", metaGet[holdfast.SDGObject](t)(s.GetSDGObject(ctx, acct, holdfast.SDGKindType, second.ID)), second)
	missing := holdfast.SDGObject{AccountID: acct, Kind: holdfast.SDGKindType, ID: "nope", Name: "x", Body: []byte(`{}`)}
	metaAssertErr(t, "UpdateSDGObject of a missing one", s.UpdateSDGObject(ctx, &missing), holdfast.ErrNotFound)

	// pages by name, only the kind's, with the total
	for i := 0; i < 7; i++ {
		x := holdfast.SDGObject{AccountID: acct, Kind: holdfast.SDGKindType, Name: fmt.Sprintf("type %02d", 6-i), Body: []byte(`{}`)}
		metaMust(t, s.CreateSDGObject(ctx, &x))
	}
	names := map[string]string{}
	ids, total := WalkPages(t, 3, func(o holdfast.SDGObject) string { names[o.ID] = o.Name; return o.ID },
		func(p holdfast.Page) (holdfast.Paged[holdfast.SDGObject], error) {
			return s.PageSDGObjects(ctx, acct, holdfast.SDGKindType, p)
		})
	if total != 9 || len(ids) != 9 {
		t.Fatalf("PageSDGObjects: %d ids, total %d, want 9", len(ids), total)
	}
	var order []string
	for _, id := range ids {
		order = append(order, names[id])
	}
	if !slices.IsSorted(order) || order[0] != "Badge" {
		t.Fatalf("PageSDGObjects order: %q", order)
	}

	metaAssertErr(t, "DeleteSDGObject of a missing one", s.DeleteSDGObject(ctx, acct, holdfast.SDGKindType, "nope"), holdfast.ErrNotFound)
	metaMust(t, s.DeleteSDGObject(ctx, acct, holdfast.SDGKindType, o.ID))
	_, err = s.GetSDGObject(ctx, acct, holdfast.SDGKindType, o.ID)
	metaAssertErr(t, "after DeleteSDGObject", err, holdfast.ErrNotFound)
	metaMust(t, s.Tx(ctx, func(tx holdfast.MetaStore) error {
		y := holdfast.SDGObject{AccountID: acct, Kind: holdfast.SDGKindPolicy, Name: "made inside a transaction", Body: []byte(`{}`)}
		metaMust(t, tx.CreateSDGObject(ctx, &y))
		return nil
	}))
	metaUnchanged(t, s, acct, rev, "SDG objects")
}
