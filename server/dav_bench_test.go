package server

import (
	"context"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
)

// Benchmarks of the WebDAV export over loopback (issue 5):
//
//	go test ./server -run '^$' -bench 'DAV' -benchtime 5x
//
// BenchmarkDAVDownload serves one large file (HOLDFAST_BENCH_BYTES, 1 GiB
// by default) from the dedup store through WebDAV and, side by side, the
// same bytes from a plain file through net/http; BenchmarkDAVPropfind
// lists a folder of 10,000 messages; BenchmarkDAVFirstByte measures the
// first byte of one message.

func benchBytes(b *testing.B) int64 {
	if v := os.Getenv("HOLDFAST_BENCH_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			b.Fatalf("HOLDFAST_BENCH_BYTES=%q", v)
		}
		return n
	}
	return 1 << 30
}

// ingestReader backs up one item read from r (size bytes) as a snapshot,
// chunk by chunk, without holding the item in memory.
func ingestReader(tb testing.TB, s *storage.Store, account, user string, src storage.Source, device, path string, size int64, r io.Reader) {
	tb.Helper()
	ctx := context.Background()
	key, err := s.ChunkerKey(ctx, account)
	if err != nil {
		tb.Fatal(err)
	}
	it := storage.Item{Path: path, Size: size, Modified: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	err = storage.NewChunker(key).Split(r, func(ref holdfast.ChunkRef, data []byte) error {
		it.Chunks = append(it.Chunks, ref)
		return s.PutChunk(ctx, account, ref, data)
	})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.CommitSnapshot(ctx, storage.Snapshot{AccountID: account, UserID: user, Source: src, Device: device, Items: []storage.Item{it}}); err != nil {
		tb.Fatal(err)
	}
}

// get downloads url (with Basic credentials when user is set) and returns
// the bytes read.
func get(b *testing.B, url, user, pass string) int64 {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		b.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		b.Fatal(err)
	}
	return n
}

func BenchmarkDAVDownload(b *testing.B) {
	size := benchBytes(b)
	f := newDAVFixture(b)
	// The same pseudo-random (incompressible) bytes go to the store and to
	// a plain file.
	plain := filepath.Join(b.TempDir(), "big.bin")
	fd, err := os.Create(plain)
	if err != nil {
		b.Fatal(err)
	}
	src := io.LimitReader(mrand.NewChaCha8([32]byte{1}), size)
	pr, pw := io.Pipe()
	go func() {
		_, err := io.Copy(io.MultiWriter(fd, pw), src)
		pw.CloseWithError(err)
	}()
	ingestReader(b, f.data, f.account.ID, f.user, storage.SourceDevice, "laptop", "bench/big.bin", size, pr)
	if err := fd.Close(); err != nil {
		b.Fatal(err)
	}
	if err := f.data.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, plain) }))
	b.Cleanup(files.Close)
	davURL := f.url + "/dav/holds/" + f.hold + "/ann@example.com/laptop/bench/big.bin"

	// Both are downloaded in every iteration, one after the other, so that
	// load from elsewhere on the machine hits both alike; each is timed
	// on its own and the ratio is reported.
	var dav, file time.Duration
	b.SetBytes(2 * size)
	for b.Loop() {
		t0 := time.Now()
		if n := get(b, davURL, f.userName, f.password); n != size {
			b.Fatalf("webdav: %d bytes, want %d", n, size)
		}
		t1 := time.Now()
		if n := get(b, files.URL, "", ""); n != size {
			b.Fatalf("plain file: %d bytes, want %d", n, size)
		}
		dav, file = dav+t1.Sub(t0), file+time.Since(t1)
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
	b.ReportMetric(mbps(dav), "webdav-MB/s")
	b.ReportMetric(mbps(file), "plainfile-MB/s")
	b.ReportMetric(100*file.Seconds()/dav.Seconds(), "webdav-%-of-plain")
}

// ingestMailbox backs up n messages received the same day.
func ingestMailbox(tb testing.TB, f *davFixture, n int) {
	tb.Helper()
	ctx := context.Background()
	key, err := f.data.ChunkerKey(ctx, f.account.ID)
	if err != nil {
		tb.Fatal(err)
	}
	c := storage.NewChunker(key)
	day := time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC)
	items := make([]storage.Item, 0, n)
	for i := range n {
		msg := fmt.Sprintf("From: a@example.com\r\nTo: ann@example.com\r\nDate: Tue, 3 Feb 2026 10:00:00 +0000\r\nMessage-ID: <%d@example.com>\r\nSubject: message %d\r\n\r\n%s\r\n",
			i, i, strings.Repeat(fmt.Sprintf("line %d of the body\r\n", i), 20))
		it := storage.Item{Path: fmt.Sprintf("Inbox/msg-%05d", i), ContentType: storage.ContentTypeMail, Size: int64(len(msg)), Created: day.Add(time.Duration(i) * time.Second)}
		it.Chunks = []holdfast.ChunkRef{c.Ref([]byte(msg))}
		if err := f.data.PutChunk(ctx, f.account.ID, it.Chunks[0], []byte(msg)); err != nil {
			tb.Fatal(err)
		}
		items = append(items, it)
	}
	if _, err := f.data.CommitSnapshot(ctx, storage.Snapshot{AccountID: f.account.ID, UserID: f.user, Source: storage.SourceMail, Device: "Exchange Online", Items: items}); err != nil {
		tb.Fatal(err)
	}
}

func propfind(b *testing.B, url, user, pass string) int {
	req, err := http.NewRequest("PROPFIND", url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.SetBasicAuth(user, pass)
	req.Header.Set("Depth", "1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != 207 {
		b.Fatalf("PROPFIND: %d %v", res.StatusCode, err)
	}
	return strings.Count(string(body), "<D:response>")
}

func BenchmarkDAVPropfind(b *testing.B) {
	const n = 10_000
	f := newDAVFixture(b)
	ingestMailbox(b, f, n)
	url := f.url + "/dav/holds/" + f.hold + "/ann@example.com/Mail/2026/02/03/"
	start := time.Now()
	if got := propfind(b, url, f.userName, f.password); got != n+1 {
		b.Fatalf("%d responses, want %d", got, n+1)
	}
	cold := time.Since(start)
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		propfind(b, url, f.userName, f.password)
		lat = append(lat, time.Since(t0))
	}
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "ms-p99")
	b.ReportMetric(float64(cold.Microseconds())/1000, "ms-cold")
}

func BenchmarkDAVFirstByte(b *testing.B) {
	f := newDAVFixture(b)
	ingestMailbox(b, f, 1000)
	url := f.url + "/dav/holds/" + f.hold + "/ann@example.com/Mail/2026/02/03/msg-00500.eml"
	get(b, url, f.userName, f.password) // the custodian's tree, built once
	var lat []time.Duration
	for b.Loop() {
		var t0 time.Time
		var first time.Duration
		trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Since(t0) }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url, nil)
		req.SetBasicAuth(f.userName, f.password)
		t0 = time.Now()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		lat = append(lat, first)
	}
	b.ReportMetric(float64(percentile(lat, 0.5).Microseconds())/1000, "ms-first-byte-p50")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "ms-first-byte-p99")
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(math.Min(float64(len(s)-1), p*float64(len(s))))]
}
