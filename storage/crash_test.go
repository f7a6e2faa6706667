package storage_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	"github.com/holdfast/holdfast/storage/fs"
)

// The crash tests run a workload in a child process (this test binary,
// re-executed into TestCrashChild) and kill it with SIGKILL: at a named
// point of a write sequence, or at a random moment while ingest,
// compaction and hold changes run at once. The parent then opens the store
// as a new process would and proves every committed snapshot intact.

const (
	envCrashDir   = "HOLDFAST_CRASH_DIR"
	envCrashAt    = "HOLDFAST_CRASH_AT"
	envCrashMode  = "HOLDFAST_CRASH_MODE"
	envCrashJourn = "HOLDFAST_CRASH_JOURNAL"
	// envCrashSkew moves the child's clock this many hours ahead: a killed
	// child leaves its prune lease behind, and the next one must find it
	// lapsed to prune at all.
	envCrashSkew = "HOLDFAST_CRASH_SKEW_HOURS"
)

// skewed returns crashOpts with the clock hours ahead.
func skewed(hours int) storage.Options {
	o := crashOpts
	o.Clock = clockFunc(func() time.Time { return time.Now().Add(time.Duration(hours) * time.Hour) })
	return o
}

var crashOpts = storage.Options{PruneGrace: -1, PackSize: 256 << 10, RepackBelow: 0.9}

// genFiles makes files whose names say their content ("seed-size-text"),
// so a parent can check a snapshot that a killed child committed without
// telling anyone.
func genFiles(seeds ...uint64) files {
	fl := files{}
	for _, seed := range seeds {
		size := 100<<10 + int(seed%7)*50<<10
		text := seed%2 == 0
		fl[fmt.Sprintf("%d-%d-%v", seed, size, text)] = genData(seed, size, text)
	}
	return fl
}

func expectedFiles(tb testing.TB, got files) files {
	tb.Helper()
	want := files{}
	for p := range got {
		parts := strings.Split(p, "-")
		if len(parts) != 3 {
			tb.Fatalf("unexpected item %q", p)
		}
		seed, _ := strconv.ParseUint(parts[0], 10, 64)
		size, _ := strconv.Atoi(parts[1])
		want[p] = genData(seed, size, parts[2] == "true")
	}
	return want
}

// killSelf is kill -9 of this process.
func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
}

// TestCrashChild is the child's workload; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(envCrashDir)
	if dir == "" {
		t.Skip("only run as the child of the crash tests")
	}
	blobs, err := fs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	skew, _ := strconv.Atoi(os.Getenv(envCrashSkew))
	s := openStore(t, blobs, skewed(skew))
	ctx := context.Background()
	if os.Getenv(envCrashMode) == "named" {
		at := os.Getenv(envCrashAt)
		storage.SetCrashHook(s, func(p string) error {
			if p == at {
				killSelf()
			}
			return nil
		})
		if _, _, err := tryBackup(ctx, s, acct, "u1", "laptop", genFiles(7, 99)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 2}, &holdSet{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Prune(ctx, &holdSet{}); err != nil {
			t.Fatal(err)
		}
		return // the point was not reached: the parent fails
	}

	// Random mode: run until killed. u0 is held throughout; u1's hold
	// comes and goes; every commit of u0 is journaled once it returns.
	journal, err := os.OpenFile(os.Getenv(envCrashJourn), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	holds := &holdSet{}
	holds.set("u0", true)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				user := fmt.Sprintf("u%d", (w+i)%3)
				seed := uint64(1000*w + i + 10)
				snap, _, err := tryBackup(ctx, s, acct, user, "laptop", genFiles(1, 2, seed))
				if err != nil {
					panic(err)
				}
				if user == "u0" {
					mu.Lock()
					fmt.Fprintln(journal, snap.ID)
					journal.Sync()
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; ; i++ {
		holds.set("u1", i%2 == 0)
		if _, err := s.Forget(ctx, storage.SnapshotFilter{AccountID: acct}, holdfast.Retention{KeepLast: 1}, holds); err != nil {
			panic(err)
		}
		if _, err := s.Prune(ctx, holds); err != nil {
			panic(err)
		}
	}
}

// runChild starts the child; kill, when positive, SIGKILLs it after that
// long. It returns whether the child died of SIGKILL.
func runChild(t *testing.T, env []string, kill time.Duration) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if kill > 0 {
		timer := time.AfterFunc(kill, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	t.Logf("child exited without being killed (%v):\n%s", err, out)
	return false
}

// verifyAfterCrash opens the store as a new process and checks it: no
// damage, and every snapshot listed restores byte for byte.
func verifyAfterCrash(t *testing.T, blobs holdfast.BlobStore, must []string) map[string]bool {
	t.Helper()
	s := openStore(t, blobs, crashOpts)
	mustCheck(t, s)
	list, err := s.Snapshots(context.Background(), storage.SnapshotFilter{AccountID: acct})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, sn := range list {
		have[sn.ID] = true
		got := restore(t, s, acct, sn.ID)
		sameFiles(t, sn.ID, got, expectedFiles(t, got))
	}
	for _, id := range must {
		if !have[id] {
			t.Errorf("committed snapshot %s is gone", id)
		}
	}
	return have
}

func TestCrashKill9AtNamedPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	points := []string{
		"flush.pack-written", "flush.index-written", "commit.chunks-durable", "commit.snapshot-written",
		"forget.snapshot-deleted", "prune.packs-written", "prune.index-written", "prune.index-deleted", "prune.pack-deleted",
	}
	for _, point := range points {
		t.Run(point, func(t *testing.T) {
			dir := t.TempDir()
			blobs, err := fs.New(dir)
			if err != nil {
				t.Fatal(err)
			}
			s := openStore(t, blobs, crashOpts)
			var newest string
			for i := range 3 {
				snap, _ := backup(t, s, acct, "u1", genFiles(7, uint64(20+i)))
				newest = snap.ID
			}
			if !runChild(t, []string{envCrashDir + "=" + dir, envCrashMode + "=named", envCrashAt + "=" + point}, 0) {
				t.Fatalf("the child never reached %s", point)
			}
			verifyAfterCrash(t, blobs, []string{newest})
			// A clean compaction afterwards, once the killed child's prune
			// lease has lapsed, tidies up and loses nothing.
			s2 := openStore(t, blobs, skewed(7))
			if _, err := s2.Prune(context.Background(), &holdSet{}); err != nil {
				t.Fatalf("Prune after the crash: %v", err)
			}
			if rep := mustCheck(t, s2); len(rep.Orphans) > 0 {
				t.Errorf("orphans left after Prune: %v", rep.Orphans)
			}
			verifyAfterCrash(t, blobs, []string{newest})
		})
	}
}

func TestCrashKill9DuringConcurrentIngestCompactionAndHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	blobs, err := fs.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(t.TempDir(), "u0.journal")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for round := range 4 {
		delay := time.Duration(300+r.IntN(2200)) * time.Millisecond
		env := []string{envCrashDir + "=" + dir, envCrashMode + "=random", envCrashJourn + "=" + journal, envCrashSkew + "=" + strconv.Itoa(7*round)}
		if !runChild(t, env, delay) {
			t.Fatalf("round %d: the child did not run until killed", round)
		}
		var held []string
		if f, err := os.Open(journal); err == nil {
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				held = append(held, sc.Text())
			}
			f.Close()
		}
		have := verifyAfterCrash(t, blobs, held)
		t.Logf("round %d: killed after %v; %d snapshots, %d of the held user", round, delay, len(have), len(held))
		if t.Failed() {
			return
		}
	}
}
