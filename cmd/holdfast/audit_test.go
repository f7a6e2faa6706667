package main

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/audit"
)

// newAuditDir makes a data directory whose account has five audit records
// and a checkpoint, and returns it.
func newAuditDir(t *testing.T) (dir, acct string) {
	t.Helper()
	ctx := context.Background()
	dir = t.TempDir()
	var cfg Config
	cfg.DataDir = dir
	cfg.resolve()
	getenv := func(string) string { return "" }
	store, svc, err := openAudit(ctx, cfg, getenv, true, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	a := holdfast.Account{ID: "acct-1", Name: "A", Edition: holdfast.EditionEnterprise, Settings: holdfast.DefaultAccountSettings()}
	if err := store.CreateAccount(ctx, &a); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := store.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: a.ID, Action: "user.update"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Checkpoint(ctx, audit.ReasonShutdown); err != nil {
		t.Fatal(err)
	}
	return dir, a.ID
}

// tamper runs q on the data directory's database with the audit table's
// guards dropped.
func tamper(t *testing.T, dir, q string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "holdfast.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{"DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete", q} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

func TestAuditVerifyCommand(t *testing.T) {
	verify := func(dir string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"audit", "verify", "--data-dir", dir}, func(string) string { return "" }, &out, &errOut)
		return out.String(), err
	}
	tests := []struct {
		name    string
		tamper  string
		wantOut string
	}{
		{"intact", "", "OK      account acct-1: 5 records verified, last seq 5, checkpoint seq 5"},
		{"edited row", "UPDATE audit SET actor_email = 'mallory@example.com' WHERE seq = 2",
			"FAILED  account acct-1: seq 2: record MAC does not match its content"},
		{"truncated tail", "DELETE FROM audit WHERE seq > 3",
			"FAILED  account acct-1: seq 4: missing tail: the newest checkpoint covers seq 5, the last record is seq 3"},
		{"table emptied", "DELETE FROM audit",
			"FAILED  account acct-1: seq 1: missing tail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := newAuditDir(t)
			if tt.tamper != "" {
				tamper(t, dir, tt.tamper)
			}
			out, err := verify(dir)
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("output = %q, want it to contain %q", out, tt.wantOut)
			}
			if (err == nil) != (tt.tamper == "") {
				t.Errorf("err = %v, want an error exactly when the trail was tampered with", err)
			}
		})
	}
	t.Run("no key", func(t *testing.T) {
		if _, err := verify(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no audit key") {
			t.Errorf("err = %v, want no audit key", err)
		}
	})
}

// TestServeAuditKeysAndShutdownCheckpoint: serve creates both audit keys
// (0600) on first start, and its last checkpoint at shutdown covers the
// newest record, so deleting it afterwards is caught offline.
func TestServeAuditKeysAndShutdownCheckpoint(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{envDataDir: dir, envBootstrapEmail: "root@example.com",
		envBootstrapPassword: testPassword, envBootstrapToken: testToken}
	inst := startServe(t, env)
	if code, body := call(t, "POST", inst.url+"/api/v1/profiles", testToken, map[string]any{"name": "Eng"}, nil); code != http.StatusCreated {
		t.Fatalf("create profile: %d %s", code, body)
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{auditKeyFile, auditSigningFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want a 0600 key file", name, err, fi)
		}
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"audit", "verify", "--data-dir", dir}, envFunc(nil), &out, &errOut); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, out.String())
	}
	// The bootstrap record and the profile's: the checkpoint is at 2.
	if !strings.Contains(out.String(), "last seq 2, checkpoint seq 2") {
		t.Fatalf("audit verify = %q, want the trail checkpointed at seq 2", out.String())
	}
	tamper(t, dir, "DELETE FROM audit WHERE seq = 2")
	out.Reset()
	if err := run(context.Background(), []string{"audit", "verify", "--data-dir", dir}, envFunc(nil), &out, &errOut); err == nil ||
		!strings.Contains(out.String(), "seq 2: missing tail") {
		t.Errorf("audit verify after deleting the newest record: %v, %q, want the missing tail", err, out.String())
	}
}

// TestServeCutsOverOldTrail: a store whose trail predates keyed chains
// (unkeyed SHA-256 records) keeps verifying after serve's first start.
func TestServeCutsOverOldTrail(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "holdfast.db"))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envDataDir: dir, envBootstrapEmail: "root@example.com",
		envBootstrapPassword: testPassword, envBootstrapToken: testToken}
	// A first start writes a keyed trail; rewrite it as the old scheme
	// would have, and forget the keys' checkpoints, as an old store has none.
	inst := startServe(t, env)
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var acct string
	if err := db.QueryRow(`SELECT account_id FROM audit LIMIT 1`).Scan(&acct); err != nil {
		t.Fatal(err)
	}
	store, err := openStore(ctx, "sqlite:"+filepath.Join(dir, "holdfast.db"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := store.ListAudit(ctx, acct, holdfast.AuditFilter{})
	store.Close()
	if err != nil || len(recs) == 0 {
		t.Fatalf("records: %v %v", recs, err)
	}
	prev := ""
	for _, r := range recs {
		r.PrevHash = prev
		r.Hash = r.ComputeHash()
		tamper(t, dir, "UPDATE audit SET prev_hash = '"+r.PrevHash+"', hash = '"+r.Hash+"' WHERE seq = "+strconv.FormatInt(r.Seq, 10))
		prev = r.Hash
	}
	db.Close()
	if err := os.RemoveAll(filepath.Join(dir, checkpointDir)); err != nil {
		t.Fatal(err)
	}

	inst = startServe(t, env)
	if code, body := call(t, "POST", inst.url+"/api/v1/profiles", testToken, map[string]any{"name": "Eng"}, nil); code != http.StatusCreated {
		t.Fatalf("create profile: %d %s", code, body)
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"audit", "verify", "--data-dir", dir}, envFunc(nil), &out, &errOut); err != nil {
		t.Fatalf("audit verify after the cut-over: %v\n%s", err, out.String())
	}
}
