package main

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

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
