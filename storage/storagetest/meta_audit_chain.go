package storagetest

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
	blobfs "github.com/holdfast/holdfast/storage/fs"
)

// auditSigner is the checkpoint signing key of the suite.
var auditSigner = ed25519.NewKeyFromSeed([]byte("storagetest checkpoint seed 32b!"))

// metaAuditService returns an audit service over s with checkpoints in a
// temporary directory, its clock at *now.
func metaAuditService(t *testing.T, s holdfast.MetaStore, now *time.Time) *audit.Service {
	t.Helper()
	blobs, err := blobfs.New(t.TempDir())
	metaMust(t, err)
	svc, err := audit.New(audit.Options{Store: s, Key: AuditKey, Signer: auditSigner,
		Checkpoints: audit.NewCheckpoints(blobs, 0), Clock: ptrClock{now}})
	metaMust(t, err)
	return svc
}

// ptrClock is a holdfast.Clock reading the time a test sets at t.
type ptrClock struct{ t *time.Time }

func (c ptrClock) Now() time.Time { return *c.t }

// metaAppend appends n records to the account, at times from start one
// hour apart.
func metaAppend(t *testing.T, s holdfast.MetaStore, acct string, n int, start time.Time) {
	t.Helper()
	for i := range n {
		metaMust(t, s.AppendAudit(t.Context(), &holdfast.AuditRecord{AccountID: acct, Action: "user.update",
			Time: start.Add(time.Duration(i) * time.Hour)}))
	}
}

// metaTamper runs SQL on the store's database with the audit table's
// guards off, as someone with write access to the database could.
func metaTamper(t *testing.T, s holdfast.MetaStore, q string) {
	t.Helper()
	dber, ok := s.(DBer)
	if !ok {
		t.Skip("store does not expose its database")
	}
	db := dber.DB()
	ctx := t.Context()
	for _, trig := range []string{"audit_no_update", "audit_no_delete"} {
		// SQLite, then PostgreSQL syntax.
		if _, err := db.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+trig); err != nil {
			_, err = db.ExecContext(ctx, "DROP TRIGGER IF EXISTS "+trig+" ON audit")
			metaMust(t, err)
		}
	}
	_, err := db.ExecContext(ctx, q)
	metaMust(t, err)
}

func metaWhere(acct string) string {
	return " WHERE account_id = '" + strings.ReplaceAll(acct, "'", "''") + "'"
}

func metaWantBreak(t *testing.T, rep audit.Report, seq int64, reason string) {
	t.Helper()
	if rep.OK || rep.Break == nil {
		t.Fatalf("Verify = %+v, want a break at seq %d", rep, seq)
	}
	if rep.Break.Seq != seq || !strings.Contains(rep.Break.Reason, reason) {
		t.Errorf("Verify break = %+v, want seq %d and a reason containing %q", *rep.Break, seq, reason)
	}
}

// testMetaAuditMAC: records are chained with a keyed MAC, so a chain
// recomputed without the key, or with another, does not verify.
func testMetaAuditMAC(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	metaAppend(t, s, acct, 3, metaT0)
	got := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))
	metaVerifyChain(t, 0, "", got)
	other := holdfast.AuditChain{Key: []byte("some other key, also of 32 bytes")}
	if b := other.Verify(got); b == nil || b.Seq != 1 {
		t.Errorf("chain under another key: break %+v, want one at seq 1", b)
	}
	unkeyed := holdfast.AuditChain{LegacyThrough: 3}
	if b := unkeyed.Verify(got); b == nil || b.Seq != 1 {
		t.Errorf("chain as unkeyed SHA-256: break %+v, want one at seq 1", b)
	}
	now := metaT0.Add(time.Hour)
	rep, err := metaAuditService(t, s, &now).Verify(ctx, acct)
	metaMust(t, err)
	if !rep.OK || rep.Records != 3 || rep.LastSeq != 3 {
		t.Errorf("Verify = %+v, want OK with 3 records", rep)
	}
}

// testMetaAuditEditDetected: a record changed in the database, even with
// its hash recomputed the old, unkeyed way, is the first bad row.
func testMetaAuditEditDetected(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	metaAppend(t, s, acct, 5, metaT0)
	now := metaT0
	svc := metaAuditService(t, s, &now)
	metaMust(t, svc.Checkpoint(ctx, audit.ReasonInterval))
	recs := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))
	forged := recs[2]
	forged.Action = "tampered"
	metaTamper(t, s, "UPDATE audit SET action = 'tampered', hash = '"+forged.ComputeHash()+"'"+metaWhere(acct)+" AND seq = 3")
	rep, err := svc.Verify(ctx, acct)
	metaMust(t, err)
	metaWantBreak(t, rep, 3, "MAC does not match")
	if rep.Records != 2 {
		t.Errorf("Verify records = %d, want the 2 before the edit", rep.Records)
	}
}

// testMetaAuditTruncationDetected: deleting the newest records, or all of
// them, leaves the trail short of its checkpoint.
func testMetaAuditTruncationDetected(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	metaAppend(t, s, acct, 5, metaT0)
	now := metaT0
	svc := metaAuditService(t, s, &now)
	metaMust(t, svc.Checkpoint(ctx, audit.ReasonShutdown))

	metaTamper(t, s, "DELETE FROM audit"+metaWhere(acct)+" AND seq > 3")
	rep, err := svc.Verify(ctx, acct)
	metaMust(t, err)
	metaWantBreak(t, rep, 4, "missing tail")
	if rep.LastSeq != 3 || rep.CheckpointSeq != 5 {
		t.Errorf("Verify = %+v, want last seq 3 and checkpoint seq 5", rep)
	}
	// Appending after the truncation reuses seq 4 and 5: still detected.
	metaAppend(t, s, acct, 2, metaT0.Add(24*time.Hour))
	rep, err = svc.Verify(ctx, acct)
	metaMust(t, err)
	metaWantBreak(t, rep, 5, "differs from the checkpoint")

	metaTamper(t, s, "DELETE FROM audit"+metaWhere(acct))
	reps, err := svc.VerifyAll(ctx)
	metaMust(t, err)
	found := false
	for _, r := range reps {
		if r.AccountID == acct {
			found = true
			metaWantBreak(t, r, 1, "missing tail")
		}
	}
	if !found {
		t.Errorf("VerifyAll did not report the account whose trail is gone")
	}
}

// testMetaAuditPrune: retention removes the records past it behind a
// checkpoint, the trail still verifies, and tampering afterwards is still
// detected. PruneAudit keeps the newest record.
func testMetaAuditPrune(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	a := metaNewAccount(t, s)
	a.Settings.AuditRetentionDays = 30
	metaMust(t, s.UpdateAccount(ctx, &a))
	acct := a.ID
	// Five records 40 days old, three 10 days old.
	now := metaT0.Add(60 * 24 * time.Hour)
	metaAppend(t, s, acct, 5, now.Add(-40*24*time.Hour))
	metaAppend(t, s, acct, 3, now.Add(-10*24*time.Hour))
	svc := metaAuditService(t, s, &now)
	metaMust(t, svc.Prune(ctx))
	recs := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))
	if len(recs) != 3 || recs[0].Seq != 6 {
		t.Fatalf("after pruning: %d records from seq %d, want 3 from seq 6", len(recs), recs[0].Seq)
	}
	rep, err := svc.Verify(ctx, acct)
	metaMust(t, err)
	if !rep.OK || rep.Records != 3 || rep.LastSeq != 8 {
		t.Fatalf("Verify after pruning = %+v, want OK with 3 records to seq 8", rep)
	}
	// Appends continue the chain.
	metaAppend(t, s, acct, 1, now)
	rep, err = svc.Verify(ctx, acct)
	metaMust(t, err)
	if !rep.OK || rep.LastSeq != 9 {
		t.Fatalf("Verify after an append = %+v, want OK to seq 9", rep)
	}

	// Everything past retention: the newest record stays.
	now = now.Add(365 * 24 * time.Hour)
	metaMust(t, svc.Prune(ctx))
	recs = metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))
	if len(recs) != 1 || recs[0].Seq != 9 {
		t.Fatalf("after pruning everything: %d records, want only seq 9", len(recs))
	}
	metaAppend(t, s, acct, 1, now)
	rep, err = svc.Verify(ctx, acct)
	metaMust(t, err)
	if !rep.OK || rep.LastSeq != 10 {
		t.Fatalf("Verify = %+v, want OK to seq 10", rep)
	}

	// Tampering after pruning is detected.
	metaTamper(t, s, "UPDATE audit SET action = 'tampered'"+metaWhere(acct)+" AND seq = 10")
	rep, err = svc.Verify(ctx, acct)
	metaMust(t, err)
	metaWantBreak(t, rep, 10, "MAC does not match")
	// And a trail that does not verify is not pruned.
	now = now.Add(365 * 24 * time.Hour)
	if err := svc.Prune(ctx); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Errorf("Prune over a tampered trail: %v, want a refusal", err)
	}
	if n := len(metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))); n != 2 {
		t.Errorf("after a refused prune: %d records, want 2", n)
	}
}

// lockedClock is a holdfast.Clock a test steps while a job reads it.
type lockedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *lockedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *lockedClock) step(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testMetaAuditRetentionSchedule: the audit service's retention runs when
// its interval has passed on the service's clock; stepping the clock back
// never makes it run early; when it runs, it removes only records past
// retention, and the trail still verifies.
func testMetaAuditRetentionSchedule(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	a := metaNewAccount(t, s)
	a.Settings.AuditRetentionDays = 30
	metaMust(t, s.UpdateAccount(ctx, &a))
	acct := a.ID
	clock := &lockedClock{t: metaT0.Add(60 * 24 * time.Hour)}
	metaAppend(t, s, acct, 5, clock.Now().Add(-40*24*time.Hour))
	metaAppend(t, s, acct, 3, clock.Now().Add(-10*24*time.Hour))
	blobs, err := blobfs.New(t.TempDir())
	metaMust(t, err)
	svc, err := audit.New(audit.Options{Store: s, Key: AuditKey, Signer: auditSigner,
		Checkpoints: audit.NewCheckpoints(blobs, 0), Clock: clock, SchedulePoll: 2 * time.Millisecond})
	metaMust(t, err)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); svc.Run(rctx, time.Hour, 24*time.Hour) }()
	defer func() { cancel(); <-done }()
	records := func() int {
		return len(metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{})))
	}
	time.Sleep(50 * time.Millisecond) // the first look starts the interval
	for _, st := range []struct {
		step time.Duration
		want int
	}{
		{23 * time.Hour, 8},
		{-30 * time.Hour, 8}, // back, before the last look: not early
		{23 * time.Hour, 8},  // 23h since the step back
		{2 * time.Hour, 3},   // a day since the step back: due
	} {
		clock.step(st.step)
		if st.want == 8 {
			// Not due: give a wrong run every chance to happen.
			time.Sleep(150 * time.Millisecond)
		}
		for deadline := time.Now().Add(10 * time.Second); records() != st.want && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		if got := records(); got != st.want {
			t.Fatalf("after a step of %s to %s: %d records, want %d", st.step, clock.Now(), got, st.want)
		}
	}
	rep, err := svc.Verify(ctx, acct)
	metaMust(t, err)
	if !rep.OK || rep.LastSeq != 8 {
		t.Fatalf("Verify after scheduled retention = %+v, want OK to seq 8", rep)
	}
}

// testMetaAuditCutover: a trail of unkeyed SHA-256 records, as stores kept
// before keyed chains, gets a signed cut-over checkpoint at first start;
// it then verifies, new records continue it with MACs, and a change to an
// old record is still detected.
func testMetaAuditCutover(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	dber, ok := s.(DBer)
	if !ok {
		t.Skip("store does not expose its database")
	}
	acct := metaNewAccount(t, s).ID
	prev := ""
	for i := int64(1); i <= 3; i++ {
		r := holdfast.AuditRecord{AccountID: acct, Seq: i, Time: metaMicro(metaAt(time.Duration(i) * time.Second)),
			Action: "user.update", Outcome: holdfast.OutcomeSuccess, PrevHash: prev}
		r.Hash = r.ComputeHash()
		_, err := dber.DB().ExecContext(ctx, `INSERT INTO audit (account_id, seq, at, actor_id, actor_email, action,
			resource_type, resource_id, decision_id, outcome, detail, request_id, prev_hash, hash)
			VALUES ('`+acct+`', `+fmt.Sprint(i)+`, `+fmt.Sprint(r.Time.UnixMicro())+`, '', '', 'user.update', '', '', '',
			'success', NULL, '', '`+prev+`', '`+r.Hash+`')`)
		metaMust(t, err)
		prev = r.Hash
	}
	now := metaT0
	svc := metaAuditService(t, s, &now)
	rep, err := svc.Verify(ctx, acct)
	metaMust(t, err)
	metaWantBreak(t, rep, 1, "MAC does not match")

	metaMust(t, svc.Migrate(ctx))
	metaAppend(t, s, acct, 2, metaT0.Add(time.Hour))
	rep, err = svc.Verify(ctx, acct)
	metaMust(t, err)
	if !rep.OK || rep.Records != 5 {
		t.Fatalf("Verify after the cut-over = %+v, want OK with 5 records", rep)
	}
	// The cut-over happens once: a later Migrate adds nothing.
	metaMust(t, svc.Migrate(ctx))

	metaTamper(t, s, "UPDATE audit SET action = 'tampered'"+metaWhere(acct)+" AND seq = 2")
	rep, err = svc.Verify(ctx, acct)
	metaMust(t, err)
	metaWantBreak(t, rep, 2, "MAC does not match")
	// Re-chaining the old records, which needs no key, breaks the cut-over
	// checkpoint's MAC.
	recs := metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{Limit: 3}))
	for i := 1; i < 3; i++ {
		recs[i].PrevHash = recs[i-1].Hash
		recs[i].Hash = recs[i].ComputeHash()
		metaTamper(t, s, fmt.Sprintf("UPDATE audit SET prev_hash = '%s', hash = '%s'%s AND seq = %d",
			recs[i].PrevHash, recs[i].Hash, metaWhere(acct), recs[i].Seq))
	}
	rep, err = svc.Verify(ctx, acct)
	metaMust(t, err)
	metaWantBreak(t, rep, 3, "differs from the checkpoint")
}
