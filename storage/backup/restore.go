package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// RestoreOptions configure a restore.
type RestoreOptions struct {
	Client *Client // required
	// SnapshotID picks the snapshot; when empty, the newest snapshot of
	// User (id or email) whose device name is Device or source is Source.
	SnapshotID string
	User       string
	Device     string
	Source     storage.Source
	// Target is the directory items are written under (by their paths).
	Target string
	// Prefix restores only items whose path starts with it.
	Prefix  string
	Workers int // parallel downloads (default 4)
	// Overwrite replaces files that exist under Target; without it a
	// restore that would replace one refuses before writing anything.
	Overwrite bool
	// Progress, when set (a terminal), gets a status line redrawn in place.
	Progress io.Writer
}

// defaultMode is the permission of a restored item whose snapshot keeps
// none (SaaS items, snapshots made before modes were kept).
const defaultMode = 0o644

// RestoreResult says what a restore did.
type RestoreResult struct {
	Snapshot storage.Snapshot
	Items    int
	Bytes    int64
	Duration time.Duration
}

// Restore writes a snapshot's items under opts.Target, each through a
// temporary file renamed into place, with its permission bits and
// modification time. An item whose path would leave Target is refused, and
// so, unless opts.Overwrite, is a restore that would replace a file: both
// before anything is written.
func Restore(ctx context.Context, opts RestoreOptions) (RestoreResult, error) {
	start := time.Now()
	var res RestoreResult
	if opts.Client == nil || opts.Target == "" {
		return res, fmt.Errorf("restore: %w: a client and a target directory are required", holdfast.ErrInvalid)
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	id := opts.SnapshotID
	if id == "" {
		if opts.User == "" {
			return res, fmt.Errorf("restore: %w: give a snapshot id, or a user with a device or source", holdfast.ErrInvalid)
		}
		list, err := opts.Client.Snapshots(ctx, opts.User)
		if err != nil {
			return res, fmt.Errorf("restore: %w", err)
		}
		for _, sn := range list {
			if (opts.Device == "" || (sn.Source == storage.SourceDevice && sn.Device == opts.Device)) &&
				(opts.Source == "" || sn.Source == opts.Source) {
				id = sn.ID // oldest first: the last match is the newest
			}
		}
		if id == "" {
			return res, fmt.Errorf("restore: %w: %s has no matching snapshot", holdfast.ErrNotFound, opts.User)
		}
	}
	sn, err := opts.Client.Snapshot(ctx, id)
	if err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	res.Snapshot = sn
	var todo []storage.Item
	for _, it := range sn.Items {
		if !strings.HasPrefix(it.Path, opts.Prefix) {
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(it.Path)) {
			return res, fmt.Errorf("restore: %w: item path %q leaves the target directory", holdfast.ErrInvalid, it.Path)
		}
		todo = append(todo, it)
	}
	if !opts.Overwrite {
		if err := refuseExisting(opts.Target, todo); err != nil {
			return res, err
		}
	}
	prog := newRestoreProgress(opts.Progress, todo)
	defer prog.stop()
	work := make(chan storage.Item)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range opts.Workers {
		wg.Go(func() {
			for it := range work {
				err := restoreItem(ctx, opts.Client, sn.ID, it, opts.Target, opts.Overwrite)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				if err == nil {
					res.Items++
					res.Bytes += it.Size
					prog.read(it.Size)
					prog.item()
				}
				mu.Unlock()
			}
		})
	}
	for _, it := range todo {
		if ctx.Err() != nil {
			break
		}
		work <- it
	}
	close(work)
	wg.Wait()
	if first != nil {
		return res, fmt.Errorf("restore: %w", first)
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.Duration = time.Since(start)
	return res, nil
}

// refuseExisting refuses a restore that would replace files under target.
func refuseExisting(target string, items []storage.Item) error {
	var taken []string
	for _, it := range items {
		if _, err := os.Lstat(filepath.Join(target, filepath.FromSlash(it.Path))); err == nil {
			taken = append(taken, it.Path)
		}
	}
	if len(taken) == 0 {
		return nil
	}
	more := ""
	if len(taken) > 3 {
		more = fmt.Sprintf(" and %d more", len(taken)-3)
		taken = taken[:3]
	}
	return fmt.Errorf("restore: %w: %s%s already exist under %s; restore into an empty directory, or pass --overwrite to replace them",
		holdfast.ErrConflict, strings.Join(taken, ", "), more, target)
}

func restoreItem(ctx context.Context, c *Client, snapID string, it storage.Item, target string, overwrite bool) error {
	dest := filepath.Join(target, filepath.FromSlash(it.Path))
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after the rename: nothing to remove
	var n int64
	if it.Size > 0 {
		body, err := c.Content(ctx, snapID, it.Path)
		if err != nil {
			tmp.Close()
			return fmt.Errorf("%s: %w", it.Path, err)
		}
		n, err = io.Copy(tmp, body)
		body.Close()
		if err != nil {
			tmp.Close()
			return fmt.Errorf("%s: %w", it.Path, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if n != it.Size {
		return fmt.Errorf("%s: %w: %d bytes received, the snapshot says %d", it.Path, errShort, n, it.Size)
	}
	mode := os.FileMode(it.Mode).Perm()
	if mode == 0 {
		mode = defaultMode
	}
	if err := os.Chmod(tmp.Name(), mode); err != nil {
		return fmt.Errorf("%s: %w", it.Path, err)
	}
	if !it.Modified.IsZero() {
		if err := os.Chtimes(tmp.Name(), it.Modified, it.Modified); err != nil {
			return fmt.Errorf("%s: %w", it.Path, err)
		}
	}
	if !overwrite {
		// Link fails on an existing name, so a file that appeared since
		// the check is not replaced either.
		err := os.Link(tmp.Name(), dest)
		if err == nil {
			return nil
		}
		if _, serr := os.Lstat(dest); errors.Is(err, os.ErrExist) || serr == nil {
			return fmt.Errorf("%w: %s already exists; pass --overwrite to replace it", holdfast.ErrConflict, dest)
		}
		// A file system without hard links: the check above stands.
	}
	return os.Rename(tmp.Name(), dest)
}

var errShort = errors.New("short item")
