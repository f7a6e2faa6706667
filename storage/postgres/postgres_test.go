package postgres_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/postgres"
	"github.com/holdfast/holdfast/storage/postgres/pgtest"
	"github.com/holdfast/holdfast/storage/sqlstore"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// testURL returns the server to test against (pgtest.URL).
func testURL(tb testing.TB) string {
	tb.Helper()
	return pgtest.URL(tb)
}

// openFresh opens a database of the test's own, twice so every test also
// proves the migrations idempotent.
func openFresh(tb testing.TB) holdfast.MetaStore {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := createDB(tb)
	s, err := postgres.Open(ctx, dsn, sqlstore.WithAuditKey(storagetest.AuditKey))
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	s, err = postgres.Open(ctx, dsn, sqlstore.WithAuditKey(storagetest.AuditKey))
	if err != nil {
		tb.Fatalf("reopen: %v", err)
	}
	tb.Cleanup(func() { s.Close() }) // runs before createDB's drop
	return s
}

// createDB creates a database of the test's own (pgtest.NewDatabase).
func createDB(tb testing.TB) string {
	tb.Helper()
	return pgtest.NewDatabase(tb)
}

func randomHex(tb testing.TB) string { return pgtest.RandomHex(tb) }

func TestConformance(t *testing.T) {
	testURL(t)
	storagetest.TestMetaStore(t, func(t *testing.T) holdfast.MetaStore { return openFresh(t) })
}

// TestChunkIndexConformance runs the chunk index suite on PostgreSQL, the
// index replicas share.
func TestChunkIndexConformance(t *testing.T) {
	testURL(t)
	storagetest.TestChunkIndex(t, func(t *testing.T) holdfast.ChunkIndex { return openFresh(t).(holdfast.ChunkIndex) })
}

func BenchmarkMetaStore(b *testing.B) {
	testURL(b)
	storagetest.BenchmarkMetaStore(b, func(b *testing.B) holdfast.MetaStore { return openFresh(b) })
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2"); err == nil {
		t.Fatal("Open of an unreachable server succeeded")
	}
}

// TestConcurrentOpen proves that processes starting together on a new
// database apply each migration once.
func TestConcurrentOpen(t *testing.T) {
	dsn := createDB(t)
	const n = 4
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s, err := postgres.Open(t.Context(), dsn)
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

// waitFor polls cond every few milliseconds until it holds or within
// passes, and reports whether it held.
func waitFor(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// openLive opens a store on dsn and waits until its revision listener is
// connected, so its revisions are cached.
func openLive(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if !waitFor(5*time.Second, s.RevisionCache().Live) {
		t.Fatal("revision listener did not connect within 5s")
	}
	return s
}

// TestRevisionNotify proves that replicas see each other's writes: a write
// through one store reaches Revision and PolicyRevision on another store
// of the same database within a short wait, although the other store had
// the old revisions cached, and again after the listener's connection was
// killed and came back.
// listenerPIDs returns the backends of the stores' revision listeners.
func listenerPIDs(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = 'holdfast-revision-listener' ORDER BY pid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

func TestRevisionNotify(t *testing.T) {
	ctx := t.Context()
	dsn := createDB(t)
	a, b := openLive(t, dsn), openLive(t, dsn)
	acct := holdfast.Account{Name: "Replicated"}
	if err := a.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}

	// cached proves b answers from memory: a revision changed behind every
	// store's back (trigger disabled, so nobody is told) is not seen.
	cached := func() {
		t.Helper()
		r, err := b.Revision(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{
			`ALTER TABLE accounts DISABLE TRIGGER accounts_revision_notify`,
			`UPDATE accounts SET revision = revision + 100 WHERE id = $1`,
			`ALTER TABLE accounts ENABLE TRIGGER accounts_revision_notify`,
		} {
			args := []any{}
			if strings.Contains(stmt, "$1") {
				args = append(args, acct.ID)
			}
			if _, err := a.DB().ExecContext(ctx, stmt, args...); err != nil {
				t.Fatalf("%s: %v", stmt, err)
			}
		}
		if got, err := b.Revision(ctx, acct.ID); err != nil || got != r {
			t.Fatalf("Revision = %d, %v after a silent change, want the cached %d", got, err, r)
		}
	}
	// seen writes through a and waits for b to see the new revisions.
	seen := func(what string) {
		t.Helper()
		p0, err := b.PolicyRevision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p := holdfast.Profile{AccountID: acct.ID, Name: "P " + randomHex(t)}
		if err := a.CreateProfile(ctx, &p); err != nil {
			t.Fatal(err)
		}
		if err := a.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{p.ID}}}); err != nil {
			t.Fatal(err)
		}
		want, err := a.Revision(ctx, acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !waitFor(2*time.Second, func() bool { r, err := b.Revision(ctx, acct.ID); return err == nil && r == want }) {
			r, err := b.Revision(ctx, acct.ID)
			t.Fatalf("%s: other store's Revision = %d, %v after 2s, want %d", what, r, err, want)
		}
		if !waitFor(2*time.Second, func() bool { r, err := b.PolicyRevision(ctx); return err == nil && r == p0+1 }) {
			r, err := b.PolicyRevision(ctx)
			t.Fatalf("%s: other store's PolicyRevision = %d, %v after 2s, want %d", what, r, err, p0+1)
		}
	}

	cached()
	seen("first write")

	// Kill b's listener (and a's: both carry the same name). Until it is
	// back, revisions come from the database; once back, notifications
	// flow again.
	listeners := func() []int { t.Helper(); return listenerPIDs(t, a.DB()) }
	old := listeners()
	if len(old) != 2 {
		t.Fatalf("listener backends = %v, want 2", old)
	}
	for _, pid := range old {
		if _, err := a.DB().ExecContext(ctx, `SELECT pg_terminate_backend($1)`, pid); err != nil {
			t.Fatal(err)
		}
	}
	// New backends mean both watchers noticed (and suspended) and came
	// back; Live then means LISTEN succeeded again.
	renewed := func() bool {
		now := listeners()
		return len(now) == 2 && !slices.Contains(now, old[0]) && !slices.Contains(now, old[1])
	}
	if !waitFor(10*time.Second, renewed) {
		t.Fatalf("listeners %v not replaced within 10s", listeners())
	}
	if !waitFor(5*time.Second, func() bool { return b.RevisionCache().Live() && a.RevisionCache().Live() }) {
		t.Fatal("listeners did not resume within 5s")
	}
	cached()
	seen("after reconnect")
}
