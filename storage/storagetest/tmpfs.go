package storagetest

import (
	"os/exec"
	"testing"
)

// MountTmpfs mounts a tmpfs of size bytes (mount's syntax: "512k", "4m")
// on a new directory, unmounted when the test ends, and returns it: a disk
// that fills up for real. Mounting needs root; where it is refused the
// test skips, or fails when RequireEnv lists FaultsRequirement.
func MountTmpfs(tb testing.TB, size string) string {
	tb.Helper()
	dir := tb.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		SkipOrFail(tb, FaultsRequirement, "cannot mount a tmpfs: "+err.Error()+": "+string(out))
	}
	// Registered after TempDir's cleanup, so it runs before it.
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			tb.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// ResizeTmpfs changes the size of a tmpfs from MountTmpfs, as an operator
// freeing space would.
func ResizeTmpfs(tb testing.TB, dir, size string) {
	tb.Helper()
	if out, err := exec.Command("mount", "-o", "remount,size="+size, dir).CombinedOutput(); err != nil {
		tb.Fatalf("resize tmpfs %s: %v: %s", dir, err, out)
	}
}
