package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// Two Stores on one BlobStore stand for two processes (replicas of serve
// on one bucket).

func TestPruneLeaseKeepsTwoProcessesApart(t *testing.T) {
	blobs := newBlobs(t)
	clock := time.Now()
	opts := storage.Options{PruneGrace: time.Hour, PinFor: -1, Now: func() time.Time { return clock }}
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
	opts := storage.Options{PruneGrace: time.Hour, PinFor: -1, Now: now}
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
