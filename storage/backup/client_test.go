package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// statusServer answers each request with the status statuses[n] (the last
// one from then on) in the JSON envelope, counting requests.
func statusServer(t *testing.T, statuses ...int) (*Client, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		status := statuses[min(i, len(statuses)-1)]
		if status < 300 {
			w.WriteHeader(status)
			return
		}
		if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":{"code":"x","message":"the blob store is down","request_id":"r1"}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, "hf_token", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, &n
}

func TestClientRetriesUnavailable(t *testing.T) {
	c, n := statusServer(t, 503, 503, 204)
	start := time.Now()
	if err := c.PutChunk(t.Context(), "d1", holdfast.ChunkRef{}, []byte("chunk")); err != nil {
		t.Fatalf("PutChunk after two 503s = %v, want success on the third try", err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3", n.Load())
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("retried after %s, want at least the server's Retry-After (1s) between tries", took)
	}
}

func TestClientGivesUpOnUnavailableAfterRetryFor(t *testing.T) {
	c, n := statusServer(t, 503)
	c.RetryFor = 3 * time.Second
	start := time.Now()
	err := c.PutChunk(t.Context(), "d1", holdfast.ChunkRef{}, []byte("chunk"))
	if !errors.Is(err, holdfast.ErrUnavailable) || !strings.Contains(err.Error(), "server unavailable") || !strings.Contains(err.Error(), "blob store is down") {
		t.Fatalf("PutChunk with the server down = %v, want a clear unavailable error", err)
	}
	if took := time.Since(start); took > 5*time.Second || n.Load() < 2 {
		t.Errorf("gave up after %s and %d requests, want retries bounded by RetryFor (3s)", took, n.Load())
	}
}

func TestClientStopsAtOnceOnInsufficientStorage(t *testing.T) {
	c, n := statusServer(t, 507, 204)
	err := c.PutChunk(context.Background(), "d1", holdfast.ChunkRef{}, []byte("chunk"))
	if !errors.Is(err, holdfast.ErrNoSpace) || n.Load() != 1 {
		t.Fatalf("PutChunk on a full store = %v after %d requests, want ErrNoSpace after 1", err, n.Load())
	}
}

func TestClientRetriesTransientAnswers(t *testing.T) {
	c, n := statusServer(t, 502, 429, 500, 504, 204)
	start := time.Now()
	if err := c.PutChunk(t.Context(), "d1", holdfast.ChunkRef{}, []byte("chunk")); err != nil {
		t.Fatalf("PutChunk after 502, 429, 500, 504 = %v, want success on the fifth try", err)
	}
	if n.Load() != 5 {
		t.Errorf("%d requests, want 5", n.Load())
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("retried after %s, want at least the 429's Retry-After (1s)", took)
	}
}

// resetServer drops the connection of the first drops requests without an
// answer (as a replica killed mid-request does), then answers 204,
// recording the bodies it got.
func resetServer(t *testing.T, drops int) (*Client, *atomic.Int32, chan []byte) {
	t.Helper()
	var n atomic.Int32
	bodies := make(chan []byte, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if int(n.Add(1)) <= drops {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, not an orderly close
			}
			conn.Close()
			return
		}
		bodies <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	c, err := NewClient(srv.URL, "hf_token", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, &n, bodies
}

func TestClientRetriesConnectionReset(t *testing.T) {
	c, n, bodies := resetServer(t, 2)
	data := []byte("a chunk whose upload is cut off twice")
	if err := c.PutChunk(t.Context(), "d1", holdfast.ChunkRef{}, data); err != nil {
		t.Fatalf("PutChunk after two connection resets = %v, want success on the third try", err)
	}
	if n.Load() != 3 {
		t.Errorf("%d requests, want 3", n.Load())
	}
	if got := <-bodies; !bytes.Equal(got, data) {
		t.Errorf("the retried upload carried %q, want the whole chunk again", got)
	}
}

func TestClientRetriesStreamOpen(t *testing.T) {
	c, n := statusServer(t, 502, 200)
	rc, err := c.Content(t.Context(), "s1", "a.txt")
	if err != nil {
		t.Fatalf("Content after a 502 = %v, want the answer of the second try", err)
	}
	rc.Close()
	if n.Load() != 2 {
		t.Errorf("%d requests, want 2", n.Load())
	}
}

func TestClientGivesUpOnUnreachableAfterRetryFor(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there now
	c, err := NewClient(url, "hf_token", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.RetryFor = 2 * time.Second
	start := time.Now()
	err = c.PutChunk(t.Context(), "d1", holdfast.ChunkRef{}, []byte("chunk"))
	if err == nil || !strings.Contains(err.Error(), "server unreachable, still after retrying") {
		t.Fatalf("PutChunk with nothing listening = %v, want a clear unreachable error", err)
	}
	if took := time.Since(start); took < time.Second || took > 5*time.Second {
		t.Errorf("gave up after %s, want retries bounded by RetryFor (2s)", took)
	}
}
