package backup

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sync"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// restorer writes a snapshot's items under target: directories first, then
// files, fetched as tar streams of many files each by parallel workers,
// then links, and last the directories' modes and times (writing into a
// directory changes its time, and a read-only one takes no files).
type restorer struct {
	client    *Client
	snapID    string
	target    string
	overwrite bool
	prog      *progress
}

func (rs *restorer) run(ctx context.Context, items []storage.Item, workers int) error {
	if err := rs.makeDirs(items); err != nil {
		return err
	}
	var files, links, dirs []storage.Item
	for _, it := range items {
		switch it.Type {
		case storage.ItemDir:
			dirs = append(dirs, it)
		case storage.ItemSymlink:
			links = append(links, it)
		default:
			files = append(files, it)
		}
	}
	if err := rs.fetchAll(ctx, files, workers); err != nil {
		return err
	}
	for _, it := range links {
		if err := rs.writeLink(it); err != nil {
			return err
		}
		rs.prog.item()
	}
	// Deepest first: setting a directory's time after its children's.
	slices.Reverse(dirs)
	for _, it := range dirs {
		dest := rs.dest(it)
		if err := os.Chmod(dest, itemPerm(it)); err != nil {
			return err
		}
		if err := setTimes(dest, it, false); err != nil {
			return err
		}
		rs.prog.item()
	}
	return nil
}

func (rs *restorer) dest(it storage.Item) string {
	return filepath.Join(rs.target, filepath.FromSlash(it.Path))
}

// itemPerm is the permission an item is restored with; the default when
// the snapshot keeps none.
func itemPerm(it storage.Item) os.FileMode {
	mode := os.FileMode(it.Mode).Perm()
	switch {
	case mode != 0:
		return mode
	case it.Type == storage.ItemDir:
		return 0o755
	}
	return defaultMode
}

// makeDirs creates every directory item and every parent of an item, each
// once, parents first. A name in the way that is not a directory (a file,
// or a link that could lead out of the target) stops the restore.
func (rs *restorer) makeDirs(items []storage.Item) error {
	dirs := map[string]bool{} // slash path -> is an item (created owner-writable, its mode set last)
	for _, it := range items {
		if it.Type == storage.ItemDir {
			dirs[it.Path] = true
		}
		for d := path.Dir(it.Path); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			if _, seen := dirs[d]; seen {
				break
			}
			dirs[d] = false
		}
	}
	if err := os.MkdirAll(rs.target, 0o755); err != nil {
		return err
	}
	for _, d := range slices.Sorted(maps.Keys(dirs)) {
		full := filepath.Join(rs.target, filepath.FromSlash(d))
		mode := os.FileMode(0o755)
		if dirs[d] {
			mode = 0o700
		}
		err := os.Mkdir(full, mode)
		if err == nil || !errors.Is(err, os.ErrExist) {
			if err != nil {
				return err
			}
			continue
		}
		if fi, err := os.Lstat(full); err != nil || !fi.IsDir() {
			return fmt.Errorf("%w: %s is in the way of a directory of the snapshot (it is not a directory)", holdfast.ErrConflict, full)
		}
	}
	return nil
}

// shardsOf cuts files into the requests of a restore: about four per
// worker, each of a bounded count and size, so the workers stay busy to
// the end.
func shardsOf(files []storage.Item, workers int) [][]storage.Item {
	var total int64
	for _, it := range files {
		total += it.Size
	}
	parts := int64(workers * 4)
	maxBytes := min(max(total/parts, 4<<20), 64<<20)
	maxItems := min(max(len(files)/int(parts), 64), 2000)
	var out [][]storage.Item
	var cur []storage.Item
	var n int64
	for _, it := range files {
		if len(cur) > 0 && (n+it.Size > maxBytes || len(cur) >= maxItems) {
			out = append(out, cur)
			cur, n = nil, 0
		}
		cur = append(cur, it)
		n += it.Size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// fetchAll restores files with workers parallel streams; the first error
// stops the others.
func (rs *restorer) fetchAll(ctx context.Context, files []storage.Item, workers int) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan []storage.Item)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for range workers {
		wg.Go(func() {
			for shard := range work {
				if ctx.Err() != nil {
					continue
				}
				if err := rs.fetch(ctx, shard); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	for _, shard := range shardsOf(files, workers) {
		work <- shard
	}
	close(work)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// fetch restores one shard of files from one tar stream, checking that
// the server sends each file asked for, in order, at its size.
func (rs *restorer) fetch(ctx context.Context, shard []storage.Item) error {
	paths := make([]string, len(shard))
	for i, it := range shard {
		paths[i] = it.Path
	}
	body, err := rs.client.RestoreStream(ctx, rs.snapID, paths)
	if err != nil {
		return err
	}
	defer body.Close()
	tr := tar.NewReader(bufio.NewReaderSize(body, 256<<10))
	for _, it := range shard {
		h, err := tr.Next()
		if err != nil {
			return fmt.Errorf("%s: %w: the stream ended: %v", it.Path, errShort, err)
		}
		if h.Name != it.Path || h.Size != it.Size || h.Typeflag != tar.TypeReg {
			return fmt.Errorf("%s: %w: the server sent %q (%d bytes) instead", it.Path, errShort, h.Name, h.Size)
		}
		if err := rs.writeFile(it, tr); err != nil {
			return err
		}
		rs.prog.read(it.Size)
		rs.prog.item()
	}
	return nil
}

// writeFile writes one file from r with its mode and time. Without
// overwrite it is created exclusively (a file that appeared since the
// check is not replaced); with overwrite it is written to a temporary
// file renamed into place. A failed write leaves nothing behind.
func (rs *restorer) writeFile(it storage.Item, r io.Reader) (err error) {
	dest := rs.dest(it)
	var f *os.File
	if rs.overwrite {
		f, err = os.CreateTemp(filepath.Dir(dest), ".restore-*")
	} else {
		f, err = os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s already exists; pass --overwrite to replace it", holdfast.ErrConflict, dest)
		}
	}
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, r)
	if err != nil {
		return fmt.Errorf("%s: %w", it.Path, err)
	}
	if n != it.Size {
		return fmt.Errorf("%s: %w: %d bytes received, the snapshot says %d", it.Path, errShort, n, it.Size)
	}
	if err = f.Chmod(itemPerm(it)); err != nil {
		return fmt.Errorf("%s: %w", it.Path, err)
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = setTimes(f.Name(), it, false); err != nil {
		return fmt.Errorf("%s: %w", it.Path, err)
	}
	if rs.overwrite {
		return os.Rename(f.Name(), dest)
	}
	return nil
}

// writeLink creates a symbolic link item (after every file, so no file is
// written through a link of the snapshot).
func (rs *restorer) writeLink(it storage.Item) error {
	dest := rs.dest(it)
	name := dest
	if rs.overwrite {
		name = filepath.Join(filepath.Dir(dest), ".restore-link-"+randSuffix())
	}
	if err := os.Symlink(it.Link, name); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s already exists; pass --overwrite to replace it", holdfast.ErrConflict, dest)
		}
		return err
	}
	if err := setTimes(name, it, true); err != nil {
		os.Remove(name)
		return fmt.Errorf("%s: %w", it.Path, err)
	}
	if name != dest {
		if err := os.Rename(name, dest); err != nil {
			os.Remove(name)
			return err
		}
	}
	return nil
}

// randSuffix names a temporary file.
func randSuffix() string { return rand.Text()[:12] }
