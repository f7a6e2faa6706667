package devices_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/devices"
	"github.com/holdfast/holdfast/storage/storagetest"
)

// TestActivationKeyLifecycle: a key's secret is shown once and only its
// hash kept; it activates until it expires by the injected clock (and
// again when the clock steps back), or until it is revoked; every other
// secret is refused alike.
func TestActivationKeyLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	k, secret, err := f.svc.IssueKey(ctx, f.salesAdmin, devices.NewKey{UserID: f.salesUser.ID, Name: "new laptop", ValidDays: 2})
	must(t, err)
	if k.Kind != holdfast.ActivationUser || !strings.HasPrefix(secret.Reveal(), k.Prefix) || len(secret.Reveal()) < 40 ||
		!k.ExpiresAt.Equal(f.clock.Now().Add(48*time.Hour)) {
		t.Fatalf("IssueKey = %+v", k)
	}
	stored, err := f.store.GetActivationKey(ctx, f.acct, k.ID)
	must(t, err)
	if strings.Contains(string(stored.Hash), secret.Reveal()) || len(stored.Hash) != 32 {
		t.Errorf("the store keeps %x, want only the SHA-256 of the secret", stored.Hash)
	}
	recs := f.audit(t, "activation_key.create")
	if len(recs) != 1 || strings.Contains(string(recs[0].Detail), secret.Reveal()) {
		t.Errorf("create records = %+v; the secret must not be in them", recs)
	}
	if got, err := f.svc.CheckKey(ctx, secret.Reveal()); err != nil || got.ID != k.ID || got.UserID != f.salesUser.ID {
		t.Errorf("CheckKey of a fresh key = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "hfa_", secret.Reveal() + "x", strings.TrimPrefix(secret.Reveal(), "hfa_")} {
		if _, err := f.svc.CheckKey(ctx, bad); !errors.Is(err, holdfast.ErrUnauthenticated) {
			t.Errorf("CheckKey(%q) = %v, want ErrUnauthenticated", bad, err)
		}
	}
	f.clock.add(48 * time.Hour)
	if _, err := f.svc.CheckKey(ctx, secret.Reveal()); !errors.Is(err, holdfast.ErrUnauthenticated) {
		t.Errorf("CheckKey at expiry = %v, want ErrUnauthenticated", err)
	}
	f.clock.add(-time.Hour)
	if _, err := f.svc.CheckKey(ctx, secret.Reveal()); err != nil {
		t.Errorf("CheckKey an hour before expiry = %v", err)
	}
	revoked, err := f.svc.RevokeKey(ctx, f.salesAdmin, k.ID)
	if err != nil || revoked.RevokedAt == nil {
		t.Fatalf("RevokeKey = %+v, %v", revoked, err)
	}
	if _, err := f.svc.CheckKey(ctx, secret.Reveal()); !errors.Is(err, holdfast.ErrUnauthenticated) {
		t.Errorf("CheckKey after revoke = %v, want ErrUnauthenticated", err)
	}
	if recs := f.audit(t, "activation_key.revoke"); len(recs) != 1 || recs[0].ResourceID != k.ID {
		t.Errorf("revoke records = %+v", recs)
	}
}

// TestActivationKeyRightsAndScope: the engine decides a key on a new
// endpoint of its user or profile, so profile and workload scopes apply;
// the list shows only keys in scope; bad input names the field.
func TestActivationKeyRightsAndScope(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	eng := f.engLaptop.UserID
	_, _, err := f.svc.IssueKey(ctx, f.salesAdmin, devices.NewKey{UserID: eng})
	if !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("key for a user outside the profile: %v, want ErrDenied", err)
	}
	_, _, err = f.svc.IssueKey(ctx, f.mailAdmin, devices.NewKey{UserID: f.salesUser.ID})
	if !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("key from an administrator without endpoints: %v, want ErrDenied", err)
	}
	engUser, err := f.store.GetUser(ctx, f.acct, eng)
	must(t, err)
	_, _, err = f.svc.IssueKey(ctx, f.salesAdmin, devices.NewKey{ProfileID: engUser.ProfileID})
	if !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("deployment token for a profile outside the scope: %v, want ErrDenied", err)
	}
	for _, tc := range []struct {
		in    devices.NewKey
		field string
	}{
		{devices.NewKey{}, "user_id"},
		{devices.NewKey{UserID: eng, ProfileID: engUser.ProfileID}, "user_id"},
		{devices.NewKey{UserID: eng, ValidDays: devices.MaxKeyDays + 1}, "valid_days"},
		{devices.NewKey{UserID: eng, ValidDays: -1}, "valid_days"},
	} {
		var v *holdfast.ValidationError
		if _, _, err := f.svc.IssueKey(ctx, f.platform, tc.in); !errors.As(err, &v) || v.Fields[0].Field != tc.field {
			t.Errorf("IssueKey(%+v) = %v, want a validation error naming %s", tc.in, err, tc.field)
		}
	}
	userKey, _, err := f.svc.IssueKey(ctx, f.salesAdmin, devices.NewKey{UserID: f.salesUser.ID})
	must(t, err)
	salesProfile := f.salesUser.ProfileID
	token, _, err := f.svc.IssueKey(ctx, f.salesAdmin, devices.NewKey{ProfileID: salesProfile, Name: "Intune", ValidDays: 90})
	must(t, err)
	_, _, err = f.svc.IssueKey(ctx, f.platform, devices.NewKey{UserID: eng})
	must(t, err)
	_, _, err = f.svc.IssueKey(ctx, f.platform, devices.NewKey{ProfileID: engUser.ProfileID})
	must(t, err)
	list := func(p holdfast.Principal, kf devices.KeyFilter) ([]string, int) {
		return storagetest.WalkPages(t, 1, func(k holdfast.ActivationKey) string { return k.ID },
			func(pg holdfast.Page) (holdfast.Paged[holdfast.ActivationKey], error) {
				return f.svc.ListKeys(ctx, p, kf, pg)
			})
	}
	ids, total := list(f.salesAdmin, devices.KeyFilter{})
	want := []string{userKey.ID, token.ID}
	slices.Sort(ids)
	slices.Sort(want)
	if total != 2 || !slices.Equal(ids, want) {
		t.Errorf("sales admin lists %v (total %d), want %v", ids, total, want)
	}
	if _, total := list(f.platform, devices.KeyFilter{Kind: holdfast.ActivationDeployment}); total != 2 {
		t.Errorf("platform lists %d deployment tokens, want 2", total)
	}
	if ids, total := list(f.mailAdmin, devices.KeyFilter{}); total != 0 || len(ids) != 0 {
		t.Errorf("an administrator without endpoints lists %v", ids)
	}
	if _, total := list(f.helpDesk, devices.KeyFilter{}); total != 4 {
		t.Errorf("help desk (all profiles) lists %d, want 4", total)
	}
	if _, err := f.svc.RevokeKey(ctx, f.salesAdmin, f.mustKeyOf(t, eng)); !errors.Is(err, holdfast.ErrDenied) {
		t.Errorf("revoke outside the scope: %v, want ErrDenied", err)
	}
}

// mustKeyOf returns the id of the user's first key.
func (f *fixture) mustKeyOf(t *testing.T, userID string) string {
	got, err := f.store.PageActivationKeys(t.Context(), f.acct, holdfast.ActivationKeyFilter{UserID: userID}, holdfast.Page{})
	must(t, err)
	if len(got.Items) == 0 {
		t.Fatalf("user %s has no key", userID)
	}
	return got.Items[0].ID
}
