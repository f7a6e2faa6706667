package idp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/storage/sqlite"
)

func TestNewToken(t *testing.T) {
	secret, hash, prefix, err := idp.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	s := secret.Reveal()
	if !strings.HasPrefix(s, "hf_") || len(s) != 46 {
		t.Fatalf("secret %q: want hf_ and 43 characters", s)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(s[3:]); err != nil || len(raw) != 32 {
		t.Errorf("secret body is not 32 bytes of base64url: %v", err)
	}
	if prefix != s[:10] {
		t.Errorf("prefix = %q, want %q", prefix, s[:10])
	}
	if !bytes.Equal(hash, idp.HashToken(s)) || len(hash) != 32 {
		t.Errorf("hash is not the SHA-256 of the secret")
	}
	other, _, _, _ := idp.NewToken()
	if other == secret {
		t.Errorf("two tokens are equal")
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("made", "token", secret)
	if strings.Contains(buf.String(), s) || strings.Contains(fmt.Sprint(secret), s) {
		t.Errorf("the secret reached a log line: %s", buf.String())
	}
}

// tokenFixture is a store with one administrator and a token per state.
type tokenFixture struct {
	store   holdfast.MetaStore
	admin   holdfast.Administrator
	secrets map[string]string // name -> secret
	now     time.Time
}

func newTokenFixture(t *testing.T) tokenFixture {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f := tokenFixture{store: store, secrets: map[string]string{}, now: now}
	acct := holdfast.Account{Name: "A", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings(), CreatedAt: now, UpdatedAt: now}
	if err := store.CreateAccount(ctx, &acct); err != nil {
		t.Fatal(err)
	}
	mkAdmin := func(email string, state holdfast.AdminState) holdfast.Administrator {
		a := holdfast.Administrator{AccountID: acct.ID, Name: email, Email: email, RoleID: "cloud_admin", State: state, CreatedAt: now, UpdatedAt: now}
		if err := store.CreateAdmin(ctx, &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	f.admin = mkAdmin("ann@example.com", holdfast.AdminActive)
	disabled := mkAdmin("dis@example.com", holdfast.AdminDisabled)
	deleted := mkAdmin("gone@example.com", holdfast.AdminActive)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		owner   holdfast.Administrator
		expires *time.Time
		revoke  bool
	}{
		{"good", f.admin, &future, false},
		{"forever", f.admin, nil, false},
		{"expired", f.admin, &past, false},
		{"expires now", f.admin, &now, false},
		{"revoked", f.admin, nil, true},
		{"disabled owner", disabled, nil, false},
		{"deleted owner", deleted, nil, false},
	} {
		secret, hash, prefix, err := idp.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		tok := holdfast.APIToken{AccountID: acct.ID, AdminID: tc.owner.ID, Name: tc.name, Hash: hash, Prefix: prefix, CreatedAt: now, ExpiresAt: tc.expires}
		if err := store.CreateToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		if tc.revoke {
			if err := store.RevokeToken(ctx, acct.ID, tok.ID, now); err != nil {
				t.Fatal(err)
			}
		}
		f.secrets[tc.name] = secret.Reveal()
	}
	if err := store.DeleteAdmin(ctx, acct.ID, deleted.ID); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAuthenticate(t *testing.T) {
	f := newTokenFixture(t)
	ctx := context.Background()
	for _, name := range []string{"good", "forever"} {
		p, err := idp.Authenticate(ctx, f.store, f.secrets[name], f.now)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Kind != holdfast.PrincipalToken || p.AdminID != f.admin.ID || p.AccountID != f.admin.AccountID ||
			p.Email != f.admin.Email || p.TokenID == "" {
			t.Errorf("%s: principal = %+v", name, p)
		}
	}
	toks, err := f.store.ListTokens(ctx, f.admin.AccountID, f.admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range toks {
		if tok.Name == "good" && (tok.LastUsedAt == nil || !tok.LastUsedAt.Equal(f.now)) {
			t.Errorf("last used = %v, want %v", tok.LastUsedAt, f.now)
		}
	}

	var messages []string
	for _, secret := range []string{
		"", "hf_unknown", f.secrets["expired"], f.secrets["expires now"], f.secrets["revoked"],
		f.secrets["disabled owner"], f.secrets["deleted owner"], f.secrets["good"] + "x",
	} {
		_, err := idp.Authenticate(ctx, f.store, secret, f.now)
		if !errors.Is(err, holdfast.ErrUnauthenticated) {
			t.Errorf("Authenticate(%.12q) = %v, want ErrUnauthenticated", secret, err)
			continue
		}
		messages = append(messages, err.Error())
	}
	for _, m := range messages {
		if m != messages[0] {
			t.Errorf("refusals differ (%q vs %q): they must not tell why", m, messages[0])
		}
	}
}
