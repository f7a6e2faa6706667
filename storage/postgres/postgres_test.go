package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/storage/postgres"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// testURL returns the server to test against: HOLDFAST_TEST_POSTGRES_URL,
// else DATABASE_URL. Without one the test skips, or fails when
// HOLDFAST_TEST_REQUIRE lists postgres.
func testURL(tb testing.TB) string {
	tb.Helper()
	for _, k := range []string{"HOLDFAST_TEST_POSTGRES_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	storagetest.SkipOrFail(tb, "postgres", "HOLDFAST_TEST_POSTGRES_URL not set")
	return ""
}

// openFresh opens a database of the test's own, twice so every test also
// proves the migrations idempotent.
func openFresh(tb testing.TB) holdfast.MetaStore {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dsn := createDB(tb)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	s, err = postgres.Open(ctx, dsn)
	if err != nil {
		tb.Fatalf("reopen: %v", err)
	}
	tb.Cleanup(func() { s.Close() }) // runs before createDB's drop
	return s
}

// createDB creates a database of its own for the test, so runs never see
// each other's rows, drops it when the test ends and returns its DSN. The
// database is created through POSTGRES_ADMIN_URL when set (the test user
// may lack CREATEDB), owned by the test URL's user.
func createDB(tb testing.TB) string {
	tb.Helper()
	dsn := testURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	adminURL := os.Getenv("POSTGRES_ADMIN_URL")
	if adminURL == "" {
		adminURL = dsn
	}
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		tb.Fatalf("connect for CREATE DATABASE: %v", err)
	}
	defer admin.Close(ctx)
	name := "holdfast_test_" + randomHex(tb)
	owner := pgx.Identifier{cfg.User}.Sanitize()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" OWNER "+owner); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			tb.Errorf("connect for DROP DATABASE: %v", err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})

	return withDatabase(tb, dsn, name)
}

// withDatabase returns dsn naming database name instead.
func withDatabase(tb testing.TB, dsn, name string) string {
	tb.Helper()
	if !strings.Contains(dsn, "://") {
		return dsn + " dbname=" + name // key=value form: the last key wins
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(tb testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func TestConformance(t *testing.T) {
	testURL(t)
	storagetest.TestMetaStore(t, func(t *testing.T) holdfast.MetaStore { return openFresh(t) })
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
