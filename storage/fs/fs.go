// Package fs is a holdfast.BlobStore over files in a local directory, the
// embedded default inside the data directory.
//
// Each object is one file at dir/name. Put writes a temporary file in
// dir/.tmp, fsyncs it, hard-links it to its final name (link fails if the
// name exists, which gives create-only semantics without a lock), removes the
// temporary name and fsyncs the parent directory, so a crash leaves either
// no object or the whole object.
package fs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/holdfast/holdfast"
)

// tmpDir is the directory, inside the store, of files being written. Its
// name cannot be a blob name element, so List never reports it.
const tmpDir = ".tmp"

// staleTmp is how old a temporary file must be before New removes it: older
// than any Put could take, so it is a crash leftover.
const staleTmp = 24 * time.Hour

// Store is a BlobStore in a directory. It is safe for concurrent use, also
// by several processes sharing the directory.
type Store struct {
	dir string // absolute; immutable
}

var _ holdfast.BlobStore = (*Store)(nil)

// New opens (creating if needed) the store in dir and removes temporary
// files that crashed writers left behind.
func New(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("fs: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(abs, tmpDir), 0o700); err != nil {
		return nil, fmt.Errorf("fs: %w", err)
	}
	entries, err := os.ReadDir(filepath.Join(abs, tmpDir))
	if err != nil {
		return nil, fmt.Errorf("fs: %w", err)
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > staleTmp {
			_ = os.Remove(filepath.Join(abs, tmpDir, e.Name()))
		}
	}
	return &Store{dir: abs}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(name string) (string, error) {
	if !holdfast.ValidBlobName(name) || name == tmpDir || strings.HasPrefix(name, tmpDir+"/") {
		return "", fmt.Errorf("fs: %w: blob name %q", holdfast.ErrInvalid, name)
	}
	return filepath.Join(s.dir, filepath.FromSlash(name)), nil
}

// errFromOS translates file-system errors at the boundary.
func errFromOS(name string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("fs: blob %s: %w", name, holdfast.ErrNotFound)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("fs: blob %s: %w", name, holdfast.ErrConflict)
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return holdfast.NoSpace("blob store", fmt.Errorf("fs: blob %s: %w", name, err))
	}
	return fmt.Errorf("fs: blob %s: %w", name, err)
}

// Put implements holdfast.BlobStore.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) (err error) {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(s.dir, tmpDir, hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return errFromOS(name, err)
	}
	defer func() {
		if f != nil {
			_ = f.Close()
		}
		_ = os.Remove(tmp)
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err != nil {
		return errFromOS(name, err)
	}
	if size >= 0 && n != size {
		return fmt.Errorf("fs: put %s: %w: got %d bytes, want %d", name, holdfast.ErrInvalid, n, size)
	}
	if err := f.Sync(); err != nil {
		return errFromOS(name, err)
	}
	if err := f.Close(); err != nil {
		f = nil
		return errFromOS(name, err)
	}
	f = nil
	parent := filepath.Dir(p)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return errFromOS(name, err)
	}
	if err := os.Link(tmp, p); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return errFromOS(name, err)
		}
		same, cerr := sameContent(tmp, p)
		if cerr != nil {
			return errFromOS(name, cerr)
		}
		if !same {
			return fmt.Errorf("fs: put %s: %w: exists with different content", name, holdfast.ErrConflict)
		}
		return nil
	}
	// The link is durable only once its directory entry is.
	return syncDir(parent)
}

func sameContent(a, b string) (bool, error) {
	fa, err := os.Open(a)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if !bytes.Equal(ba[:na], bb[:nb]) {
			return false, nil
		}
		aDone := ea == io.EOF || ea == io.ErrUnexpectedEOF
		bDone := eb == io.EOF || eb == io.ErrUnexpectedEOF
		if ea != nil && !aDone {
			return false, ea
		}
		if eb != nil && !bDone {
			return false, eb
		}
		if aDone || bDone {
			return aDone == bDone, nil
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Get implements holdfast.BlobStore.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	p, err := s.path(name)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, errFromOS(name, err)
	}
	if info, err := f.Stat(); err != nil || !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("fs: blob %s: %w", name, holdfast.ErrNotFound)
	}
	return f, nil
}

// GetRange implements holdfast.BlobStore.
func (s *Store) GetRange(ctx context.Context, name string, off, length int64) (io.ReadCloser, error) {
	if off < 0 || length < 0 {
		return nil, fmt.Errorf("fs: blob %s: %w: range %d+%d", name, holdfast.ErrInvalid, off, length)
	}
	rc, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	f := rc.(*os.File)
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, errFromOS(name, err)
	}
	if off > info.Size() {
		f.Close()
		return nil, fmt.Errorf("fs: blob %s: %w: offset %d past end %d", name, holdfast.ErrInvalid, off, info.Size())
	}
	return &sectionCloser{io.NewSectionReader(f, off, length), f}, nil
}

type sectionCloser struct {
	*io.SectionReader
	f *os.File
}

func (s *sectionCloser) Close() error { return s.f.Close() }

// Stat implements holdfast.BlobStore.
func (s *Store) Stat(ctx context.Context, name string) (int64, error) {
	p, err := s.path(name)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	info, err := os.Stat(p)
	if err != nil {
		return 0, errFromOS(name, err)
	}
	if !info.Mode().IsRegular() {
		return 0, fmt.Errorf("fs: blob %s: %w", name, holdfast.ErrNotFound)
	}
	return info.Size(), nil
}

// List implements holdfast.BlobStore. It walks only the directory that the
// prefix names, collects the matches and calls fn in sorted order.
func (s *Store) List(ctx context.Context, prefix string, fn func(name string, size int64) error) error {
	if strings.ContainsAny(prefix, "\\\x00") || strings.HasPrefix(prefix, "/") || strings.Contains(prefix, "..") {
		return fmt.Errorf("fs: list %q: %w", prefix, holdfast.ErrInvalid)
	}
	base := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		base = prefix[:i]
	}
	type entry struct {
		name string
		size int64
	}
	var found []entry
	root := filepath.Join(s.dir, filepath.FromSlash(base))
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking, or no such prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if d.IsDir() {
			if name == tmpDir {
				return fs.SkipDir
			}
			// Skip directories that cannot hold a match.
			if name != "." && !strings.HasPrefix(name+"/", prefix) && !strings.HasPrefix(prefix, name+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(name, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		found = append(found, entry{name, info.Size()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("fs: list %q: %w", prefix, err)
	}
	slices.SortFunc(found, func(a, b entry) int { return strings.Compare(a.name, b.name) })
	for _, e := range found {
		if err := fn(e.name, e.size); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements holdfast.BlobStore.
func (s *Store) Delete(ctx context.Context, name string) error {
	p, err := s.path(name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return errFromOS(name, err)
	}
	return nil
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
