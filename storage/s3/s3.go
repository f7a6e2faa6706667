// Package s3 is a holdfast.BlobStore over an S3-compatible bucket (MinIO, AWS
// S3), through github.com/minio/minio-go/v7.
//
// Put is create-only through a conditional write (If-None-Match: *), which
// S3 and MinIO apply atomically, so two writers racing for one name cannot
// both win. When the bucket has Object Lock enabled the store also
// implements holdfast.BlobLocker with per-object retention.
package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/holdfast/holdfast"
)

// DefaultCallTimeout bounds one call to the object store when
// Options.Timeout is zero.
const DefaultCallTimeout = 30 * time.Second

// dependency names the object store in errors a client reads.
const dependency = "object store"

// partSize is the multipart part size for uploads of unknown size; without
// it minio-go sizes parts for a 5 TiB object and buffers that much per part.
const partSize = 16 << 20

// Options configures a Store.
type Options struct {
	// URL is s3://host[:port]/bucket[/prefix][?secure=false&region=R].
	// secure defaults to true (HTTPS); every object name gets prefix+"/".
	URL       string
	AccessKey string
	SecretKey string
	// Compliance selects COMPLIANCE-mode Object Lock retention, which not
	// even the bucket's root user can shorten; the default is GOVERNANCE,
	// which a user with s3:BypassGovernanceRetention can.
	Compliance bool
	// Transport replaces the HTTP transport (tests, custom TLS).
	Transport http.RoundTripper
	// Timeout bounds each call, its retries included: a Put or Stat, a
	// Get and the reading of what it returns, and each wait for the next
	// page of a List (default DefaultCallTimeout). A call that runs out
	// of it, or finds the server down, matches holdfast.ErrUnavailable.
	Timeout time.Duration
}

// Store is a BlobStore in one bucket under a key prefix. It is safe for
// concurrent use.
type Store struct {
	client *minio.Client
	bucket string
	prefix string // "" or ends in "/"; immutable
	// locking is true when the bucket has Object Lock enabled; immutable.
	locking bool
	mode    minio.RetentionMode
	timeout time.Duration // per call; immutable
}

var (
	_ holdfast.BlobStore  = (*Store)(nil)
	_ holdfast.BlobLocker = (*Store)(nil)
)

// New connects to the bucket that opts.URL names. A bad URL matches
// ErrInvalid; a bucket that does not exist matches ErrNotFound; a server
// that does not answer within the timeout matches ErrUnavailable.
//
// Every method translates the server's failures at the boundary: a
// server that is down, frozen (no answer within Options.Timeout) or
// failing (5xx) is a *holdfast.DependencyError matching
// holdfast.ErrUnavailable, a full one matching holdfast.ErrNoSpace; a
// caller that left gets its context's error.
func New(ctx context.Context, opts Options) (*Store, error) {
	u, err := url.Parse(opts.URL)
	if err != nil || u.Scheme != "s3" || u.Host == "" {
		return nil, fmt.Errorf("s3: %w: URL %q: want s3://host[:port]/bucket[/prefix]", holdfast.ErrInvalid, opts.URL)
	}
	bucket, prefix, _ := strings.Cut(strings.Trim(u.Path, "/"), "/")
	if bucket == "" {
		return nil, fmt.Errorf("s3: %w: URL %q names no bucket", holdfast.ErrInvalid, opts.URL)
	}
	secure := true
	if v := u.Query().Get("secure"); v != "" {
		if secure, err = strconv.ParseBool(v); err != nil {
			return nil, fmt.Errorf("s3: %w: URL %q: secure=%q", holdfast.ErrInvalid, opts.URL, v)
		}
	}
	if prefix != "" {
		prefix += "/"
	}
	client, err := minio.New(u.Host, &minio.Options{
		Creds:     credentials.NewStaticV4(opts.AccessKey, opts.SecretKey, ""),
		Secure:    secure,
		Region:    u.Query().Get("region"),
		Transport: opts.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	s := &Store{client: client, bucket: bucket, prefix: prefix, mode: minio.Governance, timeout: opts.Timeout}
	if s.timeout <= 0 {
		s.timeout = DefaultCallTimeout
	}
	if opts.Compliance {
		s.mode = minio.Compliance
	}
	cctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	ok, err := client.BucketExists(cctx, bucket)
	if err != nil {
		return nil, s.fail(ctx, "open bucket", bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3: bucket %s: %w", bucket, holdfast.ErrNotFound)
	}
	enabled, _, _, _, err := client.GetObjectLockConfig(cctx, bucket)
	switch {
	case err == nil:
		s.locking = enabled == "Enabled"
	case errCode(err) == "ObjectLockConfigurationNotFoundError":
	default:
		return nil, s.fail(ctx, "object lock configuration of", bucket, err)
	}
	return s, nil
}

// call returns the context of one call to the server: ctx bound by the
// store's timeout.
func (s *Store) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.timeout)
}

// fail translates err, the failure of op on name under the caller's
// context ctx, at the boundary: a missing object is ErrNotFound; a caller
// that left or ran out of its own time gets its context's error; a server
// that is full, down, failing or did not answer within the store's
// timeout is a DependencyError; anything else is wrapped as it is.
func (s *Store) fail(ctx context.Context, op, name string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("s3: %s %s: %w", op, name, holdfast.ErrNotFound)
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("s3: %s %s: %w", op, name, cerr)
	}
	werr := fmt.Errorf("s3: %s %s: %w", op, name, err)
	switch {
	case isFull(err):
		return holdfast.NoSpace(dependency, werr)
	case isOutage(err):
		return holdfast.Unavailable(dependency, werr)
	}
	return werr
}

// isFull reports whether the server refused for want of space.
func isFull(err error) bool {
	var e minio.ErrorResponse
	return errors.As(err, &e) && (e.StatusCode == http.StatusInsufficientStorage || e.Code == "XMinioStorageFull")
}

// isOutage reports whether err is the server being down, unreachable,
// too slow (the store's own deadline) or failing on its side.
func isOutage(err error) bool {
	var e minio.ErrorResponse
	if errors.As(err, &e) {
		switch e.Code {
		case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "XMinioServerNotInitialized":
			return true
		}
		return e.StatusCode >= 500
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// Locking reports whether the bucket has Object Lock, that is whether Lock
// can work.
func (s *Store) Locking() bool { return s.locking }

func errCode(err error) string {
	var e minio.ErrorResponse
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func isNotFound(err error) bool {
	var e minio.ErrorResponse
	if !errors.As(err, &e) {
		return false
	}
	return e.Code == "NoSuchKey" || e.Code == "NotFound" || e.StatusCode == http.StatusNotFound
}

func (s *Store) key(name string) (string, error) {
	if !holdfast.ValidBlobName(name) {
		return "", fmt.Errorf("s3: %w: blob name %q", holdfast.ErrInvalid, name)
	}
	return s.prefix + name, nil
}

var (
	errShort = errors.New("upload shorter than its declared size")
	errLong  = errors.New("upload longer than its declared size")
)

// exactReader delivers r to the uploader, hashing what passes, and fails the
// upload (rather than storing a cut object) when r does not hold exactly
// size bytes: minio-go stops reading at size and would not notice extra.
type exactReader struct {
	r    io.Reader
	left int64 // -1: unknown size
	h    hash.Hash
	bad  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.bad != nil {
		return 0, e.bad
	}
	if e.left == 0 {
		return 0, e.checkEnd()
	}
	if e.left > 0 && int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.h.Write(p[:n])
	if e.left > 0 {
		e.left -= int64(n)
	}
	switch {
	case err == io.EOF && e.left > 0:
		e.bad = errShort
		return n, e.bad
	case err != nil && err != io.EOF:
		e.bad = err
		return n, err
	case e.left == 0:
		if err := e.checkEnd(); err != io.EOF {
			return n, err
		}
	}
	return n, err
}

func (e *exactReader) checkEnd() error {
	var b [1]byte
	for {
		n, err := e.r.Read(b[:])
		if n > 0 {
			e.bad = errLong
			return e.bad
		}
		if err == io.EOF {
			return io.EOF
		}
		if err != nil {
			e.bad = err
			return err
		}
	}
}

// Put implements holdfast.BlobStore.
func (s *Store) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	er := &exactReader{r: r, left: size, h: sha256.New()}
	if size < 0 {
		er.left = -1
	}
	opts := minio.PutObjectOptions{PartSize: partSize, ContentType: "application/octet-stream"}
	opts.SetMatchETagExcept("*")
	cctx, cancel := s.call(ctx)
	defer cancel()
	_, err = s.client.PutObject(cctx, s.bucket, key, er, size, opts)
	if er.bad != nil {
		if er.bad == errShort || er.bad == errLong {
			return fmt.Errorf("s3: put %s: %w: %v", name, holdfast.ErrInvalid, er.bad)
		}
		return fmt.Errorf("s3: put %s: %w", name, er.bad)
	}
	if err == nil {
		return nil
	}
	if code := errCode(err); code != "PreconditionFailed" && code != "ConditionalRequestConflict" {
		return s.fail(ctx, "put", name, err)
	}
	// The name exists. The server may have refused before reading the whole
	// body: hash the rest, then compare with what is stored.
	if _, err := io.Copy(io.Discard, er); err != nil {
		if er.bad == errShort || er.bad == errLong {
			return fmt.Errorf("s3: put %s: %w: %v", name, holdfast.ErrInvalid, er.bad)
		}
		return fmt.Errorf("s3: put %s: %w", name, err)
	}
	mine := er.h.Sum(nil)
	rc, err := s.Get(ctx, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return fmt.Errorf("s3: put %s: %w", name, err)
	}
	if !bytes.Equal(h.Sum(nil), mine) {
		return fmt.Errorf("s3: put %s: %w: exists with different content", name, holdfast.ErrConflict)
	}
	return nil
}

// Get implements holdfast.BlobStore.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	return s.get(ctx, name, minio.GetObjectOptions{})
}

func (s *Store) get(ctx context.Context, name string, opts minio.GetObjectOptions) (*object, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	// The deadline covers reading the object too: it ends at Close.
	cctx, cancel := s.call(ctx)
	obj, err := s.client.GetObject(cctx, s.bucket, key, opts)
	if err != nil {
		cancel()
		return nil, s.fail(ctx, "get", name, err)
	}
	// GetObject is lazy; Stat makes the request so a missing object fails
	// here rather than at the first Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		cancel()
		return nil, s.fail(ctx, "get", name, err)
	}
	return &object{obj: obj, cancel: cancel, s: s, ctx: ctx, name: name}, nil
}

// object is an object being read, under the deadline of the Get that
// opened it; read errors are translated like the call's.
type object struct {
	obj    *minio.Object
	cancel context.CancelFunc
	s      *Store
	ctx    context.Context // the caller's, to tell its leaving from an outage
	name   string
}

func (o *object) Read(p []byte) (int, error) {
	n, err := o.obj.Read(p)
	if err != nil && err != io.EOF {
		err = o.s.fail(o.ctx, "get", o.name, err)
	}
	return n, err
}

func (o *object) Close() error {
	defer o.cancel()
	return o.obj.Close()
}

// GetRange implements holdfast.BlobStore.
func (s *Store) GetRange(ctx context.Context, name string, off, length int64) (io.ReadCloser, error) {
	if off < 0 || length < 0 {
		return nil, fmt.Errorf("s3: blob %s: %w: range %d+%d", name, holdfast.ErrInvalid, off, length)
	}
	if length == 0 {
		return s.emptyRange(ctx, name, off)
	}
	var opts minio.GetObjectOptions
	if err := opts.SetRange(off, off+length-1); err != nil {
		return nil, fmt.Errorf("s3: blob %s: %w: %v", name, holdfast.ErrInvalid, err)
	}
	obj, err := s.get(ctx, name, opts)
	if errCode(err) == "InvalidRange" {
		return s.emptyRange(ctx, name, off)
	}
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// emptyRange answers a range that holds no bytes: empty at the end of the
// object, ErrInvalid past it.
func (s *Store) emptyRange(ctx context.Context, name string, off int64) (io.ReadCloser, error) {
	size, err := s.Stat(ctx, name)
	if err != nil {
		return nil, err
	}
	if off > size {
		return nil, fmt.Errorf("s3: blob %s: %w: offset %d past end %d", name, holdfast.ErrInvalid, off, size)
	}
	return io.NopCloser(bytes.NewReader(nil)), nil
}

// Stat implements holdfast.BlobStore.
func (s *Store) Stat(ctx context.Context, name string) (int64, error) {
	key, err := s.key(name)
	if err != nil {
		return 0, err
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	info, err := s.client.StatObject(cctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return 0, s.fail(ctx, "stat", name, err)
	}
	return info.Size, nil
}

// List implements holdfast.BlobStore. The store's timeout bounds each
// wait for the server (the next page), not the time fn takes.
func (s *Store) List(ctx context.Context, prefix string, fn func(name string, size int64) error) error {
	opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}
	return s.list(ctx, "list", prefix, opts, func(obj minio.ObjectInfo, name string) error {
		return fn(name, obj.Size)
	})
}

// ListVersions calls fn for every stored version of every object under
// prefix, newest first within a name, skipping delete markers: in a
// versioned bucket a Delete only hides an object behind a marker, and
// this still finds it. In a bucket without versioning each object has one
// version, "null". Like List, the timeout bounds each wait for the server.
func (s *Store) ListVersions(ctx context.Context, prefix string, fn func(name, versionID string) error) error {
	opts := minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true, WithVersions: true}
	return s.list(ctx, "list versions", prefix, opts, func(obj minio.ObjectInfo, name string) error {
		if obj.IsDeleteMarker {
			return nil
		}
		return fn(name, obj.VersionID)
	})
}

// list runs a listing, calling fn for each object written through a Store
// (name without the store's prefix), with the store's timeout on each wait
// for the server.
func (s *Store) list(ctx context.Context, op, prefix string, opts minio.ListObjectsOptions, fn func(obj minio.ObjectInfo, name string) error) error {
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil) // stops minio-go's listing goroutine when fn fails
	idle := time.AfterFunc(s.timeout, func() { cancel(context.DeadlineExceeded) })
	defer idle.Stop()
	for obj := range s.client.ListObjects(lctx, s.bucket, opts) {
		idle.Stop()
		if obj.Err != nil {
			return s.fail(ctx, op, prefix, listErr(lctx, obj.Err))
		}
		if name := strings.TrimPrefix(obj.Key, s.prefix); holdfast.ValidBlobName(name) {
			if err := fn(obj, name); err != nil {
				return err
			}
		}
		idle.Reset(s.timeout)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := context.Cause(lctx); err != nil {
		return s.fail(ctx, op, prefix, err)
	}
	return nil
}

// GetVersion is Get of one version of name (from ListVersions), which a
// delete marker does not hide.
func (s *Store) GetVersion(ctx context.Context, name, versionID string) (io.ReadCloser, error) {
	return s.get(ctx, name, minio.GetObjectOptions{VersionID: versionID})
}

// listErr is the error of a listing: the idle deadline when that ended
// it, else what the server said.
func listErr(lctx context.Context, err error) error {
	if cause := context.Cause(lctx); cause != nil && errors.Is(err, context.Canceled) {
		return cause
	}
	return err
}

// Delete implements holdfast.BlobStore. In a versioned bucket it adds a
// delete marker; versions under retention stay until it ends.
func (s *Store) Delete(ctx context.Context, name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	if err := s.client.RemoveObject(cctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return s.fail(ctx, "delete", name, err)
	}
	return nil
}

// Lock implements holdfast.BlobLocker with Object Lock retention on the
// object's current version, in GOVERNANCE mode unless Options.Compliance.
// An existing retention that already lasts until until or later is kept.
func (s *Store) Lock(ctx context.Context, name string, until time.Time) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	if !s.locking {
		return fmt.Errorf("s3: lock %s: bucket %s has no object lock: %w", name, s.bucket, errors.ErrUnsupported)
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	info, err := s.client.StatObject(cctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return s.fail(ctx, "lock", name, err)
	}
	_, current, err := s.client.GetObjectRetention(cctx, s.bucket, key, info.VersionID)
	if err != nil && errCode(err) != "NoSuchObjectLockConfiguration" {
		return s.fail(ctx, "lock", name, err)
	}
	if current != nil && !current.Before(until) {
		return nil
	}
	until = until.UTC().Truncate(time.Second).Add(time.Second)
	err = s.client.PutObjectRetention(cctx, s.bucket, key, minio.PutObjectRetentionOptions{
		Mode:            &s.mode,
		RetainUntilDate: &until,
		VersionID:       info.VersionID,
	})
	if err != nil {
		return s.fail(ctx, "lock", name, err)
	}
	return nil
}

// Retention returns the object's retention end (zero when it has none), for
// checks and tests.
func (s *Store) Retention(ctx context.Context, name string) (time.Time, error) {
	key, err := s.key(name)
	if err != nil {
		return time.Time{}, err
	}
	cctx, cancel := s.call(ctx)
	defer cancel()
	_, until, err := s.client.GetObjectRetention(cctx, s.bucket, key, "")
	if errCode(err) == "NoSuchObjectLockConfiguration" {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, s.fail(ctx, "retention", name, err)
	}
	if until == nil {
		return time.Time{}, nil
	}
	return *until, nil
}
