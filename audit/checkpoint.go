package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// Reasons a checkpoint was written.
const (
	ReasonInterval = "interval"
	ReasonShutdown = "shutdown"
	ReasonPrune    = "prune"
	ReasonCutover  = "cutover"
)

// Checkpoint is a signed statement, kept outside the database, that an
// account's trail reached Seq with MAC. A trail shorter than its newest
// checkpoint has lost its tail.
type Checkpoint struct {
	AccountID string    `json:"account_id"`
	Seq       int64     `json:"seq"`
	MAC       string    `json:"mac"`
	Time      time.Time `json:"time"`
	Reason    string    `json:"reason"`
	// BaseSeq and BaseMAC are the record retention cut at (prune
	// checkpoints): records up to BaseSeq may be gone, and the chain
	// continues from BaseMAC.
	BaseSeq int64  `json:"base_seq,omitempty"`
	BaseMAC string `json:"base_mac,omitempty"`
	// LegacyThrough is the last record chained with the unkeyed version 1
	// hash (the cut-over checkpoint).
	LegacyThrough int64  `json:"legacy_through,omitempty"`
	Signature     []byte `json:"signature"`
}

// signedBytes is what the signature covers: every other field, in a fixed
// order.
func (c Checkpoint) signedBytes() []byte {
	return fmt.Appendf(nil, "holdfast-audit-checkpoint-v1\n%q\n%d\n%q\n%d\n%q\n%d\n%q\n%d\n",
		c.AccountID, c.Seq, c.MAC, c.Time.UTC().UnixNano(), c.Reason, c.BaseSeq, c.BaseMAC, c.LegacyThrough)
}

func (c *Checkpoint) sign(key ed25519.PrivateKey) {
	c.Signature = ed25519.Sign(key, c.signedBytes())
}

func (c Checkpoint) verify(pub ed25519.PublicKey) bool {
	return ed25519.Verify(pub, c.signedBytes(), c.Signature)
}

// checkpointPrefix is where checkpoints live in their blob store.
const checkpointPrefix = "audit/checkpoints/"

// Checkpoints keeps checkpoints as immutable objects of a blob store: a
// directory of the data directory (storage/fs), or the S3 bucket of the
// chunk store, where Object Lock, when the bucket has it, keeps anyone
// from deleting them until LockFor has passed. Safe for concurrent use.
type Checkpoints struct {
	blobs   holdfast.BlobStore
	lockFor time.Duration
}

// NewCheckpoints returns checkpoints kept in blobs. With lockFor > 0 and a
// blobs that implements holdfast.BlobLocker, each checkpoint is locked for
// lockFor once written.
func NewCheckpoints(blobs holdfast.BlobStore, lockFor time.Duration) *Checkpoints {
	return &Checkpoints{blobs: blobs, lockFor: lockFor}
}

// Put stores c (already signed). Its name sorts by account, then Seq,
// then time.
func (s *Checkpoints) Put(ctx context.Context, c Checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	name := fmt.Sprintf("%s%s/%020d-%020d-%s.json", checkpointPrefix, c.AccountID, c.Seq, c.Time.UnixNano(), c.Reason)
	if err := s.blobs.Put(ctx, name, bytes.NewReader(b), int64(len(b))); err != nil {
		return fmt.Errorf("audit checkpoint of account %s: %w", c.AccountID, err)
	}
	if l, ok := s.blobs.(holdfast.BlobLocker); ok && s.lockFor > 0 {
		if err := l.Lock(ctx, name, c.Time.Add(s.lockFor)); err != nil && !errors.Is(err, errors.ErrUnsupported) {
			return fmt.Errorf("audit checkpoint of account %s: lock: %w", c.AccountID, err)
		}
	}
	return nil
}

// versionedBlobs is a blob store that keeps every version of an object
// (storage/s3; on a versioned bucket a delete only adds a delete marker).
type versionedBlobs interface {
	ListVersions(ctx context.Context, prefix string, fn func(name, versionID string) error) error
	GetVersion(ctx context.Context, name, versionID string) (io.ReadCloser, error)
}

// checkpointObject is one stored checkpoint: a name, and its version in a
// versionedBlobs ("" otherwise).
type checkpointObject struct{ name, version string }

// All returns every stored checkpoint, by account. It does not check
// signatures. In a store that keeps versions it reads every version, so a
// checkpoint hidden behind a delete marker still counts: deleting the
// newest checkpoint does not hide a truncation.
func (s *Checkpoints) All(ctx context.Context) (map[string][]Checkpoint, error) {
	var objs []checkpointObject
	var err error
	if vb, ok := s.blobs.(versionedBlobs); ok {
		err = vb.ListVersions(ctx, checkpointPrefix, func(name, version string) error {
			objs = append(objs, checkpointObject{name, version})
			return nil
		})
	} else {
		err = s.blobs.List(ctx, checkpointPrefix, func(name string, _ int64) error {
			objs = append(objs, checkpointObject{name: name})
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	out := make(map[string][]Checkpoint)
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := s.get(ctx, o)
		if err != nil {
			return nil, err
		}
		acct, _, _ := strings.Cut(strings.TrimPrefix(o.name, checkpointPrefix), "/")
		if c.AccountID != acct {
			return nil, fmt.Errorf("audit checkpoint %s: names account %q", o.name, c.AccountID)
		}
		out[acct] = append(out[acct], c)
	}
	return out, nil
}

// maxCheckpointBytes bounds one checkpoint object.
const maxCheckpointBytes = 64 << 10

func (s *Checkpoints) get(ctx context.Context, o checkpointObject) (Checkpoint, error) {
	var c Checkpoint
	name := o.name
	var rc io.ReadCloser
	var err error
	if vb, ok := s.blobs.(versionedBlobs); ok && o.version != "" {
		rc, err = vb.GetVersion(ctx, name, o.version)
	} else {
		rc, err = s.blobs.Get(ctx, name)
	}
	if err != nil {
		return c, fmt.Errorf("audit checkpoint %s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxCheckpointBytes+1))
	if err == nil && len(b) > maxCheckpointBytes {
		err = errors.New("too large")
	}
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		return c, fmt.Errorf("audit checkpoint %s: %w", name, err)
	}
	return c, nil
}
