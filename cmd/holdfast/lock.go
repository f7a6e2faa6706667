package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// lockFileName is the file in a data directory that the process using the
// directory holds an exclusive flock on.
const lockFileName = "holdfast.lock"

// errDataDirLocked means another process holds the data directory.
var errDataDirLocked = errors.New("data directory in use")

// LockDataDir takes the exclusive lock of the data directory dir, which
// must exist, for the rest of the process or until the returned release is
// called. Every command that writes to a data directory (serve, keys
// rotate, token create, admin recover) calls it first, so two of them
// never write the same directory at once. The lock is an flock on
// dir/holdfast.lock: the kernel drops it when the process ends, however it
// ends, so a crash never leaves a stale lock. When another process holds
// it, the error names that process and matches errDataDirLocked.
func LockDataDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
				holder = fmt.Sprintf(" (process %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is used by another holdfast process%s; stop it first, or use another --data-dir", errDataDirLocked, dir, holder)
		}
		return nil, fmt.Errorf("lock data directory %s: %w", dir, err)
	}
	// The pid is for the message above only; the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}

// requireDataDir refuses a directory that is not a Holdfast data directory
// (for commands that must never create one, such as check and keys
// rotate): it must exist and hold the database, the master key or the
// chunk store that serve leaves there.
func requireDataDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return fmt.Errorf("%s is not a holdfast data directory (it does not exist); pass the --data-dir that \"holdfast serve\" uses", dir)
	}
	for _, name := range []string{"holdfast.db", masterKeyFile, blobDir} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%s is not a holdfast data directory (no holdfast.db, %s or %s/ in it); pass the --data-dir that \"holdfast serve\" uses", dir, masterKeyFile, blobDir)
}
