package storage_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/sqlite"
)

// Two Stores on one BlobStore and one shared chunk index stand for two
// replicas of serve on one bucket and one database.

// sharedIndex returns a chunk index in an SQLite database of the test's
// own.
func sharedIndex(tb testing.TB) holdfast.ChunkIndex {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), tb.TempDir()+"/meta.db")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// twoReplicas opens two Stores with opts on one new BlobStore and, unless
// opts has one, one new shared index.
func twoReplicas(tb testing.TB, opts storage.Options) (*storage.Store, *storage.Store) {
	tb.Helper()
	if opts.Index == nil {
		opts.Index = sharedIndex(tb)
	}
	blobs := newBlobs(tb)
	return openStore(tb, blobs, opts), openStore(tb, blobs, opts)
}

// TestReplicasDedupAtOnce: a chunk one replica stored is present for the
// other at once, though the other loaded the account before: a backup of
// the same files through it uploads nothing.
func TestReplicasDedupAtOnce(t *testing.T) {
	a, b := twoReplicas(t, storage.Options{})
	backup(t, a, acct, "u0", files{"seed": genData(9, 1000, true)})
	backup(t, b, acct, "u0", files{"seed": genData(9, 1000, true)}) // b loads the account now
	fl := corpus(1)
	if _, n := backup(t, a, acct, "u1", fl); n == 0 {
		t.Fatal("the first backup uploaded nothing")
	}
	snap, n := backup(t, b, acct, "u2", fl)
	if n != 0 {
		t.Errorf("a backup through the other replica uploaded %d chunks, want 0 (dedup across replicas is immediate)", n)
	}
	sameFiles(t, "restored through the other replica", restore(t, b, acct, snap.ID), fl)
	mustCheck(t, b)
}

// TestReplicaRoundRobin: a client whose calls alternate between replicas
// (asks A, uploads to B, commits on A) never gets a commit refused.
func TestReplicaRoundRobin(t *testing.T) {
	a, b := twoReplicas(t, storage.Options{})
	stores := []*storage.Store{a, b}
	ctx := t.Context()
	for round := range 4 {
		fl := corpus(uint64(round % 2)) // every other round repeats data
		items, chunks := cutFiles(t, stores[0], fl)
		refs := slices.Collect(maps.Keys(chunks))
		missing, err := stores[round%2].MissingChunks(ctx, acct, refs)
		if err != nil {
			t.Fatal(err)
		}
		if round >= 2 && len(missing) != 0 {
			t.Errorf("round %d: %d chunks missing, want 0: the other replica stored them all", round, len(missing))
		}
		if err := putParallel(ctx, stores[(round+1)%2], acct, missing, chunks); err != nil {
			t.Fatal(err)
		}
		snap, err := stores[round%2].CommitSnapshot(ctx, storage.Snapshot{AccountID: acct, UserID: "u1", Source: storage.SourceDevice, Device: "laptop", Items: items})
		if err != nil {
			t.Fatalf("round %d: commit = %v", round, err)
		}
		sameFiles(t, "restored", restore(t, stores[(round+1)%2], acct, snap.ID), fl)
	}
}

// TestMissingChunksCountsOnlyDurable: a chunk a replica accepted but has
// not yet written is missing, so when that replica dies before writing it
// (kill -9), a client that asked it and commits through the other replica
// has uploaded the chunk there, and the commit is not refused.
func TestMissingChunksCountsOnlyDurable(t *testing.T) {
	a, b := twoReplicas(t, storage.Options{})
	ctx := t.Context()
	fl := files{"f": genData(3, 300<<10, false)}
	backup(t, a, acct, "u0", files{"seed": genData(9, 1000, true)})
	items, chunks := cutFiles(t, a, fl)
	refs := slices.Collect(maps.Keys(chunks))

	// Another client's upload of the same data is in A's pack write when
	// A dies.
	writing, die := make(chan struct{}), make(chan struct{})
	storage.SetCrashHook(a, func(p string) error {
		if p == "flush.pack-written" {
			close(writing)
			<-die
			return errors.New("killed")
		}
		return nil
	})
	uploaded := make(chan error, 1)
	go func() { uploaded <- putParallel(context.Background(), a, acct, refs, chunks) }()
	<-writing
	missing, err := a.MissingChunks(ctx, acct, refs)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != len(refs) {
		t.Errorf("MissingChunks during the pack write = %d of %d chunks missing, want all: none is durable yet", len(missing), len(refs))
	}
	close(die)
	if err := <-uploaded; err == nil {
		t.Error("the upload into the pack that died was acknowledged")
	}
	if err := putParallel(ctx, b, acct, missing, chunks); err != nil {
		t.Fatal(err)
	}
	snap, err := b.CommitSnapshot(ctx, storage.Snapshot{AccountID: acct, UserID: "u1", Source: storage.SourceDevice, Device: "laptop", Items: items})
	if err != nil {
		t.Fatalf("commit through the other replica = %v, want success", err)
	}
	sameFiles(t, "restored", restore(t, b, acct, snap.ID), fl)
	mustCheck(t, b)
}

// cutFiles cuts fl with the account's chunker as a client does.
func cutFiles(tb testing.TB, s *storage.Store, fl files) ([]storage.Item, map[holdfast.ChunkRef][]byte) {
	tb.Helper()
	key, err := s.ChunkerKey(context.Background(), acct)
	if err != nil {
		tb.Fatal(err)
	}
	c := storage.NewChunker(key)
	chunks := map[holdfast.ChunkRef][]byte{}
	var items []storage.Item
	for _, path := range slices.Sorted(maps.Keys(fl)) {
		it := storage.Item{Path: path, Size: int64(len(fl[path]))}
		if err := c.Split(bytesReader(fl[path]), func(ref holdfast.ChunkRef, data []byte) error {
			it.Chunks = append(it.Chunks, ref)
			chunks[ref] = append([]byte(nil), data...)
			return nil
		}); err != nil {
			tb.Fatal(err)
		}
		items = append(items, it)
	}
	return items, chunks
}

// TestPruneKeepsSharedIndexInStep: after a Prune drops the chunks of
// forgotten snapshots and merges the packs of the rest, the shared index names every
// live chunk and none of the dropped ones, so the other replica reports
// exactly the dropped ones missing.
func TestPruneKeepsSharedIndexInStep(t *testing.T) {
	index := sharedIndex(t)
	a, b := twoReplicas(t, storage.Options{Index: index, PruneGrace: -1, PinFor: -1})
	ctx := t.Context()
	keep := files{"k1": genData(1, 400<<10, false), "k2": genData(3, 400<<10, false), "k3": genData(4, 400<<10, false)}
	drop := files{"drop": genData(2, 400<<10, false)}
	// A pack each; the last snapshot keeps k1 to k3, whose small packs
	// Prune merges into a new one.
	backup(t, a, acct, "u1", files{"k1": keep["k1"], "drop": drop["drop"]})
	backup(t, a, acct, "u1", files{"k2": keep["k2"]})
	backup(t, a, acct, "u1", files{"k3": keep["k3"]})
	backup(t, a, acct, "u1", keep)
	_, keepChunks := cutFiles(t, a, keep)
	_, dropChunks := cutFiles(t, a, drop)
	keepRefs, dropRefs := slices.Collect(maps.Keys(keepChunks)), slices.Collect(maps.Keys(dropChunks))
	b.MissingChunks(ctx, acct, keepRefs) // b loads the account before the Prune
	if _, err := a.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 1}, &holdSet{}); err != nil {
		t.Fatal(err)
	}
	res, err := a.Prune(ctx, &holdSet{})
	if err != nil || res.ChunksRemoved == 0 || res.PacksWritten == 0 {
		t.Fatalf("Prune = %+v, %v; want chunks removed and a pack rewritten", res, err)
	}
	if have, err := index.HaveChunks(ctx, acct, append(slices.Clone(keepRefs), dropRefs...)); err != nil || len(have) != len(keepRefs) {
		t.Errorf("shared index after Prune holds %d chunks (%v), want the %d live ones", len(have), err, len(keepRefs))
	}
	missing, err := b.MissingChunks(ctx, acct, append(slices.Clone(keepRefs), dropRefs...))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(missing, dropRefs) {
		t.Errorf("the other replica reports %d missing, want the %d dropped", len(missing), len(dropRefs))
	}
	mustCheck(t, b)
}

// TestSharedIndexLearnsOlderChunks: chunks stored before the store had a
// shared index are recorded in it when a process loads the account, so
// they are present for every replica without being uploaded again; one
// the shared index still lacks (its pack escaped that) is recorded where
// it is when a client uploads it, not stored again.
func TestSharedIndexLearnsOlderChunks(t *testing.T) {
	blobs := newBlobs(t)
	fl := corpus(5)
	backup(t, openStore(t, blobs, storage.Options{}), acct, "u1", fl)
	_, chunks := cutFiles(t, openStore(t, blobs, storage.Options{}), fl)
	refs := slices.Collect(maps.Keys(chunks))
	index := sharedIndex(t)
	opts := storage.Options{Index: index}
	if _, n := backup(t, openStore(t, blobs, opts), acct, "u1", fl); n != 0 {
		t.Errorf("a backup through a store that just loaded the account uploaded %d chunks, want 0", n)
	}
	if have, err := index.HaveChunks(t.Context(), acct, refs); err != nil || len(have) != len(refs) {
		t.Errorf("shared index holds %d of %d chunks (%v), want all", len(have), len(refs), err)
	}

	// The shared index loses the packs' rows after a process loaded the
	// account (as when the process that wrote them died first).
	ctx := t.Context()
	s := openStore(t, blobs, opts)
	if _, err := s.MissingChunks(ctx, acct, refs); err != nil {
		t.Fatal(err)
	}
	packs := countBlobs(t, blobs, "packs/")
	var ids []string
	_ = blobs.List(ctx, "packs/"+acct+"/", func(name string, _ int64) error {
		ids = append(ids, name[strings.LastIndexByte(name, '/')+1:])
		return nil
	})
	if err := index.DropPacks(ctx, acct, ids); err != nil {
		t.Fatal(err)
	}
	if _, n := backup(t, s, acct, "u1", fl); n == 0 {
		t.Error("chunks the shared index lacks were reported present")
	}
	if got := countBlobs(t, blobs, "packs/"); got > packs+1 {
		t.Errorf("%d packs after uploading known chunks, had %d: they were stored again", got, packs)
	}
	if _, n := backup(t, s, acct, "u1", fl); n != 0 {
		t.Errorf("the next backup uploaded %d chunks, want 0: the uploads recorded them", n)
	}
}

// TestCommitWithTimeIsIdempotent: a commit sent again (its answer was
// lost, to this replica or another) returns the first snapshot and
// stores no second one; a different time or different items is a new
// snapshot.
func TestCommitWithTimeIsIdempotent(t *testing.T) {
	a, b := twoReplicas(t, storage.Options{})
	ctx := t.Context()
	fl := corpus(2)
	items, chunks := cutFiles(t, a, fl)
	if err := putParallel(ctx, a, acct, slices.Collect(maps.Keys(chunks)), chunks); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 18, 0, 0, 123456789, time.UTC)
	snap := storage.Snapshot{AccountID: acct, UserID: "u1", Source: storage.SourceDevice, Device: "laptop", Time: at, Items: items}
	first, err := a.CommitSnapshot(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.CommitSnapshot(ctx, snap)
	if err != nil || again.ID != first.ID {
		t.Errorf("the same commit again through the other replica = %s, %v; want the first snapshot %s", again.ID, err, first.ID)
	}
	later := snap
	later.Time = at.Add(time.Second)
	other, err := a.CommitSnapshot(ctx, later)
	if err != nil || other.ID == first.ID {
		t.Errorf("a commit at another time = %s, %v; want a new snapshot", other.ID, err)
	}
	list, err := b.Snapshots(ctx, storage.SnapshotFilter{AccountID: acct})
	if err != nil || len(list) != 2 {
		t.Errorf("Snapshots = %d, %v; want 2", len(list), err)
	}
}

// TestAccountKeysHalfCreatedElsewhere: another replica has written the
// account's chunker key but not yet its data key (its creation is in
// progress, or it died there). This replica neither fails nor replaces the
// chunker key: the account has no data yet, and its first write completes
// the keys.
func TestAccountKeysHalfCreatedElsewhere(t *testing.T) {
	blobs := newBlobs(t)
	ctx := t.Context()
	key, err := openStore(t, blobs, storage.Options{}).ChunkerKey(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Delete(ctx, "keys/"+acct+"/data-00000001"); err != nil {
		t.Fatal(err)
	}
	s := openStore(t, blobs, storage.Options{Index: sharedIndex(t)})
	if missing, err := s.MissingChunks(ctx, acct, []holdfast.ChunkRef{{1}}); err != nil || len(missing) != 1 {
		t.Errorf("MissingChunks = %v, %v; want the chunk missing", missing, err)
	}
	got, err := s.ChunkerKey(ctx, acct)
	if err != nil || got != key {
		t.Fatalf("ChunkerKey = %v; want the chunker key already written", err)
	}
	fl := corpus(3)
	snap, _ := backup(t, s, acct, "u1", fl)
	sameFiles(t, "restored", restore(t, openStore(t, blobs, storage.Options{}), acct, snap.ID), fl)
}

// TestKeyRotatedByAnotherReplica: one replica rotates the account's data
// key and stores data under it; the other, which loaded the keys before,
// finds that data present, reads it, prunes it and checks it clean.
func TestKeyRotatedByAnotherReplica(t *testing.T) {
	a, b := twoReplicas(t, storage.Options{PruneGrace: -1, PinFor: -1})
	ctx := t.Context()
	backup(t, b, acct, "u0", files{"seed": genData(9, 1000, true)}) // b loads the keys
	if _, err := a.RotateKey(ctx, acct); err != nil {
		t.Fatal(err)
	}
	fl := corpus(4)
	snap, _ := backup(t, a, acct, "u1", fl)
	if _, n := backup(t, b, acct, "u2", fl); n != 0 {
		t.Errorf("the other replica uploaded %d chunks stored under the new key, want 0", n)
	}
	sameFiles(t, "restored through the other replica", restore(t, b, acct, snap.ID), fl)
	if _, err := b.Forget(ctx, storage.SnapshotFilter{AccountID: acct, UserID: "u0"}, holdfast.Retention{KeepLast: 1}, &holdSet{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Prune(ctx, &holdSet{}); err != nil {
		t.Errorf("Prune on the other replica = %v", err)
	}
	mustCheck(t, b)
}
