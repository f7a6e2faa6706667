package backup_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/holdfast/holdfast/storage/backup"
)

// TestTreeVersusRestic measures the README's many-files rows side by side
// with restic in one run (the machine's load hits both alike; quote the
// ratios): a first backup of a tree of HOLDFAST_BENCH_TREE_FILES small
// documents plus ten 20 MB random files, an unchanged re-backup, a restore
// of the documents, a restore of the ten large files, and a zip download
// of the documents. It runs only when asked:
//
//	apt-get install -y restic
//	HOLDFAST_BENCH_TREE_FILES=25000 go test ./storage/backup -run TestTreeVersusRestic -v -timeout 30m
func TestTreeVersusRestic(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HOLDFAST_BENCH_TREE_FILES"))
	if n <= 0 {
		t.Skip("set HOLDFAST_BENCH_TREE_FILES (documents in the tree) to run")
	}
	restic, err := exec.LookPath("restic")
	if err != nil {
		t.Skip("restic is not installed (apt-get install -y restic)")
	}
	work := t.TempDir()
	tree := filepath.Join(work, "tree")
	docBytes := genTree(t, tree, n)
	total := dirSize(t, tree)
	t.Logf("tree: %d documents (%s) and ten 20 MB files, %s in all", n, size(docBytes), size(total))

	hs, _ := realServer(t)
	cl, _ := backup.NewClient(hs.URL, token, &http.Client{Transport: http.DefaultTransport})
	ctx := context.Background()
	opts := backup.Options{Client: cl, User: "ann@example.com", Device: "laptop", Paths: []string{tree}, CacheDir: filepath.Join(work, "cache")}
	env := append(os.Environ(), "RESTIC_PASSWORD=bench", "RESTIC_REPOSITORY="+filepath.Join(work, "restic-repo"), "RESTIC_CACHE_DIR="+filepath.Join(work, "restic-cache"))
	rs := func(args ...string) time.Duration {
		cmd := exec.Command(restic, args...)
		cmd.Env = env
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("restic %v: %v\n%s", args, err, out)
		}
		return time.Since(start)
	}
	rs("init")
	timed := func(f func() error) time.Duration {
		start := time.Now()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	var snap string
	row := func(what string, ours, theirs time.Duration, bytes int64) {
		t.Logf("| %s | %v (%s) | %v (%s) | %.2fx |", what, ours.Round(time.Millisecond), mbps(bytes, ours),
			theirs.Round(time.Millisecond), mbps(bytes, theirs), theirs.Seconds()/ours.Seconds())
	}
	t.Logf("| measurement | Holdfast | restic | restic time / Holdfast time |")
	first := timed(func() error { r, err := backup.Run(ctx, opts); snap = r.Snapshot.ID; return err })
	row("first backup of the tree", first, rs("backup", "--quiet", tree), total)
	again := timed(func() error { _, err := backup.Run(ctx, opts); return err })
	row("unchanged re-backup of the tree", again, rs("backup", "--quiet", tree), total)
	for _, shape := range []struct {
		what, prefix, include string
		bytes                 int64
	}{
		{"restore of the documents", "tree/docs/", tree + "/docs", docBytes},
		{"restore of the ten 20 MB files", "tree/big/", tree + "/big", 200 << 20},
	} {
		ours := timed(func() error {
			_, err := backup.Restore(ctx, backup.RestoreOptions{Client: cl, SnapshotID: snap, Target: filepath.Join(work, "r-"+strconv.Itoa(rand.IntN(1e9))), Prefix: shape.prefix})
			return err
		})
		theirs := rs("restore", "latest", "--target", filepath.Join(work, "rr-"+strconv.Itoa(rand.IntN(1e9))), "--include", shape.include)
		row(shape.what, ours, theirs, shape.bytes)
	}
	zipTime := timed(func() error {
		req, _ := http.NewRequest("GET", hs.URL+"/api/v1/snapshots/"+snap+"/zip?prefix=tree/docs/", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(work, "docs.zip"))
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.ReadFrom(resp.Body)
		return err
	})
	t.Logf("| zip download of the documents (GET .../zip, to a file) | %v (%s) | | |", zipTime.Round(time.Millisecond), mbps(docBytes, zipTime))
}

// genTree writes n documents of 1 to 17 KiB of text under dir/docs (a
// hundred to a folder) and ten 20 MB random files under dir/big; it
// returns the documents' bytes.
func genTree(tb testing.TB, dir string, n int) int64 {
	r := rand.New(rand.NewPCG(7, 7))
	var docs int64
	for i := range n {
		p := filepath.Join(dir, "docs", fmt.Sprintf("%03d", i/100), fmt.Sprintf("doc-%05d.txt", i))
		if i%100 == 0 {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				tb.Fatal(err)
			}
		}
		b := textBlock(r, 1<<10+r.IntN(16<<10))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			tb.Fatal(err)
		}
		docs += int64(len(b))
	}
	if err := os.MkdirAll(filepath.Join(dir, "big"), 0o755); err != nil {
		tb.Fatal(err)
	}
	for i := range 10 {
		b := make([]byte, 20<<20)
		rand.NewChaCha8([32]byte{byte(i), 20}).Read(b)
		if err := os.WriteFile(filepath.Join(dir, "big", fmt.Sprintf("random-%d.bin", i)), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return docs
}
