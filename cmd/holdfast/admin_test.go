package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
)

// TestAdminRecoverSQLite and TestAdminRecoverPostgres lock an account out
// (its only platform administrator disabled behind the server's back),
// then bring it back offline with "holdfast admin recover".
func TestAdminRecoverSQLite(t *testing.T) {
	dir := t.TempDir()
	testAdminRecover(t, map[string]string{envDataDir: dir})
}

func TestAdminRecoverPostgres(t *testing.T) {
	testAdminRecover(t, map[string]string{envDB: postgresDB(t)})
}

func testAdminRecover(t *testing.T, env map[string]string) {
	ctx := context.Background()
	env[envBootstrapEmail], env[envBootstrapPassword], env[envBootstrapToken] = "root@example.com", testPassword, testToken
	startServe(t, env).stop()

	// Locked out: the only platform administrator is disabled.
	var cfg Config
	cfg.DataDir, cfg.DB = env[envDataDir], env[envDB]
	cfg.resolve()
	withStore := func(fn func(holdfast.MetaStore)) {
		t.Helper()
		store, err := openStore(ctx, cfg.DB, cfg.DBTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		fn(store)
	}
	withStore(func(store holdfast.MetaStore) {
		a, err := store.GetAdminByEmail(ctx, "root@example.com")
		if err != nil {
			t.Fatal(err)
		}
		a.State = holdfast.AdminDisabled
		if err := store.UpdateAdmin(ctx, &a); err != nil {
			t.Fatal(err)
		}
	})

	// The link names --public-url, or serve's default address.
	recoverAdmin := func(email, base string, flags ...string) (string, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, append([]string{"admin", "recover", "--email", email}, flags...), envFunc(env), &out, &errOut); err != nil {
			t.Fatalf("admin recover %s: %v\n%s", email, err, errOut.String())
		}
		i := strings.Index(out.String(), base+"/login?reset=")
		if i < 0 {
			t.Fatalf("no sign-in link to %s in %q", base, out.String())
		}
		token := strings.Fields(out.String()[i+len(base+"/login?reset="):])[0]
		if strings.Contains(errOut.String(), token) {
			t.Errorf("the link was logged: %s", errOut.String())
		}
		return out.String(), token
	}
	out, token := recoverAdmin("root@example.com", "https://holdfast.example.com", "--public-url", "https://holdfast.example.com/")
	if !strings.Contains(out, "root@example.com re-enabled as a platform administrator") {
		t.Errorf("output %q", out)
	}
	out, newToken := recoverAdmin("rescue@example.com", "http://127.0.0.1:8080")
	if !strings.Contains(out, "rescue@example.com created as a platform administrator") {
		t.Errorf("output %q", out)
	}

	inst := startServe(t, env)
	const pw = "Recovered-Secret-42"
	reset := func(tok string) int {
		code, _ := call(t, "POST", inst.url+"/auth/password/reset", "", map[string]string{"token": tok, "new": pw, "repeat": pw}, nil)
		return code
	}
	if code := reset(token); code != http.StatusNoContent {
		t.Fatalf("set the password with the link: %d", code)
	}
	if code := reset(token); code != http.StatusUnprocessableEntity {
		t.Errorf("the link worked twice: %d", code)
	}
	if code := reset(newToken); code != http.StatusNoContent {
		t.Fatalf("set the new administrator's password: %d", code)
	}
	for _, email := range []string{"root@example.com", "rescue@example.com"} {
		var step struct{ Next string }
		if code, body := call(t, "POST", inst.url+"/auth/login", "", map[string]string{"email": email, "password": pw}, &step); code != http.StatusOK || step.Next != "mfa_enroll" {
			t.Errorf("sign-in of %s after recovery: %d %s", email, code, body)
		}
	}
	if err := inst.stop(); err != nil {
		t.Fatal(err)
	}

	withStore(func(store holdfast.MetaStore) {
		a, err := store.GetAdminByEmail(ctx, "root@example.com")
		if err != nil {
			t.Fatal(err)
		}
		recs, err := store.ListAudit(ctx, a.AccountID, holdfast.AuditFilter{Action: "administrator.recover"})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 2 || recs[0].ActorEmail != "operator" || recs[0].ActorID != "" || recs[0].ResourceID != a.ID {
			t.Errorf("audit of the recovery: %+v", recs)
		}
	})
}

func TestAdminRecoverBadInput(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no subcommand", []string{"admin"}, "the only subcommand is recover"},
		{"no email", []string{"admin", "recover", "--data-dir", empty}, "--email"},
		{"bad public URL", []string{"admin", "recover", "--data-dir", empty, "--email", "a@example.com", "--public-url", "holdfast.local"}, "--public-url"},
		{"no database", []string{"admin", "recover", "--data-dir", filepath.Join(empty, "none"), "--email", "a@example.com"}, "no database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, envFunc(nil), io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(empty, "none")); !os.IsNotExist(err) {
		t.Errorf("recover created a data directory: %v", err)
	}
}
