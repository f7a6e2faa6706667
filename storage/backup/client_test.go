package backup

import (
	"context"
	"errors"
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
		if status == http.StatusServiceUnavailable {
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
