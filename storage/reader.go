package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
)

// ItemReader streams one item's content, decrypting a chunk at a time; it
// never copies the item to a temporary file. Seek makes it serve HTTP Range
// requests (http.ServeContent). Read and Seek are not safe for concurrent
// use; ReadAt is, and does not move the Read position.
type ItemReader struct {
	s    *Store
	a    *account
	item Item
	// ctx is OpenItem's: io.Reader has no context parameter, and the reads
	// belong to the request that opened the item.
	ctx    context.Context
	starts []int64 // starts[i] is the offset of chunk i; starts[len] = Size
	pos    int64
	cur    int    // index of the chunk in data, -1 for none
	data   []byte // plaintext of chunk cur; may lie inside buf
	// buf is Read's buffer for sealed chunks, reused from chunk to chunk:
	// a sequential read allocates no buffer per chunk. Only Read uses it
	// (io.Reader calls are not concurrent); ReadAt's chunks are its own.
	buf    []byte
	closed bool

	// atMu guards the last chunk ReadAt decoded, so that many small
	// ReadAt calls in one chunk (a WebDAV client reading 64 KiB at a time)
	// decrypt it once.
	atMu   sync.Mutex
	atIdx  int // -1 for none
	atData []byte
}

var (
	_ io.ReadSeekCloser = (*ItemReader)(nil)
	_ io.ReaderAt       = (*ItemReader)(nil)
)

// Item returns the metadata of the item at path in a snapshot, without
// opening it. A missing snapshot or path returns ErrNotFound.
func (s *Store) Item(ctx context.Context, account, snapID, path string) (Item, error) {
	a, rec, err := s.record(ctx, account, snapID)
	if err != nil {
		return Item{}, err
	}
	ci, err := s.items(ctx, a, rec)
	if err != nil {
		return Item{}, err
	}
	i, ok := ci.byPath[path]
	if !ok {
		return Item{}, fmt.Errorf("storage: snapshot %s: item %q: %w", snapID, path, holdfast.ErrNotFound)
	}
	return ci.items[i], nil
}

// OpenItem opens the item at path in a snapshot for reading. A missing
// snapshot or path returns ErrNotFound. The caller closes the reader.
func (s *Store) OpenItem(ctx context.Context, account, snapID, path string) (*ItemReader, error) {
	a, rec, err := s.record(ctx, account, snapID)
	if err != nil {
		return nil, err
	}
	ci, err := s.items(ctx, a, rec)
	if err != nil {
		return nil, err
	}
	i, ok := ci.byPath[path]
	if !ok {
		return nil, fmt.Errorf("storage: snapshot %s: item %q: %w", snapID, path, holdfast.ErrNotFound)
	}
	it := ci.items[i]
	r := &ItemReader{s: s, a: a, item: it, ctx: ctx, cur: -1, atIdx: -1, starts: make([]int64, len(it.Chunks)+1)}
	a.mu.Lock()
	for j, ref := range it.Chunks {
		l, ok := a.index[ref]
		if !ok {
			a.mu.Unlock()
			return nil, fmt.Errorf("%w: snapshot %s: item %q: chunk %s is not in the index", ErrDamaged, snapID, path, ref)
		}
		r.starts[j+1] = r.starts[j] + int64(l.entry().rawLen)
	}
	a.mu.Unlock()
	if r.starts[len(it.Chunks)] != it.Size {
		return nil, fmt.Errorf("%w: snapshot %s: item %q: chunks hold %d bytes, manifest says %d", ErrDamaged, snapID, path, r.starts[len(it.Chunks)], it.Size)
	}
	return r, nil
}

// Item returns the item's metadata.
func (r *ItemReader) Item() Item { return r.item }

// Size returns the item's length in bytes.
func (r *ItemReader) Size() int64 { return r.item.Size }

// ModTime returns the item's modification time at the source (zero when
// the source gave none).
func (r *ItemReader) ModTime() time.Time { return r.item.Modified }

// ContentType returns the item's content type ("" when unknown).
func (r *ItemReader) ContentType() string { return r.item.ContentType }

// chunkAt returns the index of the chunk holding offset off < Size.
func (r *ItemReader) chunkAt(off int64) int {
	return sort.Search(len(r.item.Chunks), func(i int) bool { return r.starts[i+1] > off })
}

// ReadAt implements io.ReaderAt: it fills p from offset off, reading the
// chunks it needs, and returns io.EOF when p reaches past the end.
func (r *ItemReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("storage: read at: %w: negative offset %d", holdfast.ErrInvalid, off)
	}
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		if pos >= r.item.Size {
			return n, io.EOF
		}
		if err := r.ctx.Err(); err != nil {
			return n, err
		}
		i := r.chunkAt(pos)
		data, err := r.chunkForReadAt(i)
		if err != nil {
			return n, err
		}
		n += copy(p[n:], data[pos-r.starts[i]:])
	}
	return n, nil
}

// Read implements io.Reader.
func (r *ItemReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errors.New("storage: read of a closed item")
	}
	if r.pos >= r.item.Size {
		return 0, io.EOF
	}
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	i := r.chunkAt(r.pos)
	if i != r.cur {
		// data may lie in buf, which the read below overwrites.
		r.cur, r.data = -1, nil
		data, buf, err := r.s.readChunkInto(r.ctx, r.a, r.item.Chunks[i], r.buf)
		r.buf = buf
		if err != nil {
			return 0, err
		}
		if int64(len(data)) != r.starts[i+1]-r.starts[i] {
			return 0, fmt.Errorf("%w: chunk %s changed size", ErrDamaged, r.item.Chunks[i])
		}
		r.cur, r.data = i, data
	}
	n := copy(p, r.data[r.pos-r.starts[i]:])
	r.pos += int64(n)
	return n, nil
}

// chunkForReadAt returns chunk i's plaintext, from the ReadAt cache when
// it is the last one decoded. The returned slice is never modified.
func (r *ItemReader) chunkForReadAt(i int) ([]byte, error) {
	r.atMu.Lock()
	if r.atIdx == i && r.atData != nil {
		data := r.atData
		r.atMu.Unlock()
		return data, nil
	}
	r.atMu.Unlock()
	data, err := r.s.readChunk(r.ctx, r.a, r.item.Chunks[i])
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != r.starts[i+1]-r.starts[i] {
		return nil, fmt.Errorf("%w: chunk %s changed size", ErrDamaged, r.item.Chunks[i])
	}
	r.atMu.Lock()
	r.atIdx, r.atData = i, data
	r.atMu.Unlock()
	return data, nil
}

// Seek implements io.Seeker. Seeking past the end is allowed; reads there
// return io.EOF.
func (r *ItemReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.pos + offset
	case io.SeekEnd:
		abs = r.item.Size + offset
	default:
		return r.pos, fmt.Errorf("storage: seek: %w: whence %d", holdfast.ErrInvalid, whence)
	}
	if abs < 0 {
		return r.pos, fmt.Errorf("storage: seek: %w: negative position %d", holdfast.ErrInvalid, abs)
	}
	r.pos = abs
	return abs, nil
}

// Close releases the reader's buffers.
func (r *ItemReader) Close() error {
	r.closed, r.data, r.buf, r.cur = true, nil, nil, -1
	r.atMu.Lock()
	r.atData, r.atIdx = nil, -1
	r.atMu.Unlock()
	return nil
}
