package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/holdfast/holdfast/storage/storagetest"
)

// postgresDB creates a database of its own for the test on the server of
// HOLDFAST_TEST_POSTGRES_URL (through POSTGRES_ADMIN_URL when set), drops
// it at the end and returns its URL. Without a server the test skips, or
// fails when HOLDFAST_TEST_REQUIRE lists postgres.
func postgresDB(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("HOLDFAST_TEST_POSTGRES_URL")
	if dsn == "" {
		storagetest.SkipOrFail(tb, "postgres", "HOLDFAST_TEST_POSTGRES_URL not set")
	}
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		tb.Fatalf("HOLDFAST_TEST_POSTGRES_URL is not a postgres:// URL with a user")
	}
	adminURL := os.Getenv("POSTGRES_ADMIN_URL")
	if adminURL == "" {
		adminURL = dsn
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		storagetest.SkipOrFail(tb, "postgres", "cannot connect: "+err.Error())
	}
	defer conn.Close(ctx)
	b := make([]byte, 6)
	rand.Read(b)
	name := "holdfast_cmd_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name+" OWNER "+pgx.Identifier{u.User.Username()}.Sanitize()); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, adminURL)
		if err != nil {
			tb.Errorf("drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// TestServePostgresReplicas starts two replicas on one empty PostgreSQL
// database at the same moment: exactly one account is bootstrapped, both
// serve it, and an administrator created through one is seen by the other.
func TestServePostgresReplicas(t *testing.T) {
	db := postgresDB(t)
	dbURL, _ := url.Parse(db)
	env := map[string]string{
		envDB:                db,
		envBootstrapEmail:    "root@example.com",
		envBootstrapPassword: testPassword,
		envBootstrapToken:    testToken,
	}
	// Replicas share the database and the chunk store; each has its own
	// data directory, which a process locks.
	env[envMasterKey] = testMasterKey
	blob := "file:" + t.TempDir()
	var wg sync.WaitGroup
	replicas := make([]*instance, 2)
	errs := make([]error, 2)
	for i := range replicas {
		dir := t.TempDir()
		wg.Go(func() { replicas[i], errs[i] = launch(t, env, "--data-dir", dir, "--blob", blob) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	created := 0
	for _, r := range replicas {
		if strings.Contains(r.stderr.String(), "account created") {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d replicas bootstrapped an account, want exactly 1", created)
	}

	var helpDesk adminJSON
	code, body := call(t, "POST", replicas[0].url+"/api/v1/administrators", testToken, map[string]any{
		"name": "Sofia Alvarez", "email": "sofia@example.com", "role": "help_desk_admin",
		"scopes": map[string]any{"all_profiles": true, "all_workloads": true},
	}, &helpDesk)
	if code != http.StatusCreated {
		t.Fatalf("POST administrators on replica 0 = %d %s", code, body)
	}
	var list adminList
	if code, body := call(t, "GET", replicas[1].url+"/api/v1/administrators", testToken, nil, &list); code != http.StatusOK {
		t.Fatalf("GET administrators on replica 1 = %d %s", code, body)
	}
	if len(list.Administrators) != 2 {
		t.Errorf("replica 1 sees %d administrators, want 2", len(list.Administrators))
	}
	for _, r := range replicas {
		if err := r.stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		pw, _ := dbURL.User.Password()
		if (pw != "" && strings.Contains(r.stderr.String(), pw)) || strings.Contains(r.stderr.String(), testToken) {
			t.Errorf("a replica logged a secret:\n%s", r.stderr)
		}
	}
}
