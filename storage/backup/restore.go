package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	rs := &restorer{client: opts.Client, snapID: sn.ID, target: opts.Target, overwrite: opts.Overwrite, prog: prog}
	if err := rs.run(ctx, todo, opts.Workers); err != nil {
		return res, fmt.Errorf("restore: %w", err)
	}
	prog.stop()
	res.Items = len(todo)
	for _, it := range todo {
		res.Bytes += it.Size
	}
	res.Duration = time.Since(start)
	return res, nil
}

// refuseExisting refuses a restore that would replace files under target
// (a directory that exists as a directory is not replaced).
func refuseExisting(target string, items []storage.Item) error {
	var taken []string
	for _, it := range items {
		fi, err := os.Lstat(filepath.Join(target, filepath.FromSlash(it.Path)))
		if err == nil && !(it.Type == storage.ItemDir && fi.IsDir()) {
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

var errShort = errors.New("short item")
