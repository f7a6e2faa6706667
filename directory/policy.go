package directory

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/holdfast/holdfast"
)

// Bounds of a profile's backup policy.
const (
	maxPolicyEntries = 100
	maxPolicyPath    = 1024
	maxIntervalMins  = 7 * 24 * 60
	maxPolicyHours   = 366 * 24
)

// KnownFolders are the folders a policy may name without a path: each is
// the folder of that name in the user's home directory.
var KnownFolders = []string{"Desktop", "Documents", "Downloads", "Pictures", "Music", "Videos"}

// checkBackupPolicy validates b into v and returns it cleaned: folders are
// known folders or absolute paths, exclusions extensions without the dot
// (lower case), every number in its bounds.
func checkBackupPolicy(v *holdfast.ValidationError, b holdfast.BackupPolicy) holdfast.BackupPolicy {
	out := b
	out.Folders = []string{}
	for i, f := range b.Folders {
		field := fmt.Sprintf("backup.folders[%d]", i)
		switch {
		case slices.Contains(KnownFolders, f):
		case !utf8.ValidString(f) || len(f) > maxPolicyPath || !path.IsAbs(f) || path.Clean(f) != f:
			v.Add(field, "must be one of %s or a clean absolute path of at most %d bytes", strings.Join(KnownFolders, ", "), maxPolicyPath)
			continue
		}
		if !slices.Contains(out.Folders, f) {
			out.Folders = append(out.Folders, f)
		}
	}
	out.ExcludeTypes = []string{}
	for i, e := range b.ExcludeTypes {
		e = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(e), "."))
		if e == "" || len(e) > 32 || strings.ContainsAny(e, "./\\ ") {
			v.Add(fmt.Sprintf("backup.exclude_types[%d]", i), "must be a file extension such as mp4 (at most 32 characters, no dot or slash inside)")
			continue
		}
		if !slices.Contains(out.ExcludeTypes, e) {
			out.ExcludeTypes = append(out.ExcludeTypes, e)
		}
	}
	if len(b.Folders) > maxPolicyEntries {
		v.Add("backup.folders", "at most %d folders", maxPolicyEntries)
	}
	if len(b.ExcludeTypes) > maxPolicyEntries {
		v.Add("backup.exclude_types", "at most %d extensions", maxPolicyEntries)
	}
	bound := func(field string, n, hi int64) {
		if n < 0 || n > hi {
			v.Add(field, "must be from 0 (the default) to %d", hi)
		}
	}
	bound("backup.max_file_bytes", b.MaxFileBytes, 1<<50)
	bound("backup.quota_bytes", b.QuotaBytes, 1<<60)
	bound("backup.interval_minutes", int64(b.IntervalMinutes), maxIntervalMins)
	bound("backup.compliance_hours", int64(b.ComplianceHours), maxPolicyHours)
	bound("backup.grace_hours", int64(b.GraceHours), maxPolicyHours)
	return out
}
