package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage"
	blobfs "github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/s3"
)

// Settings of the dedup store (serve, check, keys).
const (
	envBlob         = "HOLDFAST_BLOB"
	envMasterKey    = "HOLDFAST_MASTER_KEY"
	envS3AccessKey  = "HOLDFAST_S3_ACCESS_KEY"
	envS3SecretKey  = "HOLDFAST_S3_SECRET_KEY"
	envCompactEvery = "HOLDFAST_COMPACT_EVERY"
	envBlobTimeout  = "HOLDFAST_BLOB_TIMEOUT"

	// lockFor is the Object Lock retention given to packs holding held
	// users' data, renewed by every compaction run while the hold lasts.
	lockFor = 30 * 24 * time.Hour

	masterKeyFile = "master.key"
	blobDir       = "blobs"
)

// dataConfig picks the blob backend and the master key of the dedup store.
type dataConfig struct {
	// Blob is file:DIR or s3://host[:port]/bucket[/prefix][?secure=false];
	// "" = file:<data-dir>/blobs.
	Blob string
	// MasterKey comes from the environment only; when empty, the key file
	// <data-dir>/master.key is used, created on first start.
	MasterKey   holdfast.Secret
	S3AccessKey string
	S3SecretKey holdfast.Secret
	// BlobTimeout bounds each call to an S3 chunk store.
	BlobTimeout time.Duration
	// CompactEvery is the interval of the retention and compaction job
	// (serve only); 0 turns it off.
	CompactEvery time.Duration
	// onKeyCreated, when set, is told the path of a newly created key file.
	onKeyCreated func(path string)
}

// registerJobFlags registers the flags of serve's background jobs.
func (c *dataConfig) registerJobFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.DurationVar(&c.CompactEvery, "compact-every", envDuration(getenv, envCompactEvery, time.Hour),
		"run retention and compaction this often (0 = never; $"+envCompactEvery+"); held users' data is never removed")
}

func (c *dataConfig) registerFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.Blob, "blob", getenv(envBlob),
		"chunk store: file:DIR or s3://HOST:PORT/BUCKET[/PREFIX][?secure=false] ($"+envBlob+"; default file:<data-dir>/"+blobDir+"; S3 keys from $"+envS3AccessKey+", $"+envS3SecretKey+")")
	fs.DurationVar(&c.BlobTimeout, "blob-timeout", envDuration(getenv, envBlobTimeout, s3.DefaultCallTimeout),
		"longest wait for one call to an S3 chunk store before a request answers 503 ($"+envBlobTimeout+")")
	c.MasterKey = holdfast.Secret(getenv(envMasterKey))
	c.S3AccessKey = getenv(envS3AccessKey)
	c.S3SecretKey = holdfast.Secret(getenv(envS3SecretKey))
}

// validate checks the settings; dataDir is the resolved data directory.
func (c *dataConfig) validate() error {
	var errs []error
	if _, _, err := blobKind(c.Blob); err != nil {
		errs = append(errs, fmt.Errorf("--blob: %w", err))
	}
	if c.BlobTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--blob-timeout: want a positive duration such as 30s"))
	}
	if c.CompactEvery < 0 {
		errs = append(errs, fmt.Errorf("--compact-every: want a duration such as 1h, or 0"))
	}
	if c.MasterKey != "" {
		if _, err := storage.ParseMasterKey(c.MasterKey.Reveal()); err != nil {
			errs = append(errs, fmt.Errorf("%s: want 64 hex digits or base64 of 32 bytes", envMasterKey))
		}
	}
	return errors.Join(errs...)
}

func (c *dataConfig) resolve(dataDir string) {
	if c.Blob == "" {
		c.Blob = "file:" + filepath.Join(dataDir, blobDir)
	}
}

// blobKind splits a --blob value into its driver and argument.
func blobKind(v string) (kind, arg string, err error) {
	switch {
	case v == "":
		return "file", "", nil // resolved to the data directory later
	case strings.HasPrefix(v, "file:"):
		dir := strings.TrimPrefix(strings.TrimPrefix(v, "file:"), "//")
		if dir == "" {
			return "", "", fmt.Errorf("%q has no directory (want file:DIR)", v)
		}
		return "file", dir, nil
	case strings.HasPrefix(v, "s3://"):
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" || u.User != nil {
			return "", "", fmt.Errorf("%q is not s3://HOST[:PORT]/BUCKET[/PREFIX] (keys go in $%s and $%s)", redactDSN(v), envS3AccessKey, envS3SecretKey)
		}
		return "s3", v, nil
	}
	return "", "", fmt.Errorf("%q: unsupported chunk store (want file:DIR or s3://...)", redactDSN(v))
}

// openBlobs opens the blob backend named by c.Blob (resolved).
func openBlobs(ctx context.Context, c dataConfig) (holdfast.BlobStore, error) {
	kind, arg, err := blobKind(c.Blob)
	if err != nil {
		return nil, err
	}
	if kind == "s3" {
		return s3.New(ctx, s3.Options{URL: arg, AccessKey: c.S3AccessKey, SecretKey: c.S3SecretKey.Reveal(), Timeout: c.BlobTimeout})
	}
	return blobfs.New(arg)
}

// masterKey returns the key from the environment, else from the key file
// in dataDir. With create, a missing key file is created (0600) with a new
// key, but only when the blob store holds no keys yet: a store written
// under a lost key must fail to open, not get a second key.
func masterKey(ctx context.Context, c dataConfig, dataDir string, blobs holdfast.BlobStore, create bool) (storage.MasterKey, error) {
	if c.MasterKey != "" {
		return storage.ParseMasterKey(c.MasterKey.Reveal())
	}
	path := filepath.Join(dataDir, masterKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := storage.ParseMasterKey(string(b))
		if err != nil {
			return k, fmt.Errorf("master key file %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return storage.MasterKey{}, fmt.Errorf("master key: %w", err)
	}
	if !create {
		return storage.MasterKey{}, fmt.Errorf("no master key: set $%s or put the key file at %s", envMasterKey, path)
	}
	empty := true
	if err := blobs.List(ctx, "keys/", func(string, int64) error { empty = false; return errStopList }); err != nil && !errors.Is(err, errStopList) {
		return storage.MasterKey{}, err
	}
	if !empty {
		return storage.MasterKey{}, fmt.Errorf("the chunk store holds data but %s is missing: restore the key file or set $%s", path, envMasterKey)
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return storage.MasterKey{}, fmt.Errorf("data directory: %w", err)
	}
	k := storage.GenerateMasterKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return storage.MasterKey{}, fmt.Errorf("master key: %w", err)
	}
	if _, err := f.WriteString(k.Encode() + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return storage.MasterKey{}, fmt.Errorf("master key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return storage.MasterKey{}, fmt.Errorf("master key: %w", err)
	}
	if err := f.Close(); err != nil {
		return storage.MasterKey{}, fmt.Errorf("master key: %w", err)
	}
	if c.onKeyCreated != nil {
		c.onKeyCreated(path)
	}
	return k, nil
}

var errStopList = errors.New("stop listing")

// openData opens the dedup store: blobs, master key, storage.Open. index is
// the shared chunk index (serve: the metadata store), nil for commands
// that write no chunks.
func openData(ctx context.Context, c dataConfig, dataDir string, create bool, index holdfast.ChunkIndex) (*storage.Store, holdfast.BlobStore, error) {
	blobs, err := openBlobs(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	key, err := masterKey(ctx, c, dataDir, blobs, create)
	if err != nil {
		return nil, nil, err
	}
	opts := storage.Options{MasterKey: key, Index: index}
	if l, ok := blobs.(*s3.Store); ok && l.Locking() {
		opts.LockFor = lockFor
	}
	data, err := storage.Open(ctx, blobs, opts)
	if err != nil {
		return nil, nil, err
	}
	return data, blobs, nil
}

// retentionOf returns the retention policy of a user's profile.
func retentionOf(store holdfast.MetaStore) storage.RetentionFunc {
	return func(ctx context.Context, accountID, userID string) (holdfast.Retention, error) {
		u, err := store.GetUser(ctx, accountID, userID)
		if err != nil {
			return holdfast.Retention{}, err
		}
		p, err := store.GetProfile(ctx, accountID, u.ProfileID)
		if err != nil {
			return holdfast.Retention{}, err
		}
		return p.Retention, nil
	}
}
