package storage_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// Two Stores on one BlobStore stand for two processes (replicas of serve
// on one bucket).

func TestPruneLeaseKeepsTwoProcessesApart(t *testing.T) {
	blobs := newBlobs(t)
	clock := time.Now()
	opts := storage.Options{PruneGrace: time.Hour, PinFor: -1, Clock: clockFunc(func() time.Time { return clock })}
	a := openStore(t, blobs, opts)
	b := openStore(t, blobs, opts)
	backup(t, a, acct, "u1", files{"f": genData(1, 300<<10, false)})
	backup(t, a, acct, "u1", files{"g": genData(2, 300<<10, false)})
	if _, err := a.Forget(context.Background(), storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 1}, &holdSet{}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Hour) // the packs are past the grace
	var bRes storage.PruneResult
	var bErr error
	ran := false
	storage.SetCrashHook(a, func(p string) error {
		if p == "prune.packs-written" && !ran {
			ran = true
			bRes, bErr = b.Prune(context.Background(), &holdSet{})
		}
		return nil
	})
	res, err := a.Prune(context.Background(), &holdSet{})
	if err != nil || res.PacksDeleted == 0 || !ran {
		t.Fatalf("A's Prune = %+v, %v (hook ran: %v)", res, err, ran)
	}
	if bErr != nil || bRes.Busy != 1 || bRes.PacksDeleted != 0 {
		t.Errorf("B's Prune during A's = %+v, %v; want the account skipped as busy", bRes, bErr)
	}
	// Released: B may prune now.
	if res, err := b.Prune(context.Background(), &holdSet{}); err != nil || res.Busy != 0 {
		t.Errorf("B's Prune after A's = %+v, %v", res, err)
	}
	mustCheck(t, openStore(t, blobs, opts))
}

func TestPruneLeavesAnotherProcessesPacksAlone(t *testing.T) {
	blobs := newBlobs(t)
	clock := time.Now()
	var mu sync.Mutex
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	opts := storage.Options{PruneGrace: time.Hour, PinFor: -1, Clock: clockFunc(now)}
	a := openStore(t, blobs, opts)
	seed := files{"seed": genData(5, 1000, true)}
	backup(t, a, acct, "u1", seed) // the account exists for both
	b := openStore(t, blobs, opts)

	// A backs up after B loaded the account: B knows none of A's new packs.
	fl := files{"f": genData(2, 600<<10, false), "g": genData(3, 400<<10, true)}
	snap, _ := backup(t, a, acct, "u2", fl)
	// And A dies between a pack and its index: an orphan for now.
	storage.SetCrashHook(a, func(p string) error {
		if p == "flush.pack-written" {
			return errors.New("killed")
		}
		return nil
	})
	_, _, _ = tryBackup(context.Background(), a, acct, "u3", "laptop", files{"h": genData(4, 300<<10, false)})

	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	advance(2 * time.Hour) // A's packs are past the grace too
	res, err := b.Prune(context.Background(), &holdSet{})
	if err != nil {
		t.Fatal(err)
	}
	if res.OrphansDeleted != 0 {
		t.Errorf("first Prune deleted %d orphans; an unindexed pack must wait out the grace", res.OrphansDeleted)
	}
	sameFiles(t, "A's snapshot after B's Prune", restore(t, openStore(t, blobs, opts), acct, snap.ID), fl)
	advance(2 * time.Hour)
	res, err = b.Prune(context.Background(), &holdSet{})
	if err != nil || res.OrphansDeleted != 1 {
		t.Errorf("Prune after the grace = %+v, %v; want the one orphan deleted", res, err)
	}
	rep := mustCheck(t, openStore(t, blobs, opts))
	if len(rep.Orphans) != 0 {
		t.Errorf("orphans left: %v", rep.Orphans)
	}
	sameFiles(t, "A's snapshot at the end", restore(t, openStore(t, blobs, opts), acct, snap.ID), fl)
}

func TestReaderFollowsAnotherProcessesRewrite(t *testing.T) {
	blobs := newBlobs(t)
	opts := storage.Options{PruneGrace: -1, PinFor: -1}
	a := openStore(t, blobs, opts)
	var snaps []storage.Snapshot
	all := map[string]files{}
	for i := range 6 {
		fl := files{"f": genData(uint64(10+i), 100<<10, false)}
		sn, _ := backup(t, a, acct, "u1", fl)
		snaps = append(snaps, sn)
		all[sn.ID] = fl
	}
	// B prunes: the small packs (one per commit) are merged into new ones
	// that A has never seen.
	b := openStore(t, blobs, opts)
	res, err := b.Prune(context.Background(), &holdSet{})
	if err != nil || res.PacksWritten == 0 {
		t.Fatalf("B's Prune = %+v, %v; want packs rewritten", res, err)
	}
	for _, sn := range snaps {
		sameFiles(t, "A reads after B's rewrite", restore(t, a, acct, sn.ID), all[sn.ID])
	}
}

// deadChunk sets up a store whose only data chunks belong to a forgotten
// snapshot: refs are dead, and a Prune drops their packs. It returns the
// file, its item and the refs.
func deadChunk(t *testing.T, s *storage.Store) (files, storage.Item) {
	t.Helper()
	ctx := context.Background()
	fl := files{"f": genData(77, 200<<10, false)}
	key, err := s.ChunkerKey(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	c := storage.NewChunker(key)
	it := storage.Item{Path: "f", Size: int64(len(fl["f"]))}
	if err := c.Split(bytesReader(fl["f"]), func(ref holdfast.ChunkRef, data []byte) error {
		it.Chunks = append(it.Chunks, ref)
		return s.PutChunk(ctx, acct, ref, data)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitSnapshot(ctx, storage.Snapshot{AccountID: acct, UserID: "old", Source: storage.SourceDevice, Device: "laptop", Items: []storage.Item{it}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitSnapshot(ctx, storage.Snapshot{AccountID: acct, UserID: "old", Source: storage.SourceDevice, Device: "laptop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 1}, &holdSet{}); err != nil {
		t.Fatal(err)
	}
	return fl, it
}

func commitItem(s *storage.Store, it storage.Item) (storage.Snapshot, error) {
	return s.CommitSnapshot(context.Background(), storage.Snapshot{AccountID: acct, UserID: "new", Source: storage.SourceDevice, Device: "laptop", Items: []storage.Item{it}})
}

// An unreferenced chunk that process A reports present while process B
// compacts it away: A's commit must not store a snapshot naming a lost
// chunk, in each way the two can interleave.
func TestCommitInOneProcessPruneInAnother(t *testing.T) {
	ctx := context.Background()
	opts := storage.Options{PruneGrace: -1, PinFor: -1}
	setup := func(t *testing.T) (*fs.Store, *storage.Store, *storage.Store, files, storage.Item) {
		blobs := newBlobs(t)
		a := openStore(t, blobs, opts)
		fl, it := deadChunk(t, a)
		b := openStore(t, blobs, opts)
		if missing, err := a.MissingChunks(ctx, acct, it.Chunks); err != nil || len(missing) != 0 {
			t.Fatalf("A: MissingChunks = %v, %v; want all present", missing, err)
		}
		return blobs, a, b, fl, it
	}
	var me *storage.MissingChunksError
	finish := func(t *testing.T, blobs *fs.Store, a *storage.Store, fl files, it storage.Item) {
		t.Helper()
		// The client uploads what the refusal names and commits again.
		if errors.As(func() error { _, err := commitItem(a, it); return err }(), &me) {
			for _, r := range me.Refs {
				if err := a.PutChunk(ctx, acct, r, chunkOf(t, a, fl["f"], r)); err != nil {
					t.Fatal(err)
				}
			}
		}
		sn, err := commitItem(a, it)
		if err != nil {
			t.Fatalf("commit after upload: %v", err)
		}
		s := openStore(t, blobs, opts)
		mustCheck(t, s)
		sameFiles(t, "the new snapshot", restore(t, s, acct, sn.ID), fl)
	}

	t.Run("whole prune between the check and the commit", func(t *testing.T) {
		blobs, a, b, fl, it := setup(t)
		if res, err := b.Prune(ctx, &holdSet{}); err != nil || res.ChunksRemoved == 0 {
			t.Fatalf("B: Prune = %+v, %v", res, err)
		}
		if _, err := commitItem(a, it); !errors.As(err, &me) {
			t.Fatalf("A: commit naming a compacted chunk = %v, want MissingChunksError", err)
		}
		finish(t, blobs, a, fl, it)
	})
	t.Run("commit while the prune deletes", func(t *testing.T) {
		blobs, a, b, fl, it := setup(t)
		done := make(chan error, 1)
		storage.SetCrashHook(b, func(p string) error {
			if p == "prune.index-written" {
				go func() { _, err := commitItem(a, it); done <- err }()
				time.Sleep(300 * time.Millisecond) // A is waiting on B's delete marker
			}
			return nil
		})
		if _, err := b.Prune(ctx, &holdSet{}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.As(err, &me) {
			t.Fatalf("A: commit during B's deletions = %v, want MissingChunksError", err)
		}
		finish(t, blobs, a, fl, it)
	})
	t.Run("commit lands before the prune's deletions", func(t *testing.T) {
		blobs, a, b, fl, it := setup(t)
		var sn storage.Snapshot
		storage.SetCrashHook(b, func(p string) error {
			if p == "prune.packs-written" {
				var err error
				if sn, err = commitItem(a, it); err != nil {
					t.Errorf("A: commit before B's deletions = %v", err)
				}
			}
			return nil
		})
		res, err := b.Prune(ctx, &holdSet{})
		if err != nil || res.Busy != 1 || res.ChunksRemoved != 0 {
			t.Fatalf("B: Prune = %+v, %v; want the run given up", res, err)
		}
		s := openStore(t, blobs, opts)
		mustCheck(t, s)
		sameFiles(t, "A's snapshot", restore(t, s, acct, sn.ID), fl)
		// The next run, with the snapshot known, keeps its chunks.
		if _, err := b.Prune(ctx, &holdSet{}); err != nil {
			t.Fatal(err)
		}
		s = openStore(t, blobs, opts)
		if rep := mustCheck(t, s); len(rep.Orphans) != 0 {
			t.Errorf("orphans: %v", rep.Orphans)
		}
		sameFiles(t, "A's snapshot after the next Prune", restore(t, s, acct, sn.ID), fl)
	})
}

// chunkOf returns the chunk ref of data as s's chunker cuts it.
func chunkOf(t *testing.T, s *storage.Store, data []byte, ref holdfast.ChunkRef) []byte {
	t.Helper()
	key, err := s.ChunkerKey(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	storage.NewChunker(key).Split(bytesReader(data), func(r holdfast.ChunkRef, chunk []byte) error {
		if r == ref {
			out = append([]byte(nil), chunk...)
		}
		return nil
	})
	if out == nil {
		t.Fatalf("no chunk %s", ref)
	}
	return out
}
