package setup_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/setup"
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
var testAuditKey = []byte("setup test audit key, 32 bytes!!")

var fixedNow = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// fixedClock is a holdfast.Clock stopped at fixedNow.
type fixedClock struct{}

func (fixedClock) Now() time.Time { return fixedNow }

var clock = fixedClock{}

const testToken = "hf_bootstrap-token-for-tests-0123456789"

func TestBootstrapFirstStart(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	res, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{
		Edition:       holdfast.EditionEnterprise,
		AccountName:   "Acme",
		AdminEmail:    "Jane.Doe@Example.com",
		AdminPassword: "A long enough password 1",
		Token:         testToken,
		Clock:         clock,
	})
	if err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	if res.Existing {
		t.Fatal("Existing = true on an empty store")
	}
	if res.Setup.Secret != "" {
		t.Error("a setup link was made although a password was given")
	}

	acct, err := store.GetAccount(ctx, res.Account.ID)
	if err != nil {
		t.Fatal(err)
	}
	if acct.Name != "Acme" || acct.Edition != holdfast.EditionEnterprise || len(acct.Addons) != 0 {
		t.Errorf("account = %+v, want Acme, enterprise, no add-ons", acct)
	}
	if acct.Settings != holdfast.DefaultAccountSettings() {
		t.Errorf("settings = %+v, want defaults", acct.Settings)
	}

	profiles, err := store.ListProfiles(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != 1 || profiles[0].Name != "Default" || !profiles[0].Default {
		t.Errorf("profiles = %+v, want one Default profile", profiles)
	}

	types, err := store.ListHoldTypes(ctx, acct.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ty := range types {
		if !ty.Predefined {
			t.Errorf("type %q is not predefined", ty.Name)
		}
		names = append(names, ty.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, holdfast.PredefinedLegalHoldTypes) {
		t.Errorf("legal hold types = %v, want %v", names, holdfast.PredefinedLegalHoldTypes)
	}

	admins, err := store.ListAdmins(ctx, acct.ID, holdfast.AdminFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(admins) != 1 {
		t.Fatalf("administrators = %d, want 1", len(admins))
	}
	a := admins[0]
	if a.Email != "jane.doe@example.com" || a.Name != "Jane Doe" || a.RoleID != "platform_admin" ||
		a.State != holdfast.AdminActive || a.CreatedBy != "" {
		t.Errorf("administrator = %+v, want jane.doe@example.com, Jane Doe, platform_admin, active", a)
	}
	if ok, err := idp.VerifyPassword(a.PasswordHash, "A long enough password 1"); err != nil || !ok {
		t.Errorf("stored hash does not verify the password: %v %v", ok, err)
	}

	tok, err := store.GetTokenByHash(ctx, idp.HashToken(testToken))
	if err != nil {
		t.Fatalf("bootstrap token not stored: %v", err)
	}
	if tok.AdminID != a.ID || tok.ID != res.TokenID || !strings.HasPrefix(testToken, tok.Prefix) || tok.Prefix == "" {
		t.Errorf("token = %+v, want owned by %s with a prefix of the secret", tok, a.ID)
	}
	if p, err := idp.Authenticate(ctx, store, testToken, fixedNow); err != nil || p.AdminID != a.ID {
		t.Errorf("Authenticate(bootstrap token) = %+v, %v; want the platform administrator", p, err)
	}

	audit, err := store.ListAudit(ctx, acct.ID, holdfast.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(audit) != 1 || audit[0].Action != "account.bootstrap" || audit[0].Outcome != holdfast.OutcomeSuccess {
		t.Fatalf("audit = %+v, want one account.bootstrap record", audit)
	}
	if bytes.Contains(audit[0].Detail, []byte("password\":\"A long")) || bytes.Contains(audit[0].Detail, []byte(testToken)) {
		t.Errorf("audit detail leaks a secret: %s", audit[0].Detail)
	}
}

// TestBootstrapSetupLink: without a password the first start makes a
// one-time setup link instead of a password; every later start while the
// administrator still has no password makes a fresh one and voids the
// earlier; once the password is set, no link.
func TestBootstrapSetupLink(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	ids := store
	res, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if res.Setup.Secret == "" || res.Setup.Email != setup.DefaultAdminEmail || !res.Setup.ExpiresAt.After(fixedNow) {
		t.Fatalf("Setup = %+v, want a link for %s that expires later", res.Setup, setup.DefaultAdminEmail)
	}
	if got := res.Setup.URL("http://127.0.0.1:8080/"); got != "http://127.0.0.1:8080/setup?token="+res.Setup.Secret.Reveal() {
		t.Errorf("URL = %q", got)
	}
	a, err := store.GetAdminByEmail(ctx, setup.DefaultAdminEmail)
	if err != nil {
		t.Fatal(err)
	}
	if a.PasswordHash != "" {
		t.Error("the administrator has a password nobody was shown")
	}
	var detail map[string]any
	audit, _ := store.ListAudit(ctx, res.Account.ID, holdfast.AuditFilter{})
	if err := json.Unmarshal(audit[0].Detail, &detail); err != nil || detail["password"] != "setup_link" {
		t.Errorf("audit detail = %s, want password: setup_link", audit[0].Detail)
	}

	again, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existing || again.Setup.Secret == "" || again.Setup.Secret == res.Setup.Secret {
		t.Fatalf("restart: Existing %v, setup %q; want a fresh link", again.Existing, again.Setup.Secret)
	}
	if _, err := ids.UseLink(ctx, sha(res.Setup.Secret.Reveal()), fixedNow); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("the first link still works after a restart: %v", err)
	}
	l, err := ids.UseLink(ctx, sha(again.Setup.Secret.Reveal()), fixedNow)
	if err != nil || l.Purpose != holdfast.LinkSetup || l.AdminID != a.ID {
		t.Fatalf("fresh link: %+v %v", l, err)
	}
	if _, err := ids.UseLink(ctx, sha(again.Setup.Secret.Reveal()), fixedNow); !errors.Is(err, holdfast.ErrNotFound) {
		t.Errorf("the link worked twice: %v", err)
	}

	a.PasswordHash, _ = idp.HashPassword("A long enough password 1")
	if err := store.UpdateAdmin(ctx, &a); err != nil {
		t.Fatal(err)
	}
	third, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if third.Setup.Secret != "" {
		t.Error("a setup link was made for an administrator who has a password")
	}
}

// sha is the id a link's secret is stored under.
func sha(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func TestBootstrapSecondStart(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	opts := setup.BootstrapOptions{AdminEmail: "root@example.com", AdminPassword: "First password 1!", Token: testToken, Clock: clock}
	first, err := setup.Bootstrap(ctx, store, opts)
	if err != nil {
		t.Fatal(err)
	}
	revBefore, _ := store.Revision(ctx, first.Account.ID)

	tests := []struct {
		name         string
		opts         setup.BootstrapOptions
		wantWarnings []string // substrings, in order
		wantToken    bool
	}{
		{"same settings", opts, nil, true},
		{"no settings", setup.BootstrapOptions{}, nil, false},
		{"different token", setup.BootstrapOptions{AdminEmail: "root@example.com", Token: "hf_another-token-0123456789abcdef"},
			[]string{"bootstrap token ignored"}, false},
		{"different password", setup.BootstrapOptions{AdminEmail: "root@example.com", AdminPassword: "Second password 2!"},
			[]string{"bootstrap password ignored"}, false},
		{"different email", setup.BootstrapOptions{AdminEmail: "other@example.com"},
			[]string{"bootstrap administrator other@example.com ignored"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := setup.Bootstrap(ctx, store, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !res.Existing || res.Account.ID != first.Account.ID {
				t.Errorf("Existing = %v, account %q; want true, %q", res.Existing, res.Account.ID, first.Account.ID)
			}
			if res.Setup.Secret != "" {
				t.Error("a second start made a setup link although the administrator has a password")
			}
			if (res.TokenID != "") != tt.wantToken {
				t.Errorf("TokenID = %q, want set: %v", res.TokenID, tt.wantToken)
			}
			if len(res.Warnings) != len(tt.wantWarnings) {
				t.Fatalf("Warnings = %q, want %d", res.Warnings, len(tt.wantWarnings))
			}
			for i, w := range tt.wantWarnings {
				if !strings.Contains(res.Warnings[i], w) {
					t.Errorf("warning %q does not mention %q", res.Warnings[i], w)
				}
			}
			for _, w := range res.Warnings {
				if strings.Contains(w, "Second password") || strings.Contains(w, "another-token") {
					t.Errorf("warning leaks a secret: %q", w)
				}
			}
		})
	}

	accounts, _ := store.ListAccounts(ctx)
	admins, _ := store.ListAdmins(ctx, first.Account.ID, holdfast.AdminFilter{})
	tokens, _ := store.ListTokens(ctx, first.Account.ID, "")
	revAfter, _ := store.Revision(ctx, first.Account.ID)
	if len(accounts) != 1 || len(admins) != 1 || len(tokens) != 1 || revAfter != revBefore {
		t.Errorf("later starts changed the store: %d accounts, %d admins, %d tokens, revision %d -> %d",
			len(accounts), len(admins), len(tokens), revBefore, revAfter)
	}
	a, _ := store.GetAdminByEmail(ctx, "root@example.com")
	if ok, _ := idp.VerifyPassword(a.PasswordHash, "First password 1!"); !ok {
		t.Error("a later start changed the password")
	}
}

func TestBootstrapRevokedToken(t *testing.T) {
	ctx := context.Background()
	store := newStore(t)
	first, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{Token: testToken, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.RevokeToken(ctx, first.Account.ID, first.TokenID, fixedNow); err != nil {
		t.Fatal(err)
	}
	res, err := setup.Bootstrap(ctx, store, setup.BootstrapOptions{Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if res.TokenID != "" || len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "revoked") {
		t.Errorf("TokenID %q, warnings %q; want no token and a revoked warning", res.TokenID, res.Warnings)
	}
	tok, _ := store.GetTokenByHash(ctx, idp.HashToken(testToken))
	if tok.RevokedAt == nil {
		t.Error("a restart re-enabled a revoked token")
	}
}

func TestBootstrapInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opts setup.BootstrapOptions
		want string
	}{
		{"short password", setup.BootstrapOptions{AdminPassword: "short"}, "admin_password: must be 12 to 64 characters long"},
		{"weak password", setup.BootstrapOptions{AdminPassword: "alllowercaseletters"}, "admin_password: must contain an upper-case letter"},
		{"long password", setup.BootstrapOptions{AdminPassword: holdfast.Secret(strings.Repeat("x", 65))}, "admin_password"},
		{"bad email", setup.BootstrapOptions{AdminEmail: "not an email"}, "admin_email"},
		{"email with name", setup.BootstrapOptions{AdminEmail: "Jane <jane@example.com>"}, "admin_email"},
		{"unknown edition", setup.BootstrapOptions{Edition: "platinum"}, `edition: unknown edition "platinum"`},
		{"short token", setup.BootstrapOptions{Token: "abc"}, "token: must be at least 24"},
		{"unknown add-on", setup.BootstrapOptions{Addons: []string{holdfast.AddonGovernance, "addon_x"}}, `addons: unknown add-on "addon_x"`},
		{"token with space", setup.BootstrapOptions{Token: "hf_has a space in it 0123456789"}, "printable ASCII"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			store := newStore(t)
			_, err := setup.Bootstrap(ctx, store, tt.opts)
			if !errors.Is(err, holdfast.ErrInvalid) {
				t.Fatalf("Bootstrap error = %v, want ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "short") && tt.name == "short password" {
				t.Errorf("error %q contains the password", err)
			}
			if accounts, _ := store.ListAccounts(ctx); len(accounts) != 0 {
				t.Errorf("invalid options created %d accounts", len(accounts))
			}
		})
	}
}
