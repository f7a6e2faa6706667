package storage

import (
	"errors"
	"io"
	"sync"

	"lukechampine.com/blake3"

	"github.com/holdfast/holdfast"
)

// Chunk size bounds of the content-defined chunker. Chunk boundaries fall
// where a gear hash of the last 64 bytes matches a mask, so an insertion
// early in a file moves only the boundaries near it and later chunks
// deduplicate.
//
// Why 256 KiB / 1 MiB / 4 MiB: every chunk costs an index entry (about 80
// bytes in memory, 48 on disk), a GCM tag, a zstd frame and, on the wire, a
// slot in the "which chunks are missing" query; at a 1 MiB average, 1 TB of
// unique data is a million chunks and a 48 MB index, which one process holds
// easily. Smaller chunks would find more duplicates inside large files that
// change in place (VM images, PSTs), but our bulk is mail and documents,
// which change as whole items: an item below MinChunk is one chunk and
// deduplicates as a whole. The 4x spread between minimum, average and
// maximum is FastCDC's: the minimum skips hashing a quarter of the data, and
// normalized chunking (a harder mask before the average, an easier one
// after) keeps sizes close to the average.
const (
	MinChunk = 256 << 10
	AvgChunk = 1 << 20
	MaxChunk = 4 << 20
)

// Masks for normalized chunking around AvgChunk = 2^20: 22 bits before the
// average, 18 after. Gear hashing shifts left, so the top bits depend on the
// most bytes (up to 64); the masks take the top bits.
const (
	maskHard uint64 = (1<<22 - 1) << (64 - 22)
	maskEasy uint64 = (1<<18 - 1) << (64 - 18)
)

// ChunkerKey is an account's chunker secret. It keys both the gear table
// (so chunk boundaries do not reveal whether a known file is stored) and
// the chunk-id hash. The server hands it to the account's backup clients.
type ChunkerKey [32]byte

// Chunker splits data into content-defined chunks and names them with the
// keyed BLAKE3 hash of their plaintext. It is immutable and safe for
// concurrent use.
type Chunker struct {
	gear  [256]uint64
	idKey [32]byte
}

// NewChunker returns the chunker of the account whose secret is key.
func NewChunker(key ChunkerKey) *Chunker {
	c := new(Chunker)
	var gearSeed [32]byte
	blake3.DeriveKey(gearSeed[:], "holdfast 2026 storage chunker gear table", key[:])
	blake3.DeriveKey(c.idKey[:], "holdfast 2026 storage chunk id", key[:])
	var table [256 * 8]byte
	xof := blake3.New(32, gearSeed[:]).XOF()
	if _, err := io.ReadFull(xof, table[:]); err != nil {
		panic("storage: blake3 XOF: " + err.Error()) // cannot happen: the XOF is unbounded
	}
	for i := range c.gear {
		for j := range 8 {
			c.gear[i] |= uint64(table[i*8+j]) << (8 * j)
		}
	}
	return c
}

// Ref returns the chunk id of data.
func (c *Chunker) Ref(data []byte) holdfast.ChunkRef {
	h := blake3.New(32, c.idKey[:])
	h.Write(data)
	var r holdfast.ChunkRef
	h.Sum(r[:0])
	return r
}

// Cut returns the length of the first chunk of data. data must hold at
// least MaxChunk bytes unless it is the end of the stream; Cut never returns
// more than MaxChunk, and returns len(data) when data is shorter than
// MinChunk.
func (c *Chunker) Cut(data []byte) int {
	n := len(data)
	if n <= MinChunk {
		return n
	}
	if n > MaxChunk {
		n = MaxChunk
	}
	normal := min(AvgChunk, n)
	var h uint64
	for i, b := range data[MinChunk:normal] {
		h = h<<1 + c.gear[b]
		if h&maskHard == 0 {
			return MinChunk + i + 1
		}
	}
	for i, b := range data[normal:n] {
		h = h<<1 + c.gear[b]
		if h&maskEasy == 0 {
			return normal + i + 1
		}
	}
	return n
}

var splitBufs = sync.Pool{New: func() any { return new([2 * MaxChunk]byte) }}

// Split reads r to its end and calls fn for each chunk in order. data is
// valid only during the call; fn must copy what it keeps. An error from fn
// or r stops Split and is returned. Joining every data gives back r's bytes.
func (c *Chunker) Split(r io.Reader, fn func(ref holdfast.ChunkRef, data []byte) error) error {
	buf := splitBufs.Get().(*[2 * MaxChunk]byte)
	defer splitBufs.Put(buf)
	start, end, eof := 0, 0, false
	for {
		if !eof && end-start < MaxChunk {
			// Move the rest to the front and fill, so Cut sees MaxChunk
			// bytes whenever the stream has them.
			end = copy(buf[:], buf[start:end])
			start = 0
			n, err := io.ReadFull(r, buf[end:])
			end += n
			switch {
			case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
				eof = true
			case err != nil:
				return err
			}
		}
		if start == end {
			return nil
		}
		n := c.Cut(buf[start:end])
		chunk := buf[start : start+n]
		if err := fn(c.Ref(chunk), chunk); err != nil {
			return err
		}
		start += n
	}
}
