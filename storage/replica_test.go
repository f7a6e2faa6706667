package storage_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

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

// TestReplicasDedupAtOnce: a chunk one replica stored is present for the
// other at once, though the other loaded the account before: a backup of
// the same files through it uploads nothing.
func TestReplicasDedupAtOnce(t *testing.T) {
	blobs := newBlobs(t)
	opts := storage.Options{Index: sharedIndex(t)}
	a := openStore(t, blobs, opts)
	b := openStore(t, blobs, opts)
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
	blobs := newBlobs(t)
	opts := storage.Options{Index: sharedIndex(t)}
	stores := []*storage.Store{openStore(t, blobs, opts), openStore(t, blobs, opts)}
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
	blobs := newBlobs(t)
	opts := storage.Options{Index: sharedIndex(t)}
	a := openStore(t, blobs, opts)
	b := openStore(t, blobs, opts)
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
