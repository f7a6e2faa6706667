package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/s3"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// env returns the first set variable: ours (HOLDFAST_TEST_S3_*), then the
// object-store peer's exports (../shared/peers/object-store/start).
func env(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

type server struct {
	endpoint, access, secret, bucket, locked string
}

func testServer(t *testing.T) server {
	t.Helper()
	s := server{
		endpoint: env("HOLDFAST_TEST_S3_ENDPOINT", "S3_ENDPOINT_HOST"),
		access:   env("HOLDFAST_TEST_S3_ACCESS_KEY", "S3_ACCESS_KEY"),
		secret:   env("HOLDFAST_TEST_S3_SECRET_KEY", "S3_SECRET_KEY"),
		bucket:   env("HOLDFAST_TEST_S3_BUCKET", "S3_BUCKET"),
		locked:   env("HOLDFAST_TEST_S3_LOCKED_BUCKET", "S3_LOCKED_BUCKET"),
	}
	if s.endpoint == "" || s.bucket == "" {
		storagetest.SkipOrFail(t, "s3", "no server: set HOLDFAST_TEST_S3_ENDPOINT (host:port) and _BUCKET, _ACCESS_KEY, _SECRET_KEY, or eval \"$(../shared/peers/object-store/start)\"")
	}
	return s
}

// open returns a store under a fresh prefix of bucket and empties that
// prefix when the test ends.
func open(t *testing.T, srv server, bucket string) *s3.Store {
	t.Helper()
	return openWith(t, srv, bucket, s3.Options{})
}

// openWith is open with opts (URL and keys are set here).
func openWith(t *testing.T, srv server, bucket string, opts s3.Options) *s3.Store {
	t.Helper()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	url := "s3://" + srv.endpoint + "/" + bucket + "/test-" + hex.EncodeToString(rnd[:]) + "?secure=false"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts.URL, opts.AccessKey, opts.SecretKey = url, srv.access, srv.secret
	s, err := s3.New(ctx, opts)
	if err != nil {
		storagetest.SkipOrFail(t, "s3", "cannot reach "+srv.endpoint+": "+err.Error())
	}
	t.Cleanup(func() {
		ctx := context.Background()
		var names []string
		_ = s.List(ctx, "", func(name string, _ int64) error { names = append(names, name); return nil })
		for _, n := range names {
			_ = s.Delete(ctx, n)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	srv := testServer(t)
	storagetest.TestBlobStore(t, func(t *testing.T) holdfast.BlobStore { return open(t, srv, srv.bucket) })
}

func TestNewErrors(t *testing.T) {
	srv := testServer(t)
	ctx := context.Background()
	for _, url := range []string{"http://x/b", "s3://", "s3://" + srv.endpoint, "s3://" + srv.endpoint + "/b?secure=maybe"} {
		if _, err := s3.New(ctx, s3.Options{URL: url}); !errors.Is(err, holdfast.ErrInvalid) {
			t.Errorf("New(%q) = %v, want ErrInvalid", url, err)
		}
	}
	_, err := s3.New(ctx, s3.Options{URL: "s3://" + srv.endpoint + "/no-such-bucket-hf?secure=false", AccessKey: srv.access, SecretKey: srv.secret})
	if !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("New(missing bucket) = %v, want ErrNotFound", err)
	}
}

func TestLock(t *testing.T) {
	srv := testServer(t)
	ctx := context.Background()

	plain := open(t, srv, srv.bucket)
	if err := plain.Put(ctx, "p", bytes.NewReader([]byte("x")), 1); err != nil {
		t.Fatal(err)
	}
	if err := plain.Lock(ctx, "p", time.Now().Add(time.Minute)); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Lock in a bucket without object lock = %v, want ErrUnsupported", err)
	}

	if srv.locked == "" {
		t.Skip("no locked bucket: set HOLDFAST_TEST_S3_LOCKED_BUCKET or S3_LOCKED_BUCKET")
	}
	locked := open(t, srv, srv.locked)
	if !locked.Locking() {
		t.Fatalf("bucket %s: Locking() = false, want true", srv.locked)
	}
	if err := locked.Put(ctx, "pack", bytes.NewReader([]byte("held data")), 9); err != nil {
		t.Fatal(err)
	}
	// Short retention: GOVERNANCE, so the peer's data dir stays removable.
	until := time.Now().Add(5 * time.Second)
	if err := locked.Lock(ctx, "pack", until); err != nil {
		t.Fatalf("Lock = %v", err)
	}
	got, err := locked.Retention(ctx, "pack")
	if err != nil || got.Before(until.Truncate(time.Second)) {
		t.Errorf("Retention after Lock(%v) = %v, %v", until, got, err)
	}
	// A shorter lock keeps the longer one.
	if err := locked.Lock(ctx, "pack", time.Now()); err != nil {
		t.Errorf("Lock(shorter) = %v", err)
	}
	if again, _ := locked.Retention(ctx, "pack"); again.Before(got) {
		t.Errorf("Lock(shorter) shortened retention from %v to %v", got, again)
	}
	if err := locked.Lock(ctx, "missing", until); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("Lock(missing) = %v, want ErrNotFound", err)
	}
}
