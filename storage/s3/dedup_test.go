package s3_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// heldUsers is a hold checker holding a fixed set of users.
type heldUsers []string

func (h heldUsers) HoldsFor(_ context.Context, _, user string) ([]holdfast.LegalHold, error) {
	if slices.Contains(h, user) {
		return []holdfast.LegalHold{{ID: "h1", Name: "Litigation"}}, nil
	}
	return nil, nil
}

// TestDedupStoreOnMinIO runs the dedup store on a bucket with object lock:
// backup, restore and check work, and compaction gives the packs of a held
// user Object Lock retention and leaves the others unlocked.
func TestDedupStoreOnMinIO(t *testing.T) {
	srv := testServer(t)
	if srv.locked == "" {
		t.Skip("no locked bucket: set HOLDFAST_TEST_S3_LOCKED_BUCKET or S3_LOCKED_BUCKET")
	}
	blobs := open(t, srv, srv.locked)
	ctx := context.Background()
	s, err := storage.Open(ctx, blobs, storage.Options{MasterKey: storage.GenerateMasterKey(), LockFor: 5 * time.Second, PruneGrace: -1})
	if err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{}
	for _, user := range []string{"custodian", "free"} {
		b := make([]byte, 2<<20+int(len(user)))
		rand.NewChaCha8([32]byte{byte(len(user))}).Read(b)
		data[user] = b
		key, err := s.ChunkerKey(ctx, "acct")
		if err != nil {
			t.Fatal(err)
		}
		c := storage.NewChunker(key)
		it := storage.Item{Path: user + ".bin", Size: int64(len(b))}
		if err := c.Split(bytes.NewReader(b), func(ref holdfast.ChunkRef, chunk []byte) error {
			it.Chunks = append(it.Chunks, ref)
			return s.PutChunk(ctx, "acct", ref, chunk)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CommitSnapshot(ctx, storage.Snapshot{AccountID: "acct", UserID: user, Source: storage.SourceDevice, Device: "laptop", Items: []storage.Item{it}}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Prune(ctx, heldUsers{"custodian"})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksLocked == 0 {
		t.Errorf("Prune locked no pack of the held user: %+v", res)
	}
	locked := 0
	_ = blobs.List(ctx, "packs/", func(name string, _ int64) error {
		if until, err := blobs.Retention(ctx, name); err == nil && until.After(time.Now()) {
			locked++
		}
		return nil
	})
	if locked != res.PacksLocked {
		t.Errorf("%d packs carry retention, Prune reports %d", locked, res.PacksLocked)
	}
	snaps, err := s.Snapshots(ctx, storage.SnapshotFilter{AccountID: "acct"})
	if err != nil || len(snaps) != 2 {
		t.Fatalf("Snapshots = %d, %v", len(snaps), err)
	}
	for _, sn := range snaps {
		r, err := s.OpenItem(ctx, "acct", sn.ID, sn.UserID+".bin")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data[sn.UserID]) {
			t.Errorf("%s: restored %d bytes, want %d (%v)", sn.UserID, len(got), len(data[sn.UserID]), err)
		}
	}
	rep, err := s.Check(ctx, true)
	if err != nil || !rep.OK() {
		t.Errorf("Check = %v, %v", rep.Problems, err)
	}
	if !strings.HasPrefix(snaps[0].ID, "2") {
		t.Errorf("snapshot id %q", snaps[0].ID)
	}
	// Let the short retention lapse so the cleanup can delete.
	time.Sleep(time.Until(time.Now().Add(5 * time.Second)))
}
