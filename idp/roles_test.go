package idp_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
	"github.com/holdfast/holdfast/policies"
)

// catalogRoles serves the real catalog's predefined roles with their
// default rights, plus custom roles.
type catalogRoles struct {
	cat    *policies.Catalog
	custom map[string][]string
}

func (c catalogRoles) Role(_ context.Context, _, id string) (holdfast.Role, error) {
	if rights, ok := c.custom[id]; ok {
		return holdfast.Role{ID: id, Rights: rights}, nil
	}
	if _, ok := c.cat.Role(id); !ok || id == policies.CustomRoleID {
		return holdfast.Role{}, fmt.Errorf("role %q: %w", id, holdfast.ErrNotFound)
	}
	return holdfast.Role{ID: id, Predefined: true, Rights: c.cat.RightsOf(id)}, nil
}

func TestRoleRulesAreCatalogData(t *testing.T) {
	cat, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	rules := idp.NewRoleRules(catalogRoles{cat: cat, custom: map[string][]string{
		"role_failsafe": {"users.view", cat.Rules.FailsafeRight},
		"role_plain":    {"users.view", "reports.view"},
		"role_tokens":   {cat.Rules.WebDAVTokenRight},
	}}, cat)
	ctx := context.Background()
	sso := holdfast.Account{Settings: holdfast.AccountSettings{SSOEnforced: true}}
	for _, tc := range []struct {
		role                          string
		passwordUnderSSO, mfa, webdav bool
	}{
		{"platform_admin", true, true, true},
		{"cloud_admin", false, false, true},
		{"legal_admin", true, false, false},
		{"help_desk_admin", false, false, false},
		{"role_failsafe", true, true, false},
		{"role_plain", false, false, false},
		{"role_tokens", false, false, true},
		{"no_such_role", false, false, false},
	} {
		a := holdfast.Administrator{ID: "adm_" + tc.role, AccountID: "acct", RoleID: tc.role}
		got, err := rules.PasswordSignIn(ctx, sso, a)
		if err != nil || got != tc.passwordUnderSSO {
			t.Errorf("%s: password sign-in under SSO = %v, %v; want %v", tc.role, got, err, tc.passwordUnderSSO)
		}
		if got, err := rules.PasswordSignIn(ctx, holdfast.Account{}, a); err != nil || !got {
			t.Errorf("%s: password sign-in without SSO = %v, %v; want true", tc.role, got, err)
		}
		if got, err := rules.MFARequired(ctx, a, holdfast.Credentials{}); err != nil || got != tc.mfa {
			t.Errorf("%s: MFA required (not enrolled) = %v, %v; want %v", tc.role, got, err, tc.mfa)
		}
		if got, err := rules.MFARequired(ctx, a, holdfast.Credentials{TOTPSecret: "x"}); err != nil || !got {
			t.Errorf("%s: MFA required once enrolled = %v, %v; want true", tc.role, got, err)
		}
		if got, err := rules.WebDAVToken(ctx, a); err != nil || got != tc.webdav {
			t.Errorf("%s: WebDAV token = %v, %v; want %v", tc.role, got, err, tc.webdav)
		}
	}
}

// failingRoles cannot resolve any role.
type failingRoles struct{}

func (failingRoles) Role(context.Context, string, string) (holdfast.Role, error) {
	return holdfast.Role{}, holdfast.ErrUnavailable
}

func TestRoleRulesDenyWhenRolesCannotBeResolved(t *testing.T) {
	cat, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	rules := idp.NewRoleRules(failingRoles{}, cat)
	a := holdfast.Administrator{ID: "adm_1", AccountID: "acct", RoleID: "platform_admin"}
	sso := holdfast.Account{Settings: holdfast.AccountSettings{SSOEnforced: true}}
	if ok, err := rules.PasswordSignIn(context.Background(), sso, a); ok || err == nil {
		t.Errorf("password under SSO with roles down = %v, %v; want false and an error", ok, err)
	}
	if ok, err := rules.WebDAVToken(context.Background(), a); ok || err == nil {
		t.Errorf("WebDAV token with roles down = %v, %v; want false and an error", ok, err)
	}
}

func TestCatalogNamesThePlatformRole(t *testing.T) {
	cat, err := policies.Load()
	if err != nil {
		t.Fatal(err)
	}
	got := cat.RolesHolding(cat.Rules.PlatformAdminRight, cat.Rules.FailsafeRight)
	if len(got) != 1 || got[0] != "platform_admin" {
		t.Errorf("roles holding the platform and fail-safe rights = %v, want [platform_admin]", got)
	}
}
