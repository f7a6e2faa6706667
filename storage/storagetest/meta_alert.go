package storagetest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// testMetaAlert runs the [holdfast.AlertStore] contract: alerts keyed by
// their dedup key, the history in Seq order, cursors, subscriptions and
// deliveries, each paged, none changing the account's revision, none
// visible from another account.
func testMetaAlert(t *testing.T, s holdfast.MetaStore) {
	f := metaNewFixture(t, s)
	g := metaNewFixture(t, s)
	rev := metaRevision(t, s, f.account.ID)
	metaAlertPut(t, s, f)
	metaAlertEvents(t, s, f, g)
	metaAlertCursor(t, s, f, g)
	metaAlertSubscriptions(t, s, f, g)
	metaAlertDeliveries(t, s, f, g)
	metaUnchanged(t, s, f.account.ID, rev, "alert writes")
}

// metaAlertPut: a second put of the same dedup key replaces the first and
// keeps its ID; the list pages by key and filters by kind, state and
// object type.
func metaAlertPut(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	ctx, acct := t.Context(), f.account.ID
	_, err := s.GetAlertByKey(ctx, acct, holdfast.AlertLegalHoldChanged, holdfast.ResourceLegalHold, f.hold.ID)
	metaAssertErr(t, "GetAlertByKey before any", err, holdfast.ErrNotFound)
	a := holdfast.Alert{AccountID: acct, Kind: holdfast.AlertLegalHoldChanged, ObjectType: holdfast.ResourceLegalHold,
		ObjectID: f.hold.ID, State: holdfast.AlertStateFiring, Summary: "changed", Detail: json.RawMessage(`{"n":1}`),
		Count: 1, StartsAt: metaAt(0), EndsAt: metaPtr(metaAt(time.Hour)), NotifiedAt: metaAt(0), UpdatedAt: metaAt(0)}
	metaMust(t, s.PutAlert(ctx, &a))
	first := a.ID
	again := a
	again.ID, again.State, again.Count, again.ResolvedAt, again.UpdatedAt = "", holdfast.AlertStateResolved, 2, metaPtr(metaAt(time.Minute)), metaAt(time.Minute)
	metaMust(t, s.PutAlert(ctx, &again))
	if again.ID != first {
		t.Fatalf("PutAlert of the same key: id %s, want the first %s", again.ID, first)
	}
	got := metaGet[holdfast.Alert](t)(s.GetAlert(ctx, acct, first))
	metaAssertEqual(t, "alert read back", got, again)
	metaAssertEqual(t, "by key", metaGet[holdfast.Alert](t)(s.GetAlertByKey(ctx, acct, a.Kind, a.ObjectType, a.ObjectID)), again)

	for i := range 5 {
		b := holdfast.Alert{AccountID: acct, Kind: holdfast.AlertAdministratorLocked, ObjectType: holdfast.ResourceAdministrator,
			ObjectID: fmt.Sprintf("admin-%d", i), State: holdfast.AlertStateFiring, Summary: "locked", NotifiedAt: metaAt(0)}
		metaMust(t, s.PutAlert(ctx, &b))
	}
	ids, total := WalkPages(t, 2, func(a holdfast.Alert) string { return a.ObjectID }, func(p holdfast.Page) (holdfast.Paged[holdfast.Alert], error) {
		return s.PageAlerts(ctx, acct, holdfast.AlertFilter{}, p)
	})
	if total != 6 || len(ids) != 6 || ids[0] != "admin-0" || ids[5] != f.hold.ID {
		t.Fatalf("alerts by key: %v (total %d), want the 5 lockouts then the hold", ids, total)
	}
	firing, err := s.PageAlerts(ctx, acct, holdfast.AlertFilter{State: holdfast.AlertStateFiring, Kind: holdfast.AlertAdministratorLocked}, holdfast.Page{})
	metaMust(t, err)
	none, err := s.PageAlerts(ctx, acct, holdfast.AlertFilter{ObjectTypes: []string{}}, holdfast.Page{})
	metaMust(t, err)
	holds, err := s.PageAlerts(ctx, acct, holdfast.AlertFilter{ObjectTypes: []string{holdfast.ResourceLegalHold}}, holdfast.Page{})
	metaMust(t, err)
	if firing.Total != 5 || none.Total != 0 || len(none.Items) != 0 || holds.Total != 1 {
		t.Fatalf("filters: firing lockouts %d, no types %d, holds %d; want 5, 0, 1", firing.Total, none.Total, holds.Total)
	}
	_, err = s.PageAlerts(ctx, acct, holdfast.AlertFilter{}, holdfast.Page{Cursor: holdfast.EncodeCursor("x")})
	metaAssertErr(t, "a cursor of another list", err, holdfast.ErrInvalid)
}

// metaAlertEvents: Seq counts from 1 per account; the history pages
// newest first; ListAlertEvents reads after a cursor, oldest first.
func metaAlertEvents(t *testing.T, s holdfast.MetaStore, f, g metaFixture) {
	ctx, acct := t.Context(), f.account.ID
	last, err := s.LastAlertEventSeq(ctx, acct)
	metaMust(t, err)
	if last != 0 {
		t.Fatalf("LastAlertEventSeq of an empty history = %d", last)
	}
	for i := range 5 {
		e := holdfast.AlertEvent{AccountID: acct, AlertID: "a" + strconv.Itoa(i%2), Kind: holdfast.AlertLegalHoldChanged,
			ObjectType: holdfast.ResourceLegalHold, ObjectID: f.hold.ID, Status: holdfast.AlertStateFiring, Summary: "s",
			Time: metaAt(time.Duration(i) * time.Second)}
		metaMust(t, s.AppendAlertEvent(ctx, &e))
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d: Seq %d", i, e.Seq)
		}
	}
	other := holdfast.AlertEvent{AccountID: g.account.ID, AlertID: "b", Kind: holdfast.AlertLegalHoldChanged, Status: holdfast.AlertStateFiring}
	metaMust(t, s.AppendAlertEvent(ctx, &other))
	if other.Seq != 1 {
		t.Fatalf("another account's first event: Seq %d, want 1", other.Seq)
	}
	ids, total := WalkPages(t, 2, func(e holdfast.AlertEvent) string { return strconv.FormatInt(e.Seq, 10) }, func(p holdfast.Page) (holdfast.Paged[holdfast.AlertEvent], error) {
		return s.PageAlertEvents(ctx, acct, holdfast.AlertEventFilter{}, p)
	})
	metaAssertEqual(t, "history newest first", ids, []string{"5", "4", "3", "2", "1"})
	if total != 5 {
		t.Fatalf("history total %d, want 5", total)
	}
	one, err := s.PageAlertEvents(ctx, acct, holdfast.AlertEventFilter{AlertID: "a1"}, holdfast.Page{})
	metaMust(t, err)
	after, err := s.ListAlertEvents(ctx, acct, 3, 10)
	metaMust(t, err)
	if one.Total != 2 || len(after) != 2 || after[0].Seq != 4 || after[1].Seq != 5 {
		t.Fatalf("alert a1 has %d events (want 2); after 3: %d events", one.Total, len(after))
	}
	last, err = s.LastAlertEventSeq(ctx, acct)
	metaMust(t, err)
	if last != 5 {
		t.Fatalf("LastAlertEventSeq = %d, want 5", last)
	}
}

// metaAlertCursor: an unset cursor is 0; a put replaces; accounts do not
// share cursors.
func metaAlertCursor(t *testing.T, s holdfast.MetaStore, f, g metaFixture) {
	ctx := t.Context()
	v, err := s.GetAlertCursor(ctx, f.account.ID, "audit")
	metaMust(t, err)
	metaMust(t, s.PutAlertCursor(ctx, f.account.ID, "audit", 7))
	metaMust(t, s.PutAlertCursor(ctx, f.account.ID, "audit", 9))
	w, err := s.GetAlertCursor(ctx, f.account.ID, "audit")
	metaMust(t, err)
	o, err := s.GetAlertCursor(ctx, g.account.ID, "audit")
	metaMust(t, err)
	if v != 0 || w != 9 || o != 0 {
		t.Fatalf("cursors: unset %d, set %d, other account %d; want 0, 9, 0", v, w, o)
	}
}

// metaAlertSubscriptions: create, read (the secret too), page by admin,
// update, delete; a missing administrator is ErrNotFound; deleting the
// administrator deletes their subscriptions.
func metaAlertSubscriptions(t *testing.T, s holdfast.MetaStore, f, g metaFixture) {
	ctx, acct := t.Context(), f.account.ID
	var made []holdfast.AlertSubscription
	for i := range 3 {
		sub := holdfast.AlertSubscription{AccountID: acct, AdminID: f.admin.ID, Kinds: []string{holdfast.AlertLegalHoldChanged},
			Channel: holdfast.AlertChannelWebhook, URL: "https://hooks.example.com/" + strconv.Itoa(i), Secret: "whsec_x",
			DigestEvery: time.Hour, Cursor: 3, CreatedBy: f.admin.ID, CreatedAt: metaAt(time.Duration(i) * time.Second)}
		metaMust(t, s.CreateAlertSubscription(ctx, &sub))
		made = append(made, sub)
	}
	bad := holdfast.AlertSubscription{AccountID: acct, AdminID: "nobody", Channel: holdfast.AlertChannelEmail, CreatedBy: f.admin.ID}
	metaAssertErr(t, "subscription of a missing administrator", s.CreateAlertSubscription(ctx, &bad), holdfast.ErrNotFound)
	got := metaGet[holdfast.AlertSubscription](t)(s.GetAlertSubscription(ctx, acct, made[0].ID))
	metaAssertEqual(t, "subscription read back", got, made[0])
	ids, total := WalkPages(t, 2, func(a holdfast.AlertSubscription) string { return a.ID }, func(p holdfast.Page) (holdfast.Paged[holdfast.AlertSubscription], error) {
		return s.PageAlertSubscriptions(ctx, acct, f.admin.ID, p)
	})
	metaAssertEqual(t, "subscriptions oldest first", ids, []string{made[0].ID, made[1].ID, made[2].ID})
	others, err := s.PageAlertSubscriptions(ctx, g.account.ID, "", holdfast.Page{})
	metaMust(t, err)
	if total != 3 || others.Total != 0 {
		t.Fatalf("subscriptions: total %d, another account's %d", total, others.Total)
	}
	up := made[1]
	up.Kinds, up.Cursor, up.LastSentAt, up.UpdatedAt = []string{}, 42, metaPtr(metaAt(time.Minute)), metaAt(time.Minute)
	metaMust(t, s.UpdateAlertSubscription(ctx, &up))
	up.UpdatedAt, up.LastSentAt = metaMicro(up.UpdatedAt), metaMicroPtr(up.LastSentAt)
	metaAssertEqual(t, "updated subscription", metaGet[holdfast.AlertSubscription](t)(s.GetAlertSubscription(ctx, acct, up.ID)), up)
	metaMust(t, s.DeleteAlertSubscription(ctx, acct, made[2].ID))
	metaAssertErr(t, "delete twice", s.DeleteAlertSubscription(ctx, acct, made[2].ID), holdfast.ErrNotFound)
	_, err = s.GetAlertSubscription(ctx, g.account.ID, made[0].ID)
	metaAssertErr(t, "another account's subscription", err, holdfast.ErrNotFound)
}

// metaAlertDeliveries: create, record attempts, page newest first and by
// subscription, and list the pending ones due.
func metaAlertDeliveries(t *testing.T, s holdfast.MetaStore, f, g metaFixture) {
	ctx, acct := t.Context(), f.account.ID
	var made []holdfast.AlertDelivery
	for i := range 4 {
		d := holdfast.AlertDelivery{AccountID: acct, ID: "msg_" + metaUniq("d"), SubscriptionID: "sub" + strconv.Itoa(i%2),
			Channel: holdfast.AlertChannelWebhook, Target: "https://hooks.example.com/", Events: i + 1,
			Body: json.RawMessage(`{"type":"alerts.digest"}`), State: holdfast.AlertDeliveryPending,
			NextAt: metaPtr(metaAt(time.Duration(i) * time.Minute)), CreatedAt: metaAt(time.Duration(i) * time.Second)}
		metaMust(t, s.CreateAlertDelivery(ctx, &d))
		made = append(made, d)
	}
	dup := made[0]
	metaAssertErr(t, "a taken delivery id", s.CreateAlertDelivery(ctx, &dup), holdfast.ErrConflict)
	metaAssertEqual(t, "delivery read back", metaGet[holdfast.AlertDelivery](t)(s.GetAlertDelivery(ctx, acct, made[0].ID)), made[0])
	ids, total := WalkPages(t, 3, func(d holdfast.AlertDelivery) string { return d.ID }, func(p holdfast.Page) (holdfast.Paged[holdfast.AlertDelivery], error) {
		return s.PageAlertDeliveries(ctx, acct, holdfast.AlertDeliveryFilter{}, p)
	})
	metaAssertEqual(t, "deliveries newest first", ids, []string{made[3].ID, made[2].ID, made[1].ID, made[0].ID})
	sub, err := s.PageAlertDeliveries(ctx, acct, holdfast.AlertDeliveryFilter{SubscriptionID: "sub1"}, holdfast.Page{})
	metaMust(t, err)
	if total != 4 || sub.Total != 2 {
		t.Fatalf("deliveries: total %d, of sub1 %d", total, sub.Total)
	}
	done := made[0]
	done.State, done.Attempts, done.LastStatus, done.NextAt, done.DeliveredAt = holdfast.AlertDeliveryDelivered, 1, 204, nil, metaPtr(metaAt(time.Hour))
	metaMust(t, s.UpdateAlertDelivery(ctx, &done))
	metaAssertEqual(t, "attempt recorded", metaGet[holdfast.AlertDelivery](t)(s.GetAlertDelivery(ctx, acct, done.ID)), done)
	due, err := s.PageAlertDeliveries(ctx, acct, holdfast.AlertDeliveryFilter{DueBy: metaPtr(metaAt(time.Minute))}, holdfast.Page{})
	metaMust(t, err)
	if due.Total != 1 || due.Items[0].ID != made[1].ID {
		t.Fatalf("due by one minute: %d deliveries, want only the second (the first is delivered)", due.Total)
	}
	_, err = s.GetAlertDelivery(ctx, g.account.ID, made[1].ID)
	metaAssertErr(t, "another account's delivery", err, holdfast.ErrNotFound)
}
