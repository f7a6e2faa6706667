package storage

import (
	"slices"
	"time"

	"github.com/holdfast/holdfast"
)

// SetCrashHook makes s call fn at each named point of its write sequences;
// an error from fn aborts the operation there, as a kill would.
func SetCrashHook(s *Store, fn func(point string) error) { s.crash = fn }

// SetSchedulePoll makes RunCompaction look at its schedule every d.
func SetSchedulePoll(s *Store, d time.Duration) { s.schedulePoll = d }

// KeepCount returns how many of snaps (oldest first, one series) policy keeps.
func KeepCount(snaps []Snapshot, policy holdfast.Retention, now time.Time) int {
	newest := slices.Clone(snaps)
	slices.Reverse(newest)
	return len(keepSet(newest, policy, now))
}
