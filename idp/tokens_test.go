package idp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// TestTokensCacheNeverOutlivesAChange: a remembered token stops working at
// once when it is revoked, its owner is disabled, or it expires.
func TestTokensCacheNeverOutlivesAChange(t *testing.T) {
	ctx := context.Background()
	for _, change := range []string{"revoke", "disable owner", "expire"} {
		t.Run(change, func(t *testing.T) {
			f := newTokenFixture(t)
			tokens := idp.NewTokens(f.store)
			secret := f.secrets["good"]
			p, err := tokens.Authenticate(ctx, secret, f.now)
			if err != nil || p.AdminID != f.admin.ID {
				t.Fatalf("first use: %+v, %v", p, err)
			}
			if _, err := tokens.Authenticate(ctx, secret, f.now); err != nil {
				t.Fatalf("cached use: %v", err)
			}
			now := f.now
			switch change {
			case "revoke":
				tok, err := f.store.GetTokenByHash(ctx, idp.HashToken(secret))
				if err != nil {
					t.Fatal(err)
				}
				if err := f.store.RevokeToken(ctx, tok.AccountID, tok.ID, now); err != nil {
					t.Fatal(err)
				}
			case "disable owner":
				a := f.admin
				a.State = holdfast.AdminDisabled
				if err := f.store.UpdateAdmin(ctx, &a); err != nil {
					t.Fatal(err)
				}
			case "expire":
				now = now.Add(2 * time.Hour)
			}
			if _, err := tokens.Authenticate(ctx, secret, now); !errors.Is(err, holdfast.ErrUnauthenticated) {
				t.Errorf("after %s: err = %v, want ErrUnauthenticated", change, err)
			}
		})
	}
}

// TestTokensTouchThrottled: the last-used time is written on first use and
// then at most once per TouchEvery.
func TestTokensTouchThrottled(t *testing.T) {
	ctx := context.Background()
	f := newTokenFixture(t)
	tokens := idp.NewTokens(f.store)
	secret := f.secrets["forever"]
	lastUsed := func() time.Time {
		tok, err := f.store.GetTokenByHash(ctx, idp.HashToken(secret))
		if err != nil {
			t.Fatal(err)
		}
		if tok.LastUsedAt == nil {
			return time.Time{}
		}
		return *tok.LastUsedAt
	}
	for i, tc := range []struct {
		at   time.Duration
		want time.Duration
	}{{0, 0}, {10 * time.Second, 0}, {59 * time.Second, 0}, {61 * time.Second, 61 * time.Second}} {
		if _, err := tokens.Authenticate(ctx, secret, f.now.Add(tc.at)); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(f.now.Add(tc.want)) {
			t.Errorf("use %d at +%v: last used %v, want %v", i, tc.at, got, f.now.Add(tc.want))
		}
	}
	if _, err := tokens.Authenticate(ctx, "hf_not-a-token", f.now); !errors.Is(err, holdfast.ErrUnauthenticated) {
		t.Errorf("unknown token: %v", err)
	}
}
