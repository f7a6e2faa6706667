package backup_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast/storage/backup"
)

// requestLog counts the requests a client sends, by method and route.
type requestLog struct {
	mu sync.Mutex
	n  map[string]int
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	route := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/'):]
	if strings.Contains(r.URL.Path, "/chunks/") {
		route = "/chunks/{ref}"
	}
	l.mu.Lock()
	l.n[r.Method+" "+route]++
	l.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

var (
	dirTime  = time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	linkTime = time.Date(2019, 8, 7, 6, 5, 4, 0, time.UTC)
)

// makeTree writes n small files under root/docs/NN/, an empty directory
// (mode 0750), a relative link, a dangling link and a link to a directory.
func makeTree(t *testing.T, root string, n int) {
	t.Helper()
	for i := range n {
		p := filepath.Join(root, "docs", fmt.Sprintf("%02d", i%10), fmt.Sprintf("doc-%04d.txt", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(strings.Repeat(fmt.Sprintf("document %d\n", i), 1+i%50)), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	empty := filepath.Join(root, "empty", "deeper")
	if err := os.MkdirAll(empty, 0o750); err != nil {
		t.Fatal(err)
	}
	for target, name := range map[string]string{"docs/00/doc-0000.txt": "first", "nowhere/at/all": "dangling", "docs": "docs-link"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
		if err := lchtimes(filepath.Join(root, name), linkTime); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{empty, filepath.Dir(empty)} {
		if err := os.Chmod(d, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(d, dirTime, dirTime); err != nil {
			t.Fatal(err)
		}
	}
}

// sameTree compares two trees: types, contents, link targets, modes and
// modification times (links' own times; directories' too).
func sameTree(t *testing.T, want, got string) {
	t.Helper()
	count := 0
	err := filepath.Walk(want, func(p string, wi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		count++
		rel, _ := filepath.Rel(want, p)
		gi, err := os.Lstat(filepath.Join(got, rel))
		if err != nil {
			t.Errorf("%s: not restored: %v", rel, err)
			return nil
		}
		if gi.Mode() != wi.Mode() || !gi.ModTime().Equal(wi.ModTime()) {
			t.Errorf("%s: restored %v %v, want %v %v", rel, gi.Mode(), gi.ModTime().UTC(), wi.Mode(), wi.ModTime().UTC())
		}
		switch {
		case wi.Mode()&os.ModeSymlink != 0:
			wl, _ := os.Readlink(p)
			gl, _ := os.Readlink(filepath.Join(got, rel))
			if gl != wl {
				t.Errorf("%s: link to %q, want %q", rel, gl, wl)
			}
		case wi.Mode().IsRegular():
			wb, _ := os.ReadFile(p)
			gb, _ := os.ReadFile(filepath.Join(got, rel))
			if !bytes.Equal(wb, gb) {
				t.Errorf("%s: restored %d bytes differ from the %d backed up", rel, len(gb), len(wb))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if count < 5 {
		t.Fatalf("compared only %d entries", count)
	}
}

// TestTreeRoundTripBatched: a tree of many small files, empty directories
// and symbolic links comes back identical (types, bytes, link targets,
// modes, times); the small files go up in a few batch requests, not one
// per file, and come back in a few streams, not one request per file.
func TestTreeRoundTripBatched(t *testing.T) {
	hs, _ := realServer(t)
	log := &requestLog{n: map[string]int{}}
	c, err := backup.NewClient(hs.URL, token, &http.Client{Transport: log})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "tree")
	const files = 600
	makeTree(t, src, files)
	res, err := backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Uploaded < files/50 {
		t.Fatalf("uploaded %d chunks for %d files", res.Uploaded, files)
	}
	if n := log.n["POST /chunks"]; n == 0 || n > 4 || log.n["PUT /chunks/{ref}"] != 0 {
		t.Errorf("%d distinct chunks went up in %d batch requests and %d single ones, want at most 4 batches", res.Uploaded, n, log.n["PUT /chunks/{ref}"])
	}
	dir := t.TempDir()
	rr, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: dir})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Items != res.Items {
		t.Errorf("restored %d items of %d", rr.Items, res.Items)
	}
	if n := log.n["POST /restore"]; n == 0 || n > 20 || log.n["GET /content"] != 0 {
		t.Errorf("%d files came back in %d streams and %d single downloads, want at most 20 streams", files, n, log.n["GET /content"])
	}
	sameTree(t, src, filepath.Join(dir, "tree"))

	// Again over the restored tree: refused without overwrite, identical
	// with it.
	if _, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: dir}); err == nil {
		t.Error("a restore over the restored tree was not refused")
	}
	if _, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: dir, Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	sameTree(t, src, filepath.Join(dir, "tree"))
}

// TestRestoreNeverWritesThroughALink: a snapshot whose link sits where
// another item's directory is cannot make the restore write outside the
// target (links are made after every file, and a link in the way of a
// directory stops the restore).
func TestRestoreNeverWritesThroughALink(t *testing.T) {
	hs, _ := realServer(t)
	c, _ := backup.NewClient(hs.URL, token, nil)
	outside := t.TempDir()
	src := filepath.Join(t.TempDir(), "home")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "note"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(src, "out")); err != nil {
		t.Fatal(err)
	}
	res, err := backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: dir}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.Readlink(filepath.Join(dir, "home", "out")); got != outside {
		t.Errorf("link restored to %q, want %q", got, outside)
	}
	// A later file under the link's name is refused, not written outside.
	if err := os.Remove(filepath.Join(src, "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "out"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "out", "planted"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backup.Restore(context.Background(), backup.RestoreOptions{Client: c, SnapshotID: res.Snapshot.ID, Target: dir, Overwrite: true}); err == nil {
		t.Error("a restore through a link in the target was not refused")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Error("the restore wrote through a link, outside its target")
	}
}

// TestZipDownloadOfAFolder: GET /api/v1/snapshots/{id}/zip?prefix= streams
// the folder as a zip that archive/zip reads back: every file's bytes,
// mode and time, the empty directories and the links.
func TestZipDownloadOfAFolder(t *testing.T) {
	hs, _ := realServer(t)
	c, _ := backup.NewClient(hs.URL, token, nil)
	src := filepath.Join(t.TempDir(), "tree")
	makeTree(t, src, 40)
	res, err := backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", hs.URL+"/api/v1/snapshots/"+res.Snapshot.ID+"/zip?prefix=tree/", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename="tree.zip"`) {
		t.Fatalf("zip download = %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range zr.File {
		seen[f.Name] = true
		local := filepath.Join(filepath.Dir(src), filepath.FromSlash(strings.TrimSuffix(f.Name, "/")))
		fi, err := os.Lstat(local)
		if err != nil {
			t.Errorf("%s: not in the source", f.Name)
			continue
		}
		if f.Mode() != fi.Mode() {
			t.Errorf("%s: mode %v, want %v", f.Name, f.Mode(), fi.Mode())
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			want, _ := os.Readlink(local)
			if string(got) != want {
				t.Errorf("%s: link to %q, want %q", f.Name, got, want)
			}
		case fi.Mode().IsRegular():
			want, _ := os.ReadFile(local)
			if !bytes.Equal(got, want) || !f.Modified.Equal(fi.ModTime().Truncate(time.Second)) {
				t.Errorf("%s: %d bytes at %v, want %d at %v", f.Name, len(got), f.Modified, len(want), fi.ModTime())
			}
		}
	}
	for _, name := range []string{"tree/docs/", "tree/empty/deeper/", "tree/dangling", "tree/docs/03/doc-0003.txt"} {
		if !seen[name] {
			t.Errorf("the zip has no %s", name)
		}
	}
	if len(zr.File) != res.Items-1 { // all but "tree" itself
		t.Errorf("the zip has %d entries, the snapshot %d items under tree/", len(zr.File), res.Items-1)
	}
}
