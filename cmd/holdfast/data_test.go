package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMasterKey is a master key in the form $HOLDFAST_MASTER_KEY takes.
const testMasterKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// TestDataDirLock: a second serve, or a writing offline command, on a data
// directory a server is using refuses with a clear message; after the
// server stops, the directory is free again.
func TestDataDirLock(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{envDataDir: dir, envBootstrapToken: testToken}
	inst := startServe(t, env)

	_, err := launch(t, env)
	if err == nil || !strings.Contains(err.Error(), "used by another holdfast process") {
		t.Fatalf("second serve on the same directory: %v, want a refusal naming the other process", err)
	}
	_, _, err = runCmd(t, env, "keys", "rotate", "--data-dir", dir)
	if !errors.Is(err, errDataDirLocked) {
		t.Fatalf("keys rotate while serve runs: %v, want errDataDirLocked", err)
	}
	if _, _, err := runCmd(t, env, "check", "--data-dir", dir); err != nil {
		t.Errorf("check (read-only) while serve runs: %v, want it to run", err)
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCmd(t, env, "keys", "rotate", "--data-dir", dir); errors.Is(err, errDataDirLocked) {
		t.Fatalf("keys rotate after serve stopped: %v, want the lock released", err)
	}
	startServe(t, env)
}

// TestLockDataDirInProcess: the lock excludes a second holder in the same
// process too (flock locks are per open file), and release frees it.
func TestLockDataDirInProcess(t *testing.T) {
	dir := t.TempDir()
	release, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LockDataDir(dir); !errors.Is(err, errDataDirLocked) || !strings.Contains(err.Error(), "process") {
		t.Fatalf("second lock = %v, want errDataDirLocked naming the holder", err)
	}
	release()
	release2, err := LockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	release2()
}

// TestOfflineCommandsNeedDataDir: check and keys rotate refuse a directory
// that is not a data directory and create nothing in it.
func TestOfflineCommandsNeedDataDir(t *testing.T) {
	env := map[string]string{envMasterKey: testMasterKey}
	empty := t.TempDir()
	missing := filepath.Join(t.TempDir(), "nope")
	for _, dir := range []string{empty, missing} {
		for _, args := range [][]string{{"check"}, {"keys", "rotate"}} {
			_, _, err := runCmd(t, env, append(args, "--data-dir", dir)...)
			if err == nil || !strings.Contains(err.Error(), "not a holdfast data directory") {
				t.Errorf("%v --data-dir %s: %v, want a refusal", args, dir, err)
			}
		}
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("check created %d entries in a directory that is not a data directory", len(entries))
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("check created the missing directory: %v", err)
	}
}
