package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
	blobfs "github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/s3"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

// Settings of the audit trail's keys and checkpoints.
const (
	envAuditKey        = "HOLDFAST_AUDIT_KEY"
	envAuditSigningKey = "HOLDFAST_AUDIT_SIGNING_KEY"
	auditKeyFile       = "audit.key"
	auditSigningFile   = "audit-signing.key"
	checkpointDir      = "audit-checkpoints"

	// auditCheckpointEvery and auditPruneEvery pace serve's audit job.
	auditCheckpointEvery = 5 * time.Minute
	auditPruneEvery      = time.Hour
	// checkpointLockFor is the Object Lock retention of a checkpoint in a
	// bucket that has Object Lock.
	checkpointLockFor = 7 * 365 * 24 * time.Hour
)

// auditKeys are the MAC key of the audit chain and the checkpoint signing
// key, both kept outside the database.
type auditKeys struct {
	mac    []byte
	signer ed25519.PrivateKey
}

// loadAuditKeys reads each key from its environment variable (64 hex
// digits), else from its key file in dataDir. With create, a missing key
// file is created (0600) with a new key, which onCreated is told about.
func loadAuditKeys(dataDir string, getenv func(string) string, create bool, onCreated func(path string)) (auditKeys, error) {
	mac, err := loadKey(getenv(envAuditKey), envAuditKey, filepath.Join(dataDir, auditKeyFile), create, onCreated)
	if err != nil {
		return auditKeys{}, err
	}
	seed, err := loadKey(getenv(envAuditSigningKey), envAuditSigningKey, filepath.Join(dataDir, auditSigningFile), create, onCreated)
	if err != nil {
		return auditKeys{}, err
	}
	return auditKeys{mac: mac, signer: ed25519.NewKeyFromSeed(seed)}, nil
}

// loadKey returns a 32-byte key from env (hex), else the file at path.
func loadKey(env, envName, path string, create bool, onCreated func(string)) ([]byte, error) {
	parse := func(s, where string) ([]byte, error) {
		k, err := hex.DecodeString(strings.TrimSpace(s))
		if err != nil || len(k) != holdfast.AuditKeySize {
			return nil, fmt.Errorf("%s: want %d hex digits", where, 2*holdfast.AuditKeySize)
		}
		return k, nil
	}
	if env != "" {
		return parse(env, "$"+envName)
	}
	b, err := os.ReadFile(path)
	if err == nil {
		return parse(string(b), "key file "+path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if !create {
		return nil, fmt.Errorf("no audit key: set $%s or put the key file at %s", envName, path)
	}
	k := make([]byte, holdfast.AuditKeySize)
	_, _ = rand.Read(k) // crypto/rand.Read never fails
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit key: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(k) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("audit key: %w", err)
	}
	if onCreated != nil {
		onCreated(path)
	}
	return k, nil
}

// auditKeyOption returns the store option that chains audit records under
// the audit MAC key ($HOLDFAST_AUDIT_KEY, else the key file in dataDir),
// for offline commands that write; it never creates the key.
func auditKeyOption(dataDir string, getenv func(string) string) (sqlstore.Option, error) {
	mac, err := loadKey(getenv(envAuditKey), envAuditKey, filepath.Join(dataDir, auditKeyFile), false, nil)
	if err != nil {
		return nil, err
	}
	return sqlstore.WithAuditKey(mac), nil
}

// openCheckpoints opens where checkpoints are kept: the chunk store's S3
// bucket when --blob is S3 (locked when the bucket has Object Lock), else
// <data-dir>/audit-checkpoints.
func openCheckpoints(ctx context.Context, c dataConfig, dataDir string) (*audit.Checkpoints, error) {
	kind, _, err := blobKind(c.Blob)
	if err != nil {
		return nil, err
	}
	if kind == "s3" {
		blobs, err := openBlobs(ctx, c)
		if err != nil {
			return nil, err
		}
		var lock time.Duration
		if l, ok := blobs.(*s3.Store); ok && l.Locking() {
			lock = checkpointLockFor
		}
		return audit.NewCheckpoints(blobs, lock), nil
	}
	blobs, err := blobfs.New(filepath.Join(dataDir, checkpointDir))
	if err != nil {
		return nil, err
	}
	return audit.NewCheckpoints(blobs, 0), nil
}

// openAudit opens the metadata store chained under the audit key, and the
// audit service over it.
func openAudit(ctx context.Context, cfg Config, getenv func(string) string, create bool, log *slog.Logger) (holdfast.MetaStore, *audit.Service, error) {
	keys, err := loadAuditKeys(cfg.DataDir, getenv, create, func(path string) {
		log.Warn("audit key created: back it up, and give every replica the same one", "file", path)
	})
	if err != nil {
		return nil, nil, err
	}
	cps, err := openCheckpoints(ctx, cfg.Data, cfg.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	store, err := openStore(ctx, cfg.DB, cfg.DBTimeout, sqlstore.WithAuditKey(keys.mac))
	if err != nil {
		return nil, nil, err
	}
	svc, err := audit.New(audit.Options{Store: store, Key: keys.mac, Signer: keys.signer, Checkpoints: cps,
		Logger: log.With("component", "audit")})
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return store, svc, nil
}

const auditUsage = `Usage: holdfast audit verify [flags]

Checks every account's audit trail: each record's MAC under the audit key,
each link, and each signed checkpoint. It prints OK, or the first bad record,
or the missing tail, and exits non-zero on any failure.
`

// runAudit is `holdfast audit verify`.
func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprint(stderr, auditUsage)
		if len(args) == 0 {
			return errors.New("audit: no subcommand given (want verify)")
		}
		return fmt.Errorf("audit: unknown subcommand %q (want verify)", args[0])
	}
	var cfg Config
	var asJSON bool
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	cfg.registerStoreFlags(fs, getenv)
	cfg.Data.registerFlags(fs, getenv)
	fs.BoolVar(&asJSON, "json", false, "print the reports as JSON")
	if help, err := parseFlags(fs, args[1:], stderr); help || err != nil {
		return err
	}
	cfg.resolve()
	if err := errors.Join(cfg.validateStore(), cfg.Data.validate()); err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	store, svc, err := openAudit(ctx, cfg, getenv, false, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	defer func() {
		if cerr := store.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("audit verify: close store: %w", cerr)
		}
	}()
	reports, err := svc.VerifyAll(ctx)
	if err != nil {
		return fmt.Errorf("audit verify: %w", err)
	}
	failed := 0
	for _, r := range reports {
		if !r.OK {
			failed++
		}
	}
	if asJSON {
		b, _ := json.MarshalIndent(reports, "", "  ")
		fmt.Fprintln(stdout, string(b))
	} else {
		for _, r := range reports {
			if r.OK {
				fmt.Fprintf(stdout, "OK      account %s: %d records verified, last seq %d, checkpoint seq %d\n",
					r.AccountID, r.Records, r.LastSeq, r.CheckpointSeq)
				continue
			}
			fmt.Fprintf(stdout, "FAILED  account %s: seq %d: %s\n", r.AccountID, r.Break.Seq, r.Break.Reason)
		}
	}
	if failed > 0 {
		return fmt.Errorf("audit verify: %d of %d accounts failed", failed, len(reports))
	}
	return nil
}
