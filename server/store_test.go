package server_test

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
	blobfs "github.com/holdfast/holdfast/storage/fs"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
)

func newStore(tb testing.TB) holdfast.MetaStore {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "holdfast.db"), sqlstore.WithAuditKey(testAuditKey))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// testAuditKey chains the audit trails of newStore's stores.
var testAuditKey = []byte("server test audit key, 32 bytes!")

// newAudit returns an audit service over store, with checkpoints in a
// temporary directory.
func newAudit(tb testing.TB, store holdfast.MetaStore) *audit.Service {
	tb.Helper()
	blobs, err := blobfs.New(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	svc, err := audit.New(audit.Options{Store: store, Key: testAuditKey,
		Signer: ed25519.NewKeyFromSeed([]byte("server test checkpoint seed, 32b")), Checkpoints: audit.NewCheckpoints(blobs, 0)})
	if err != nil {
		tb.Fatal(err)
	}
	return svc
}
