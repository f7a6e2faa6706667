//go:build unix

package backup

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/holdfast/holdfast/storage"
)

// setTimes gives a restored item its modification time (access time
// too); link sets a symbolic link's own time, not its target's.
func setTimes(name string, it storage.Item, link bool) error {
	if it.Modified.IsZero() {
		return nil
	}
	if !link {
		return os.Chtimes(name, it.Modified, it.Modified)
	}
	ts := unix.NsecToTimespec(it.Modified.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
