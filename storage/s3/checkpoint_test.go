package s3_test

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// TestAuditCheckpoints: the audit service writes its signed checkpoints to
// an Object Lock bucket, locked, and reads them back to detect a trail
// whose newest records were deleted.
func TestAuditCheckpoints(t *testing.T) {
	srv := testServer(t)
	if srv.locked == "" {
		t.Skip("no locked bucket: set HOLDFAST_TEST_S3_LOCKED_BUCKET or S3_LOCKED_BUCKET")
	}
	ctx := context.Background()
	blobs := open(t, srv, srv.locked)
	key := []byte("s3 test audit key of 32 bytes!!!")
	meta, err := sqlite.Open(ctx, ":memory:", sqlstore.WithAuditKey(key))
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	acct := holdfast.Account{ID: "acct-s3", Name: "S3", Edition: holdfast.EditionEnterprise, Settings: holdfast.DefaultAccountSettings()}
	if err := meta.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := meta.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: acct.ID, Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	// Short GOVERNANCE retention, so the peer's data stays removable.
	svc, err := audit.New(audit.Options{Store: meta, Key: key, Signer: ed25519.NewKeyFromSeed(key),
		Checkpoints: audit.NewCheckpoints(blobs, 5*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Checkpoint(ctx, audit.ReasonShutdown); err != nil {
		t.Fatalf("Checkpoint to S3: %v", err)
	}
	var names []string
	if err := blobs.List(ctx, "audit/checkpoints/"+acct.ID+"/", func(n string, _ int64) error { names = append(names, n); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 || !strings.Contains(names[0], "00000000000000000004-") {
		t.Fatalf("checkpoint objects = %q, want one at seq 4", names)
	}
	if until, err := blobs.Retention(ctx, names[0]); err != nil || !until.After(time.Now()) {
		t.Errorf("checkpoint retention = %v, %v, want a lock in the future", until, err)
	}
	rep, err := svc.Verify(ctx, acct.ID)
	if err != nil || !rep.OK || rep.CheckpointSeq != 4 {
		t.Fatalf("Verify = %+v, %v, want OK against checkpoint seq 4", rep, err)
	}
	// Someone with bucket access deletes the checkpoint: on this
	// versioned bucket that adds a delete marker, which hides it from a
	// plain listing; the locked version stays, and the reader lists
	// versions.
	if err := blobs.Delete(ctx, names[0]); err != nil {
		t.Fatal(err)
	}
	if n := countBlobs(t, blobs, "audit/checkpoints/"); n != 0 {
		t.Fatalf("%d checkpoints listed after the delete, want the delete marker to hide it", n)
	}
	if rep, err := svc.Verify(ctx, acct.ID); err != nil || !rep.OK || rep.CheckpointSeq != 4 {
		t.Fatalf("Verify with the checkpoint behind a delete marker = %+v, %v, want it still found at seq 4", rep, err)
	}
	// Someone with database access removes the newest records.
	db := meta.DB()
	for _, q := range []string{"DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq > 2"} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rep, err = svc.Verify(ctx, acct.ID)
	if err != nil || rep.OK || rep.Break == nil || rep.Break.Seq != 3 || !strings.Contains(rep.Break.Reason, "missing tail") {
		t.Errorf("Verify after truncation = %+v, %v, want the missing tail from seq 3", rep, err)
	}
}

// countBlobs counts the blobs List shows under prefix.
func countBlobs(tb testing.TB, b holdfast.BlobStore, prefix string) int {
	tb.Helper()
	n := 0
	if err := b.List(context.Background(), prefix, func(string, int64) error { n++; return nil }); err != nil {
		tb.Fatal(err)
	}
	return n
}
