package storage_test

import (
	"context"
	"errors"
	"syscall"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// TestPutChunksAcknowledgesOnlyDurable: a batch upload returns once every
// chunk of it is durable (a fresh store has them all), a failed pack
// write fails the batch, and one chunk that does not hash to its ref
// refuses the whole batch before anything of it is stored.
func TestPutChunksAcknowledgesOnlyDurable(t *testing.T) {
	ctx := context.Background()
	blobs := &faultyBlobs{BlobStore: newBlobs(t)}
	s := openStore(t, blobs, storage.Options{})
	var batch []storage.Chunk
	var refs []holdfast.ChunkRef
	for i := range 50 {
		ref, data := smallChunk(t, s, acct, 100+i)
		batch = append(batch, storage.Chunk{Ref: ref, Data: data})
		refs = append(refs, ref)
	}
	if err := s.PutChunks(ctx, acct, batch); err != nil {
		t.Fatal(err)
	}
	after := openStore(t, blobs, storage.Options{})
	if missing, err := after.MissingChunks(ctx, acct, refs); err != nil || len(missing) != 0 {
		t.Fatalf("after an acknowledged batch, a fresh store misses %d chunks (%v)", len(missing), err)
	}

	var bad []storage.Chunk
	var badRefs []holdfast.ChunkRef
	for i := range 5 {
		ref, data := smallChunk(t, s, acct, 200+i)
		bad = append(bad, storage.Chunk{Ref: ref, Data: data})
		badRefs = append(badRefs, ref)
	}
	bad[3].Data = append([]byte("x"), bad[3].Data...)
	if err := s.PutChunks(ctx, acct, bad); !errors.Is(err, holdfast.ErrInvalid) {
		t.Fatalf("a batch with a chunk that does not hash to its ref = %v, want ErrInvalid", err)
	}
	if missing, _ := s.MissingChunks(ctx, acct, badRefs); len(missing) != len(badRefs) {
		t.Errorf("a refused batch stored %d of its chunks", len(badRefs)-len(missing))
	}

	fault := holdfast.NoSpace("blob store", syscall.ENOSPC)
	blobs.fail.Store(&fault)
	bad[3].Data = bad[3].Data[1:]
	if err := s.PutChunks(ctx, acct, bad); !errors.Is(err, holdfast.ErrNoSpace) {
		t.Errorf("PutChunks while the blob store is full = %v, want ErrNoSpace", err)
	}
	if missing, _ := s.MissingChunks(ctx, acct, badRefs); len(missing) != len(badRefs) {
		t.Errorf("chunks whose pack write failed are reported present: %d missing of %d", len(missing), len(badRefs))
	}
	blobs.fail.Store(nil)
	if err := s.PutChunks(ctx, acct, bad); err != nil {
		t.Errorf("PutChunks once the blob store is back = %v", err)
	}
}
