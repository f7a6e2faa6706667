package storagetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

func testMetaAudit(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	first := holdfast.AuditRecord{
		AccountID:    acct,
		Time:         metaAt(0),
		ActorID:      "adm-1",
		ActorEmail:   "ann@example.com",
		Action:       "administrator.create",
		ResourceType: holdfast.ResourceAdministrator,
		ResourceID:   "adm-2",
		DecisionID:   "dec-1",
		Outcome:      holdfast.OutcomeSuccess,
		// Not canonical JSON on purpose: the hash covers these exact bytes.
		Detail:    json.RawMessage(`{"email": "bob@example.com",  "role":"helpdesk"}`),
		RequestID: "req-1",
		// Callers cannot choose these.
		Seq:      42,
		PrevHash: "forged",
		Hash:     "forged",
	}
	r := first
	metaMust(t, s.AppendAudit(ctx, &r))
	if r.Seq != 1 || r.PrevHash != "" || r.Hash != r.ComputeMAC(AuditKey) {
		t.Errorf("first record: Seq %d PrevHash %q Hash %q, want 1, \"\", ComputeMAC(AuditKey)", r.Seq, r.PrevHash, r.Hash)
	}
	want := first
	want.Time, want.Seq, want.PrevHash, want.Hash = metaMicro(first.Time), 1, "", r.Hash
	metaAssertEqual(t, "AppendAudit writes back", r, want)

	records := []holdfast.AuditRecord{want}
	for i := 2; i <= 5; i++ {
		r := holdfast.AuditRecord{AccountID: acct, Time: metaAt(time.Duration(i) * time.Second), Action: "user.update",
			ResourceType: holdfast.ResourceUser, ResourceID: fmt.Sprintf("u%d", i), Outcome: holdfast.OutcomeDenied}
		metaMust(t, s.AppendAudit(ctx, &r))
		if r.Seq != int64(i) || r.PrevHash != records[len(records)-1].Hash {
			t.Errorf("record %d: Seq %d PrevHash %q, want %d and the previous hash", i, r.Seq, r.PrevHash, i)
		}
		records = append(records, r)
	}
	// A zero time is stamped now.
	r = holdfast.AuditRecord{AccountID: acct, Action: "system.tick"}
	before := time.Now().Add(-time.Second)
	metaMust(t, s.AppendAudit(ctx, &r))
	if r.Time.Before(before) || r.Time.Location() != time.UTC || r.Time.Nanosecond()%1000 != 0 {
		t.Errorf("AppendAudit with a zero time set Time %v, want now in UTC microseconds", r.Time)
	}
	records = append(records, r)

	got := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))
	metaAssertEqual(t, "ListAudit", got, records)
	metaVerifyChain(t, 0, "", got)
	if string(got[0].Detail) != string(first.Detail) {
		t.Errorf("Detail = %s, want the bytes appended, %s", got[0].Detail, first.Detail)
	}
	// Chains are per account.
	other := holdfast.AuditRecord{AccountID: metaNewAccount(t, s).ID, Action: "x"}
	metaMust(t, s.AppendAudit(ctx, &other))
	metaAssertEqual(t, "Seq of another account's first record", other.Seq, int64(1))
	metaAssertEqual(t, "PrevHash of another account's first record", other.PrevHash, "")
}

func testMetaAuditFilter(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	type rec struct{ actor, action, rtype, rid string }
	for _, r := range []rec{
		{"a1", "user.create", "user", "u1"},         // 1
		{"a2", "user.update", "user", "u1"},         // 2
		{"a1", "user.update", "user", "u2"},         // 3
		{"a1", "device.delete", "device", "u1"},     // 4
		{"", "hold.create", "legal_hold", "h1"},     // 5
		{"a2", "user.create", "user", "u3"},         // 6
		{"a1", "user.update", "device", "u2"},       // 7
		{"a2", "administrator.login", "admin", "x"}, // 8
	} {
		a := holdfast.AuditRecord{AccountID: acct, ActorID: r.actor, Action: r.action, ResourceType: r.rtype, ResourceID: r.rid}
		metaMust(t, s.AppendAudit(ctx, &a))
	}
	tests := []struct {
		name string
		f    holdfast.AuditFilter
		want []int64
	}{
		{"none", holdfast.AuditFilter{}, []int64{1, 2, 3, 4, 5, 6, 7, 8}},
		{"after seq", holdfast.AuditFilter{AfterSeq: 5}, []int64{6, 7, 8}},
		{"actor", holdfast.AuditFilter{ActorID: "a2"}, []int64{2, 6, 8}},
		{"action", holdfast.AuditFilter{Action: "user.update"}, []int64{2, 3, 7}},
		{"resource type", holdfast.AuditFilter{ResourceType: "user"}, []int64{1, 2, 3, 6}},
		{"resource", holdfast.AuditFilter{ResourceType: "user", ResourceID: "u1"}, []int64{1, 2}},
		{"resource id alone", holdfast.AuditFilter{ResourceID: "u2"}, []int64{3, 7}},
		{"limit", holdfast.AuditFilter{Limit: 3}, []int64{1, 2, 3}},
		{"page after seq", holdfast.AuditFilter{AfterSeq: 3, Limit: 2}, []int64{4, 5}},
		{"combined", holdfast.AuditFilter{AfterSeq: 1, ActorID: "a1", Action: "user.update", Limit: 1}, []int64{3}},
		{"no match", holdfast.AuditFilter{Action: "nothing"}, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := []int64{}
			for _, r := range metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, tt.f)) {
				got = append(got, r.Seq)
			}
			metaAssertEqual(t, fmt.Sprintf("ListAudit(%+v) seqs", tt.f), got, tt.want)
		})
	}
	// Paging with AfterSeq walks the whole chain and it verifies in pieces.
	var prevSeq int64
	prevHash := ""
	for {
		page := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{AfterSeq: prevSeq, Limit: 3}))
		if len(page) == 0 {
			break
		}
		metaVerifyChain(t, prevSeq, prevHash, page)
		prevSeq, prevHash = page[len(page)-1].Seq, page[len(page)-1].Hash
	}
	metaAssertEqual(t, "last seq reached by paging", prevSeq, int64(8))
}

func testMetaAuditConcurrent(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct, other := metaNewAccount(t, s).ID, metaNewAccount(t, s).ID
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := holdfast.AuditRecord{AccountID: acct, ActorID: fmt.Sprintf("w%d", w), Action: "concurrent",
					ResourceID: fmt.Sprint(i), Detail: json.RawMessage(fmt.Sprintf(`{"w":%d,"i":%d}`, w, i))}
				errs <- s.AppendAudit(ctx, &r)
				o := holdfast.AuditRecord{AccountID: other, Action: "concurrent"}
				errs <- s.AppendAudit(ctx, &o)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent AppendAudit: %v", err)
		}
	}
	for _, id := range []string{acct, other} {
		got := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, id, holdfast.AuditFilter{}))
		if len(got) != workers*each {
			t.Fatalf("account %s: %d records, want %d", id, len(got), workers*each)
		}
		metaVerifyChain(t, 0, "", got)
	}
}

func testMetaAuditAppendOnly(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	dber, ok := s.(DBer)
	if !ok {
		t.Skip("store does not expose its database")
	}
	acct := metaNewAccount(t, s).ID
	for range 3 {
		metaMust(t, s.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: acct, Action: "original"}))
	}
	before := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))
	// Literal SQL, the same in every dialect; acct is a generated id.
	where := " WHERE account_id = '" + strings.ReplaceAll(acct, "'", "''") + "'"
	for _, q := range []string{
		"UPDATE audit SET action = 'tampered'" + where,
		"UPDATE audit SET hash = ''" + where + " AND seq = 2",
		"DELETE FROM audit" + where + " AND seq = 3",
		"DELETE FROM audit" + where,
	} {
		_, err := dber.DB().ExecContext(ctx, q)
		if err == nil {
			t.Errorf("%s: succeeded, want the database to refuse it", q)
		} else if !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: error %q, want one saying the trail is append-only", q, err)
		}
	}
	after := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))
	metaAssertEqual(t, "audit records after refused changes", after, before)
	metaVerifyChain(t, 0, "", after)
}

// metaVerifyChain fails the test unless records continue the chain after
// prevSeq and prevHash under AuditKey.
func metaVerifyChain(tb testing.TB, prevSeq int64, prevHash string, records []holdfast.AuditRecord) {
	tb.Helper()
	c := holdfast.AuditChain{Key: AuditKey, PrevSeq: prevSeq, PrevHash: prevHash}
	if b := c.Verify(records); b != nil {
		tb.Fatalf("audit chain after seq %d: %+v", prevSeq, b)
	}
}
