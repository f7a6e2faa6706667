package legalhold

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// ParseBound parses one end of a hold's date range: a date (2026-01-31) or
// an RFC 3339 time. A date as the end of the range means the end of that
// day (UTC), so a range is inclusive of both dates. Anything else is
// ErrInvalid.
func ParseBound(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			t = t.Add(24*time.Hour - time.Microsecond)
		}
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%w: %q is not a date like 2026-01-31 or a time like 2026-01-31T12:00:00Z", holdfast.ErrInvalid, s)
}

// Exposes reports whether the hold's data access rule lets counsel see an
// item with these source times. Deleted-files-only holds expose only items
// deleted at the source. A date range exposes items created, modified or
// deleted within it (both ends included); zero times are unknown and never
// match a range. The all and last kinds expose every item; which snapshot
// is "last" is the caller's choice (see LastOnly).
func Exposes(h holdfast.LegalHold, created, modified, deleted time.Time) bool {
	if h.DeletedFilesOnly && deleted.IsZero() {
		return false
	}
	if h.DataAccess != holdfast.AccessDateRange {
		return true
	}
	if h.From == nil || h.To == nil {
		return false // a date range hold without its range exposes nothing
	}
	for _, t := range []time.Time{created, modified, deleted} {
		if !t.IsZero() && !t.Before(*h.From) && !t.After(*h.To) {
			return true
		}
	}
	return false
}

// LastOnly reports whether counsel sees only the newest snapshot of each
// data source (Last Collected Data) rather than all of them.
func LastOnly(h holdfast.LegalHold) bool { return h.DataAccess == holdfast.AccessLastData }

// CoversSource reports whether the hold includes a workload: holds with no
// sources include every workload; otherwise the workload or its parent
// (Microsoft 365 for Exchange Online) must be listed.
func CoversSource(h holdfast.LegalHold, workload, parent string) bool {
	if len(h.Sources) == 0 {
		return true
	}
	return slices.Contains(h.Sources, workload) || (parent != "" && slices.Contains(h.Sources, parent))
}
