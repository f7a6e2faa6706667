package sqlite_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/sqlite"
	"github.com/holdfast/holdfast/storage/sqlstore"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// openFile opens a new database file in a temporary directory.
func openFile(tb testing.TB) holdfast.MetaStore {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "db", "meta.db"), sqlstore.WithAuditKey(storagetest.AuditKey))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// openReopened creates a database, closes it and opens it again, so the
// suite runs on a database whose migrations were already applied.
func openReopened(tb testing.TB) holdfast.MetaStore {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "meta.db")
	s, err := sqlite.Open(context.Background(), path, sqlstore.WithAuditKey(storagetest.AuditKey))
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	s, err = sqlite.Open(context.Background(), path, sqlstore.WithAuditKey(storagetest.AuditKey))
	if err != nil {
		tb.Fatalf("reopen: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// TestChunkIndexConformance runs the chunk index suite on a database file,
// the index of a single-machine serve.
func TestChunkIndexConformance(t *testing.T) {
	storagetest.TestChunkIndex(t, func(t *testing.T) holdfast.ChunkIndex { return openFile(t).(holdfast.ChunkIndex) })
}

func TestConformance(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		storagetest.TestMetaStore(t, func(t *testing.T) holdfast.MetaStore { return openFile(t) })
	})
	t.Run("reopened", func(t *testing.T) {
		storagetest.TestMetaStore(t, func(t *testing.T) holdfast.MetaStore { return openReopened(t) })
	})
	t.Run("memory", func(t *testing.T) {
		storagetest.TestMetaStore(t, func(t *testing.T) holdfast.MetaStore {
			s, err := sqlite.Open(t.Context(), ":memory:", sqlstore.WithAuditKey(storagetest.AuditKey))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

func BenchmarkMetaStore(b *testing.B) {
	storagetest.BenchmarkMetaStore(b, func(b *testing.B) holdfast.MetaStore { return openFile(b) })
}

// BenchmarkPageDevices is one page of devices of an account with 335,000
// of them (the size of the account whose unpaged list took 57 s).
func BenchmarkPageDevices(b *testing.B) {
	storagetest.BenchmarkPageDevices(b, func(b *testing.B) holdfast.MetaStore { return openFile(b) }, 335_000)
}

// TestReopenKeepsData proves a reopen applies no migration twice and loses
// nothing.
func TestReopenKeepsData(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := holdfast.Account{Name: "Kept"}
	if err := s.CreateAccount(ctx, &a); err != nil {
		t.Fatal(err)
	}
	versions := migrations(t, s)
	s.Close()
	for range 2 {
		s, err = sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetAccount(ctx, a.ID); err != nil {
			t.Errorf("GetAccount after reopen: %v", err)
		}
		if got := migrations(t, s); got != versions {
			t.Errorf("schema_migrations after reopen = %d rows, want %d", got, versions)
		}
		s.Close()
	}
}

func migrations(t *testing.T, s *sqlstore.Store) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no migration recorded")
	}
	return n
}

// TestPragmas checks the connection settings Open documents, which the
// suite cannot see: a typo in a pragma is silently ignored by SQLite.
func TestPragmas(t *testing.T) {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
		{"synchronous", "1"}, // NORMAL
	}
	for _, tt := range tests {
		var got string
		if err := s.DB().QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
		}
	}
}

// TestConcurrentOpen proves that processes starting together on a new
// database file apply each migration once.
func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	const n = 4
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := sqlite.Open(t.Context(), path)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Open: %v", err)
		}
	}
}
