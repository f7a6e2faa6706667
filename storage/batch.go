package storage

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/holdfast/holdfast"
)

// Chunk is one chunk of a batch upload: its ref and plaintext.
type Chunk struct {
	Ref  holdfast.ChunkRef
	Data []byte
}

// PutChunks stores a batch of chunks as PutChunk stores one, and returns
// once every one of them is durable (or with the first error): a client
// with many small files uploads them in one request, and the chunks share
// packs with each other and with other uploads arriving meanwhile. Every
// chunk is checked (size, and that it hashes to its ref) before any is
// stored: one bad chunk refuses the batch with ErrInvalid naming its
// index, and nothing of it is stored. Hashing and sealing run on up to
// GOMAXPROCS goroutines. PutChunks keeps no reference to the chunks' data
// after it returns.
func (s *Store) PutChunks(ctx context.Context, account string, chunks []Chunk) error {
	for i, c := range chunks {
		if len(c.Data) == 0 || len(c.Data) > MaxChunk {
			return fmt.Errorf("storage: %w: chunk %d (%s): %d bytes, want 1 to %d", holdfast.ErrInvalid, i, c.Ref, len(c.Data), MaxChunk)
		}
	}
	a, err := s.account(ctx, account, true)
	if err != nil {
		return err
	}
	keys := a.getKeys()
	if err := eachChunk(chunks, func(i int, c Chunk) error {
		if got := keys.chunker.Ref(c.Data); got != c.Ref {
			return fmt.Errorf("storage: %w: chunk %d: data hashes to %s, not %s", holdfast.ErrInvalid, i, got, c.Ref)
		}
		return nil
	}); err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		builders = map[*packBuilder]bool{}
	)
	err = eachChunk(chunks, func(_ int, c Chunk) error {
		b, err := s.acceptChunk(ctx, a, c.Ref, c.Data)
		if b != nil {
			mu.Lock()
			builders[b] = true
			mu.Unlock()
		}
		return err
	})
	// Wait for every pack that holds a chunk accepted, also after an
	// error: the caller may reuse the data once PutChunks returns.
	for b := range builders {
		if werr := b.wait(ctx); err == nil {
			err = werr
		}
	}
	return err
}

// eachChunk calls fn for every chunk on up to GOMAXPROCS goroutines and
// returns the first error; after an error the chunks not yet started are
// skipped.
func eachChunk(chunks []Chunk, fn func(i int, c Chunk) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || i >= len(chunks)
				mu.Unlock()
				if stop {
					return
				}
				if err := fn(i, chunks[i]); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}
