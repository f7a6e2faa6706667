package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// policyPaths returns the paths to back up of an endpoint whose run names
// none: the policy's folders, a known folder (Desktop, Documents, ...)
// under home, an absolute path as it is; folders that do not exist on
// this machine are left out.
func policyPaths(p holdfast.BackupPolicy, home string) ([]string, error) {
	if len(p.Folders) == 0 {
		return nil, fmt.Errorf("%w: no path to back up, and the profile names no backup folders", holdfast.ErrInvalid)
	}
	var out []string
	for _, f := range p.Folders {
		dir := filepath.FromSlash(f)
		if !path.IsAbs(f) {
			if home == "" {
				return nil, fmt.Errorf("%w: the profile backs up %s, but there is no home directory", holdfast.ErrInvalid, f)
			}
			dir = filepath.Join(home, f)
		}
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			continue
		}
		out = append(out, dir)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: none of the profile's backup folders (%s) exists here", holdfast.ErrInvalid, strings.Join(p.Folders, ", "))
	}
	return out, nil
}

// excluded reports whether the policy leaves the file of e out: its
// extension is one the policy excludes, or it is larger than the
// policy's size limit. Directories and links are never excluded.
func excluded(p holdfast.BackupPolicy, e entry) bool {
	if e.item.Type == storage.ItemDir || e.item.Type == storage.ItemSymlink || e.file == "" {
		return false
	}
	if p.MaxFileBytes > 0 && e.size > p.MaxFileBytes {
		return true
	}
	ext := strings.ToLower(strings.TrimPrefix(path.Ext(e.item.Path), "."))
	return ext != "" && slices.Contains(p.ExcludeTypes, ext)
}

// applyPolicy drops the entries the policy excludes and returns how many
// it dropped.
func applyPolicy(p holdfast.BackupPolicy, entries []entry) ([]entry, int) {
	n := len(entries)
	entries = slices.DeleteFunc(entries, func(e entry) bool { return excluded(p, e) })
	return entries, n - len(entries)
}

// reportFailure tells the server a run failed after it started, so the
// device's status shows it; a failure to tell is not the run's error.
func reportFailure(ctx context.Context, c *Client, t Target, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	_ = c.ReportRun(context.WithoutCancel(ctx), t.DeviceID, holdfast.BackupFailed, err.Error())
}
