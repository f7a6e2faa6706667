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
}

// RestoreResult says what a restore did.
type RestoreResult struct {
	Snapshot storage.Snapshot
	Items    int
	Bytes    int64
	Duration time.Duration
}

// Restore writes a snapshot's items under opts.Target, each through a
// temporary file renamed into place, with its modification time. An item
// whose path would leave Target is refused.
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
				err := restoreItem(ctx, opts.Client, sn.ID, it, opts.Target)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				if err == nil {
					res.Items++
					res.Bytes += it.Size
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

func restoreItem(ctx context.Context, c *Client, snapID string, it storage.Item, target string) error {
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
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return err
	}
	if !it.Modified.IsZero() {
		_ = os.Chtimes(dest, it.Modified, it.Modified)
	}
	return nil
}

var errShort = errors.New("short item")
