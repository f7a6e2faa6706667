// Package pgtest gives tests a PostgreSQL database of their own on the
// server of HOLDFAST_TEST_POSTGRES_URL, so that tests of any package (the
// driver's conformance suite, the API on PostgreSQL) never see each
// other's rows.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/holdfast/holdfast/storage/storagetest"
)

// URL returns the server to test against: HOLDFAST_TEST_POSTGRES_URL,
// else DATABASE_URL. Without one the test skips, or fails when
// HOLDFAST_TEST_REQUIRE lists postgres.
func URL(tb testing.TB) string {
	tb.Helper()
	for _, k := range []string{"HOLDFAST_TEST_POSTGRES_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	storagetest.SkipOrFail(tb, "postgres", "HOLDFAST_TEST_POSTGRES_URL not set")
	return ""
}

// NewDatabase creates a database of its own for the test, drops it when
// the test ends and returns its DSN. The database is created through
// POSTGRES_ADMIN_URL when set (the test user may lack CREATEDB), owned by
// the test URL's user. Close stores opened on it in a cleanup registered
// after NewDatabase, so they close before the drop.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	dsn := URL(tb)
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
	name := "holdfast_test_" + RandomHex(tb)
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

// RandomHex returns 12 random hex digits, for names of the test's own.
func RandomHex(tb testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}
