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
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/holdfast/holdfast"
)

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
}

var (
	_ holdfast.BlobStore  = (*Store)(nil)
	_ holdfast.BlobLocker = (*Store)(nil)
)

// New connects to the bucket that opts.URL names. A bad URL matches
// ErrInvalid; a bucket that does not exist matches ErrNotFound.
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
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: bucket %s: %w", bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3: bucket %s: %w", bucket, holdfast.ErrNotFound)
	}
	s := &Store{client: client, bucket: bucket, prefix: prefix, mode: minio.Governance}
	if opts.Compliance {
		s.mode = minio.Compliance
	}
	enabled, _, _, _, err := client.GetObjectLockConfig(ctx, bucket)
	switch {
	case err == nil:
		s.locking = enabled == "Enabled"
	case errCode(err) == "ObjectLockConfigurationNotFoundError":
	default:
		return nil, fmt.Errorf("s3: bucket %s: object lock configuration: %w", bucket, err)
	}
	return s, nil
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

// wrap translates driver errors at the boundary.
func wrap(op, name string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("s3: %s %s: %w", op, name, holdfast.ErrNotFound)
	}
	return fmt.Errorf("s3: %s %s: %w", op, name, err)
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
	_, err = s.client.PutObject(ctx, s.bucket, key, er, size, opts)
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
		return wrap("put", name, err)
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
		return wrap("put", name, err)
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

func (s *Store) get(ctx context.Context, name string, opts minio.GetObjectOptions) (*minio.Object, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, opts)
	if err != nil {
		return nil, wrap("get", name, err)
	}
	// GetObject is lazy; Stat makes the request so a missing object fails
	// here rather than at the first Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, wrap("get", name, err)
	}
	return obj, nil
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
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return 0, wrap("stat", name, err)
	}
	return info.Size, nil
}

// List implements holdfast.BlobStore.
func (s *Store) List(ctx context.Context, prefix string, fn func(name string, size int64) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops minio-go's listing goroutine when fn fails
	for obj := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if obj.Err != nil {
			return wrap("list", prefix, obj.Err)
		}
		name := strings.TrimPrefix(obj.Key, s.prefix)
		if !holdfast.ValidBlobName(name) {
			continue // not written through a Store
		}
		if err := fn(name, obj.Size); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// Delete implements holdfast.BlobStore. In a versioned bucket it adds a
// delete marker; versions under retention stay until it ends.
func (s *Store) Delete(ctx context.Context, name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return wrap("delete", name, err)
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
	info, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return wrap("lock", name, err)
	}
	_, current, err := s.client.GetObjectRetention(ctx, s.bucket, key, info.VersionID)
	if err != nil && errCode(err) != "NoSuchObjectLockConfiguration" {
		return wrap("lock", name, err)
	}
	if current != nil && !current.Before(until) {
		return nil
	}
	until = until.UTC().Truncate(time.Second).Add(time.Second)
	err = s.client.PutObjectRetention(ctx, s.bucket, key, minio.PutObjectRetentionOptions{
		Mode:            &s.mode,
		RetainUntilDate: &until,
		VersionID:       info.VersionID,
	})
	if err != nil {
		return wrap("lock", name, err)
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
	_, until, err := s.client.GetObjectRetention(ctx, s.bucket, key, "")
	if errCode(err) == "NoSuchObjectLockConfiguration" {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap("retention", name, err)
	}
	if until == nil {
		return time.Time{}, nil
	}
	return *until, nil
}
