package holdfast

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// ChunkRef names a chunk of plaintext by its keyed hash (BLAKE3 keyed with a
// per-account secret, so equal refs in two accounts say nothing about equal
// content). It is a comparable value: use it as a map key.
type ChunkRef [32]byte

// String returns the lower-case hex form of r.
func (r ChunkRef) String() string { return hex.EncodeToString(r[:]) }

// IsZero reports whether r is the zero ref, which names no chunk.
func (r ChunkRef) IsZero() bool { return r == ChunkRef{} }

// MarshalText encodes r as hex, so refs are hex strings in JSON.
func (r ChunkRef) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes hex text; anything else matches ErrInvalid.
func (r *ChunkRef) UnmarshalText(b []byte) error {
	v, err := ParseChunkRef(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseChunkRef parses the 64-digit hex form of a ref. Bad input returns an
// error matching ErrInvalid.
func ParseChunkRef(s string) (ChunkRef, error) {
	var r ChunkRef
	if len(s) != 2*len(r) {
		return r, fmt.Errorf("%w: chunk ref %q: want %d hex digits", ErrInvalid, s, 2*len(r))
	}
	if _, err := hex.Decode(r[:], []byte(s)); err != nil {
		return ChunkRef{}, fmt.Errorf("%w: chunk ref %q: not hex", ErrInvalid, s)
	}
	return r, nil
}

// BlobStore is a keyed object store: the dedup store keeps its packs,
// indexes, snapshots and wrapped keys in one. Implementations (storage/fs,
// storage/s3) pass storage/storagetest.TestBlobStore and are safe for
// concurrent use.
//
// Names are slash-separated relative paths ("packs/acct/ab/abcd…"): not
// empty, no leading or trailing slash, no empty, "." or ".." element, no
// backslash or NUL, at most 512 bytes. Any other name matches ErrInvalid.
//
// Objects are immutable. Put creates an object; Delete removes it. There is
// no overwrite, so a reader never sees a mix of two versions.
type BlobStore interface {
	// Put stores the size bytes read from r under name, atomically: until
	// Put returns, Get and List either do not see name or see all of it;
	// after a failed Put nothing is stored. size -1 means unknown; any
	// other size that r does not deliver exactly (a truncated upload)
	// returns ErrInvalid and stores nothing. If name exists with the same
	// content, Put returns nil (a retried Put is harmless); with different
	// content it returns ErrConflict and leaves the object as it was.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// Get opens the object. Missing: ErrNotFound. The caller closes it.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// GetRange opens length bytes from offset off. A range that runs past
	// the end is cut at the end; off past the end, or a negative off or
	// length, is ErrInvalid. Missing: ErrNotFound. The caller closes it.
	GetRange(ctx context.Context, name string, off, length int64) (io.ReadCloser, error)
	// Stat returns the object's size. Missing: ErrNotFound.
	Stat(ctx context.Context, name string) (int64, error)
	// List calls fn for every object whose name starts with prefix, in
	// lexical order of names. An error from fn stops the listing and is
	// returned unchanged. Objects put or deleted during List may or may not
	// be seen.
	List(ctx context.Context, prefix string, fn func(name string, size int64) error) error
	// Delete removes the object. Missing: nil.
	Delete(ctx context.Context, name string) error
}

// BlobLocker is implemented by blob stores that can make an object
// undeletable for a time (S3 Object Lock retention). The dedup store locks
// packs that hold held users' data when its BlobStore is one.
type BlobLocker interface {
	// Lock keeps name from being deleted or overwritten until until; a
	// lock is only ever extended, never shortened. A store that cannot
	// lock (a bucket without object lock) returns an error matching
	// errors.ErrUnsupported. Missing: ErrNotFound.
	Lock(ctx context.Context, name string, until time.Time) error
}

// ValidBlobName reports whether name follows the BlobStore naming rules.
// Implementations call it first and return ErrInvalid when it is false.
func ValidBlobName(name string) bool {
	if name == "" || len(name) > 512 {
		return false
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) {
			switch name[i] {
			case '\\', 0:
				return false
			case '/':
			default:
				continue
			}
		}
		switch name[start:i] {
		case "", ".", "..":
			return false
		}
		start = i + 1
	}
	return true
}
