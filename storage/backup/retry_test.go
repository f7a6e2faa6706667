package backup_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/holdfast/holdfast/storage/backup"
)

// firstCommit wraps the real server: the first snapshot commit goes to
// fn instead; uploads are counted.
type firstCommit struct {
	next    http.Handler
	fn      func(w http.ResponseWriter, r *http.Request, next http.Handler)
	commits atomic.Int32
	puts    atomic.Int32
}

func (f *firstCommit) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "PUT" && strings.Contains(r.URL.Path, "/chunks/"):
		f.puts.Add(1)
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/chunks"):
		// A batch: frames of ref (32 bytes), length (4), data.
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		for b := body; len(b) >= 36; b = b[36+binary.BigEndian.Uint32(b[32:36]):] {
			f.puts.Add(1)
		}
	case r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/snapshots"):
		if f.commits.Add(1) == 1 {
			f.fn(w, r, f.next)
			return
		}
	}
	f.next.ServeHTTP(w, r)
}

// wrapped starts the real server behind f and returns a client of it and
// a tree of four random files.
func wrapped(t *testing.T, f *firstCommit) (*backup.Client, string) {
	t.Helper()
	rs := newRealServer(t)
	f.next = rs.hs.Config.Handler
	hs := httptest.NewServer(f)
	t.Cleanup(hs.Close)
	c, err := backup.NewClient(hs.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	for i := range 4 {
		b := make([]byte, 1<<20+i)
		rand.NewChaCha8([32]byte{byte(i), 9}).Read(b)
		if err := os.WriteFile(filepath.Join(src, "f"+string(rune('a'+i))), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c, src
}

// TestRunSummaryCountsEveryAttempt: a commit refused for missing chunks
// makes the run cut and commit again; the summary counts the uploads of
// both attempts, which is what went over the wire.
func TestRunSummaryCountsEveryAttempt(t *testing.T) {
	f := &firstCommit{fn: func(w http.ResponseWriter, r *http.Request, _ http.Handler) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = w.Write([]byte(`{"error":{"code":"invalid","message":"snapshot names 1 chunks the store does not have",` +
			`"fields":[{"field":"chunks","message":"missing"}]}}`))
	}}
	c, src := wrapped(t, f)
	res, err := backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attempts != 2 || res.Uploaded != int(f.puts.Load()) || res.Uploaded == 0 {
		t.Errorf("summary: %d attempts, %d uploaded; the server took %d uploads over 2 attempts", res.Attempts, res.Uploaded, f.puts.Load())
	}
	if res.UploadedBytes < 4<<20 || res.Chunks == 0 || res.Deduplicated > res.Chunks {
		t.Errorf("summary: %d bytes uploaded, %d chunks, %d already stored; want at least the 4 MiB of new data", res.UploadedBytes, res.Chunks, res.Deduplicated)
	}
	again, err := backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	if again.Uploaded != 0 || again.Deduplicated != again.Chunks || again.Attempts != 1 {
		t.Errorf("unchanged backup: %d uploaded, %d of %d already stored, %d attempts; want 0, all, 1", again.Uploaded, again.Deduplicated, again.Chunks, again.Attempts)
	}
}

// TestRunCommitAnswerLost: the server stores the snapshot but the answer
// never arrives (the connection drops, as when a replica is killed); the
// client sends the commit again and gets that snapshot, not a second one.
func TestRunCommitAnswerLost(t *testing.T) {
	f := &firstCommit{fn: func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		next.ServeHTTP(httptest.NewRecorder(), r)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}}
	c, src := wrapped(t, f)
	res, err := backup.Run(context.Background(), backup.Options{Client: c, User: "ann@example.com", Device: "laptop", Paths: []string{src}})
	if err != nil {
		t.Fatal(err)
	}
	list, err := c.Snapshots(context.Background(), "ann@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if f.commits.Load() != 2 || len(list) != 1 || list[0].ID != res.Snapshot.ID {
		t.Errorf("%d commits sent, %d snapshots stored (result %s); want 2 sent and the one snapshot", f.commits.Load(), len(list), res.Snapshot.ID)
	}
}
