package storage_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// faultyBlobs is a BlobStore whose Put fails with fail while it is set,
// and takes delay when it succeeds, counting the packs it stored.
type faultyBlobs struct {
	holdfast.BlobStore
	fail  atomic.Pointer[error]
	delay time.Duration
	packs atomic.Int32
}

func (f *faultyBlobs) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if p := f.fail.Load(); p != nil {
		return *p
	}
	time.Sleep(f.delay)
	if err := f.BlobStore.Put(ctx, name, r, size); err != nil {
		return err
	}
	if len(name) > 6 && name[:6] == "packs/" {
		f.packs.Add(1)
	}
	return nil
}

// smallChunk returns distinct plaintext i and its ref under account's key.
func smallChunk(tb testing.TB, s *storage.Store, account string, i int) (holdfast.ChunkRef, []byte) {
	tb.Helper()
	key, err := s.ChunkerKey(context.Background(), account)
	if err != nil {
		tb.Fatal(err)
	}
	data := []byte(fmt.Sprintf("chunk %d of a durability test", i))
	return storage.NewChunker(key).Ref(data), data
}

// TestPutChunkAcknowledgesOnlyDurable: an upload PutChunk answered is in
// the BlobStore already (a store opened afresh on the same blobs, as after
// a crash, has it), and one whose pack cannot be written is answered with
// the write's error, not acknowledged.
func TestPutChunkAcknowledgesOnlyDurable(t *testing.T) {
	ctx := context.Background()
	blobs := &faultyBlobs{BlobStore: newBlobs(t)}
	s := openStore(t, blobs, storage.Options{})
	ref, data := smallChunk(t, s, acct, 1)
	if err := s.PutChunk(ctx, acct, ref, data); err != nil {
		t.Fatal(err)
	}
	// No Flush, no Close: what was acknowledged must survive as is.
	after := openStore(t, blobs, storage.Options{})
	if missing, err := after.MissingChunks(ctx, acct, []holdfast.ChunkRef{ref}); err != nil || len(missing) != 0 {
		t.Fatalf("after an acknowledged upload, a fresh store misses %v (%v): the chunk was not durable", missing, err)
	}

	for i, fault := range []error{
		holdfast.NoSpace("blob store", syscall.ENOSPC),
		holdfast.Unavailable("object store", errors.New("connection refused")),
	} {
		blobs.fail.Store(&fault)
		ref, data := smallChunk(t, s, acct, 2+i)
		err := s.PutChunk(ctx, acct, ref, data)
		var dep *holdfast.DependencyError
		if !errors.As(err, &dep) || !errors.Is(err, dep.Kind) || dep.Kind != fault.(*holdfast.DependencyError).Kind {
			t.Errorf("PutChunk while the blob store fails with %v = %v, want that failure", fault, err)
		}
		if missing, _ := s.MissingChunks(ctx, acct, []holdfast.ChunkRef{ref}); len(missing) != 1 {
			t.Errorf("a chunk whose write failed is not reported missing: %v", missing)
		}
		blobs.fail.Store(nil)
		if err := s.PutChunk(ctx, acct, ref, data); err != nil {
			t.Errorf("PutChunk once the blob store is back = %v", err)
		}
	}
}

// TestPutChunkGroupCommit: uploads that arrive while a pack is being
// written share the next pack, so waiting for durability does not cost
// one pack write per chunk.
func TestPutChunkGroupCommit(t *testing.T) {
	ctx := context.Background()
	blobs := &faultyBlobs{BlobStore: newBlobs(t), delay: 50 * time.Millisecond}
	s := openStore(t, blobs, storage.Options{})
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		ref, data := smallChunk(t, s, acct, i)
		wg.Go(func() { errs <- s.PutChunk(ctx, acct, ref, data) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := blobs.packs.Load(); got > n/4 {
		t.Errorf("%d concurrent uploads wrote %d packs, want them grouped into a few", n, got)
	}
}
