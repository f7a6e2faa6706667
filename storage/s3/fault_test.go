package s3_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/s3"
)

// faultTransport passes requests to the server until a fault is set:
// "down" refuses the connection, "frozen" never answers (until the
// request's context ends), "full" answers MinIO's 507.
type faultTransport struct {
	fault atomic.Value // string
}

func (f *faultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	switch f.fault.Load() {
	case "down":
		return nil, &dialError{syscall.ECONNREFUSED}
	case "frozen":
		<-req.Context().Done()
		return nil, req.Context().Err()
	case "full":
		body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>XMinioStorageFull</Code><Message>Storage backend has reached its minimum free drive threshold.</Message></Error>`
		return &http.Response{StatusCode: http.StatusInsufficientStorage, Status: "507 Insufficient Storage",
			Header: http.Header{"Content-Type": {"application/xml"}}, Body: io.NopCloser(strings.NewReader(body)),
			ContentLength: int64(len(body)), Request: req}, nil
	}
	return http.DefaultTransport.RoundTrip(req)
}

// dialError stands for the dial error of a server that is down.
type dialError struct{ errno syscall.Errno }

func (e *dialError) Error() string { return "dial tcp: " + e.errno.Error() }
func (e *dialError) Unwrap() error { return e.errno }

// TestFaults: against a server that is down, frozen or full, every call
// ends within the store's timeout with a *holdfast.DependencyError of the
// right kind; a caller that leaves gets its own error; and calls work
// again once the fault clears.
func TestFaults(t *testing.T) {
	srv := testServer(t)
	tr := &faultTransport{}
	const timeout = 500 * time.Millisecond
	s := openWith(t, srv, srv.bucket, s3.Options{Transport: tr, Timeout: timeout})
	ctx := context.Background()
	if err := s.Put(ctx, "present", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func(context.Context) error{
		"Put": func(ctx context.Context) error { return s.Put(ctx, "new", bytes.NewReader([]byte("y")), 1) },
		"Get": func(ctx context.Context) error {
			rc, err := s.Get(ctx, "present")
			if err == nil {
				rc.Close()
			}
			return err
		},
		"GetRange": func(ctx context.Context) error {
			rc, err := s.GetRange(ctx, "present", 0, 1)
			if err == nil {
				rc.Close()
			}
			return err
		},
		"Stat":   func(ctx context.Context) error { _, err := s.Stat(ctx, "present"); return err },
		"List":   func(ctx context.Context) error { return s.List(ctx, "", func(string, int64) error { return nil }) },
		"Delete": func(ctx context.Context) error { return s.Delete(ctx, "present-not") },
	}
	for _, tt := range []struct {
		fault string
		kind  error
	}{{"down", holdfast.ErrUnavailable}, {"frozen", holdfast.ErrUnavailable}, {"full", holdfast.ErrNoSpace}} {
		tr.fault.Store(tt.fault)
		for name, call := range calls {
			start := time.Now()
			err := call(ctx)
			var dep *holdfast.DependencyError
			if !errors.As(err, &dep) || !errors.Is(err, tt.kind) || dep.Dependency != "object store" {
				t.Errorf("%s with the server %s = %v, want a DependencyError of the object store matching %v", name, tt.fault, err, tt.kind)
			}
			if took := time.Since(start); took > 4*timeout {
				t.Errorf("%s with the server %s took %s, want the %s timeout to end it", name, tt.fault, took, timeout)
			}
		}
	}
	tr.fault.Store("frozen")
	left, cancel := context.WithTimeout(ctx, timeout/5)
	defer cancel()
	if err := s.Put(left, "new", bytes.NewReader([]byte("y")), 1); errors.Is(err, holdfast.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Put by a caller whose own deadline passed = %v, want its deadline, not an outage", err)
	}
	tr.fault.Store("")
	for name, call := range calls {
		if err := call(ctx); err != nil {
			t.Errorf("%s once the server is back = %v", name, err)
		}
	}
}
