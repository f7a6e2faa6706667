package authz_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/authz"
)

func decide(tb testing.TB, e *authz.Engine, acct, subject, action string, res holdfast.Entity) holdfast.Decision {
	tb.Helper()
	d, err := e.Decide(context.Background(), holdfast.DecisionRequest{
		AccountID: acct,
		Subject:   holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: subject},
		Action:    holdfast.Action{Name: action},
		Resource:  res,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// TestDecisionsFollowLiveData: a re-scoped administrator and an edited
// custom role count from the next request on, for this engine and for a
// second engine on the same store (another replica).
func TestDecisionsFollowLiveData(t *testing.T) {
	fx := newFixture(t, holdfast.EditionElite)
	ctx := context.Background()
	replica, err := authz.New(ctx, authz.Options{Store: fx.store})
	if err != nil {
		t.Fatal(err)
	}
	sales := holdfast.Entity{Type: holdfast.ResourceUser, ID: userSales}
	for _, e := range []*authz.Engine{fx.engine, replica} {
		if d := decide(t, e, fx.acct.ID, "adm_help_desk_admin", "users.view", sales); d.Allow {
			t.Fatalf("help desk sees a user outside its profiles: %+v", d)
		}
	}
	// Re-scope the help desk administrator to Sales.
	admin, err := fx.store.GetAdmin(ctx, fx.acct.ID, "adm_help_desk_admin")
	if err != nil {
		t.Fatal(err)
	}
	admin.Scopes.Profiles = []string{profSales}
	if err := fx.store.UpdateAdmin(ctx, &admin); err != nil {
		t.Fatal(err)
	}
	for _, e := range []*authz.Engine{fx.engine, replica} {
		if d := decide(t, e, fx.acct.ID, "adm_help_desk_admin", "users.view", sales); !d.Allow {
			t.Errorf("after re-scoping, help desk is still refused: %+v", d)
		}
	}

	// Take users.view away from the custom role through one engine; the
	// replica must see it on its next decision.
	if d := decide(t, replica, fx.acct.ID, "adm_custom", "users.view", sales); !d.Allow {
		t.Fatalf("custom role refused users.view: %+v", d)
	}
	err = fx.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		return fx.engine.SaveRoleRights(ctx, tx, fx.acct.ID, roleCustom, []string{"restores.view"})
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*authz.Engine{fx.engine, replica} {
		d := decide(t, e, fx.acct.ID, "adm_custom", "users.view", sales)
		if d.Allow {
			t.Errorf("edited role still grants users.view: %+v", d)
		}
	}
	role, err := replica.Role(ctx, fx.acct.ID, roleCustom)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(role.Rights, []string{"restores.view"}) {
		t.Errorf("role rights = %v, want [restores.view]", role.Rights)
	}

	// Placing a user on hold blocks deletion at once.
	eng := holdfast.Entity{Type: holdfast.ResourceUser, ID: userEng}
	if d := decide(t, fx.engine, fx.acct.ID, "adm_cloud_admin", "users.delete", eng); !d.Allow {
		t.Fatalf("cloud admin cannot delete a free user: %+v", d)
	}
	if err := fx.store.AddCustodian(ctx, fx.acct.ID, &holdfast.Custodian{HoldID: holdQ3, UserID: userEng}); err != nil {
		t.Fatal(err)
	}
	d := decide(t, fx.engine, fx.acct.ID, "adm_cloud_admin", "users.delete", eng)
	if d.Allow || !slices.Contains(d.Reasons, "user is on legal hold 'Q3 audit'") {
		t.Errorf("held user deletion: %+v", d)
	}
	if err := fx.store.RemoveCustodian(ctx, fx.acct.ID, holdQ3, userEng); err != nil {
		t.Fatal(err)
	}
	if d := decide(t, fx.engine, fx.acct.ID, "adm_cloud_admin", "users.delete", eng); !d.Allow {
		t.Errorf("released user still protected: %+v", d)
	}
}

// TestTenantIsolation: an administrator of another account is unknown, and
// so are the other account's resources.
func TestTenantIsolation(t *testing.T) {
	fx := newFixture(t, holdfast.EditionElite)
	ctx := context.Background()
	other := holdfast.Account{ID: "acct_other", Name: "Other", Edition: holdfast.EditionElite, Settings: holdfast.DefaultAccountSettings()}
	if err := fx.store.CreateAccount(ctx, &other); err != nil {
		t.Fatal(err)
	}
	d := decide(t, fx.engine, other.ID, "adm_cloud_admin@elite.fixture.test", "users.view", holdfast.Entity{Type: holdfast.ResourceUser, ID: userEng})
	if d.Allow || !slices.Contains(d.Reasons, "unknown administrator") {
		t.Errorf("cross-account subject: %+v", d)
	}
	d = decide(t, fx.engine, other.ID, "adm_cloud_admin", "users.view", holdfast.Entity{Type: holdfast.ResourceUser, ID: userEng})
	if d.Allow {
		t.Errorf("cross-account subject by id: %+v", d)
	}
	d = decide(t, fx.engine, fx.acct.ID, "adm_cloud_admin", "users.view", holdfast.Entity{Type: holdfast.ResourceAccount, ID: other.ID})
	if d.Allow {
		t.Errorf("cross-account resource: %+v", d)
	}
}

// TestDecisionIDsAndCache: every decision gets its own id, a cached answer
// included, and cached answers equal fresh ones.
func TestDecisionIDsAndCache(t *testing.T) {
	fx := newFixture(t, holdfast.EditionElite)
	res := holdfast.Entity{Type: holdfast.ResourceLegalHold, ID: holdQ3}
	first := decide(t, fx.engine, fx.acct.ID, "adm_help_desk_admin", "legal_holds.view", res)
	second := decide(t, fx.engine, fx.acct.ID, "adm_help_desk_admin", "legal_holds.view", res)
	if first.ID == second.ID || !strings.HasPrefix(first.ID, "dec_") && strings.HasPrefix(second.ID, "dec_") {
		t.Errorf("decision ids %q and %q", first.ID, second.ID)
	}
	if first.Allow != second.Allow || !slices.Equal(first.Reasons, second.Reasons) || first.Revision != second.Revision {
		t.Errorf("cached decision differs: %+v vs %+v", first, second)
	}
	if !slices.Contains(first.Reasons, "Help Desk Administrator cannot view legal holds") {
		t.Errorf("reasons = %q", first.Reasons)
	}
	nocache, err := authz.New(context.Background(), authz.Options{Store: fx.store, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	third := decide(t, nocache, fx.acct.ID, "adm_help_desk_admin", "legal_holds.view", res)
	if third.Allow != first.Allow || !slices.Equal(third.Reasons, first.Reasons) {
		t.Errorf("uncached decision differs: %+v vs %+v", third, first)
	}
}

// TestRolesOfAccount: the Business edition lists only its two roles and
// every role carries its effective rights.
func TestRolesOfAccount(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		edition holdfast.Edition
		want    []string
		absent  []string
	}{
		{holdfast.EditionBusiness, []string{"platform_admin", "cloud_admin"}, []string{"help_desk_admin", "legal_admin"}},
		{holdfast.EditionElite, []string{"platform_admin", "cloud_admin", "legal_admin", "help_desk_admin", roleCustom}, []string{"sensitive_data_governance_admin"}},
		{holdfast.EditionEnterprise, []string{"help_desk_admin"}, []string{"legal_admin"}},
	} {
		fx := newFixture(t, tc.edition)
		roles, err := fx.engine.Roles(ctx, fx.acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]holdfast.Role{}
		for _, r := range roles {
			ids[r.ID] = r
		}
		for _, id := range tc.want {
			if r, ok := ids[id]; !ok || len(r.Rights) == 0 {
				t.Errorf("%s: role %s missing or without rights", tc.edition, id)
			}
		}
		for _, id := range tc.absent {
			if _, ok := ids[id]; ok {
				t.Errorf("%s: role %s listed", tc.edition, id)
			}
		}
		if pa := ids["platform_admin"]; !slices.Contains(pa.Rights, "users.view") || !slices.Contains(pa.Rights, "account.sso.manage") {
			t.Errorf("platform_admin rights %v lack inherited or own rights", pa.Rights)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	fx := newFixture(b, holdfast.EditionElite)
	uncached, err := authz.New(context.Background(), authz.Options{Store: fx.store, CacheBytes: -1})
	if err != nil {
		b.Fatal(err)
	}
	res := holdfast.Entity{Type: holdfast.ResourceDevice, ID: devEngLap}
	for _, bc := range []struct {
		name string
		e    *authz.Engine
	}{{"cached", fx.engine}, {"uncached", uncached}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				decide(b, bc.e, fx.acct.ID, "adm_help_desk_admin", "restores.manage", res)
			}
		})
	}
}
