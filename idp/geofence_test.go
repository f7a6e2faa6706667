package idp

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

func TestFenceRules(t *testing.T) {
	rules := []string{"192.0.2.7", "198.51.100.10-198.51.100.20", "203.0.113.0/25", "2001:db8::/32"}
	tests := []struct {
		ip   string
		want bool
	}{
		{"192.0.2.7", true},
		{"192.0.2.8", false},
		{"198.51.100.10", true},
		{"198.51.100.20", true},
		{"198.51.100.21", false},
		{"203.0.113.127", true},
		{"203.0.113.128", false},
		{"::ffff:192.0.2.7", true}, // IPv4-mapped IPv6 is the same address
		{"2001:db8:1::5", true},
		{"2001:db9::1", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := InFence(rules, net.ParseIP(tt.ip)); got != tt.want {
			t.Errorf("InFence(%q) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	for _, bad := range []string{"", "300.1.1.1", "10.0.0.9-10.0.0.1", "10.0.0.1-2001:db8::1", "10.0.0.0/33", "example.com"} {
		if _, err := ParseFenceRule(bad); err == nil {
			t.Errorf("ParseFenceRule(%q) accepted", bad)
		}
	}
}

// TestFenceSessionGrace: a session that moves outside the fence keeps
// access for FenceGrace, then is refused; back inside it is cleared; one
// started outside (before the fence) lives until idle for FenceIdle.
func TestFenceSessionGrace(t *testing.T) {
	st := holdfast.IdentitySettings{GeofenceEnabled: true, GeofenceAllowed: []string{"192.0.2.0/24"}}
	home, away := net.ParseIP("192.0.2.5"), net.ParseIP("198.51.100.1")
	t0 := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	se := holdfast.Session{RemoteIP: home.String(), LastSeenAt: t0}
	if changed, err := FenceSession(st, &se, home, t0); changed || err != nil {
		t.Fatalf("inside: %v %v", changed, err)
	}
	if changed, err := FenceSession(st, &se, away, t0); !changed || err != nil || se.OutsideSince == nil {
		t.Fatalf("moved outside: %v %v %v", changed, err, se.OutsideSince)
	}
	if _, err := FenceSession(st, &se, away, t0.Add(FenceGrace-time.Second)); err != nil {
		t.Errorf("inside the grace: %v", err)
	}
	if _, err := FenceSession(st, &se, away, t0.Add(FenceGrace)); !errors.Is(err, ErrOutsideFence) {
		t.Errorf("after the grace: %v, want ErrOutsideFence", err)
	}
	if changed, err := FenceSession(st, &se, home, t0.Add(FenceGrace)); !changed || err != nil || se.OutsideSince != nil {
		t.Errorf("back inside: %v %v %v", changed, err, se.OutsideSince)
	}
	old := holdfast.Session{RemoteIP: away.String(), LastSeenAt: t0}
	if _, err := FenceSession(st, &old, away, t0.Add(FenceIdle-time.Second)); err != nil {
		t.Errorf("pre-fence session, not idle: %v", err)
	}
	if _, err := FenceSession(st, &old, away, t0.Add(FenceIdle)); !errors.Is(err, ErrOutsideFence) {
		t.Errorf("pre-fence session idle for FenceIdle: %v, want ErrOutsideFence", err)
	}
	st.GeofenceEnabled = false
	if _, err := FenceSession(st, &old, away, t0.Add(time.Hour)); err != nil {
		t.Errorf("fence off: %v", err)
	}
}

func TestCheckFence(t *testing.T) {
	got, err := CheckFence(true, []string{" 192.0.2.7 ", "10.0.0.0/8"})
	if err != nil || got[0] != "192.0.2.7" {
		t.Errorf("CheckFence = %q, %v", got, err)
	}
	var v *holdfast.ValidationError
	if _, err := CheckFence(true, nil); !errors.As(err, &v) || v.Fields[0].Field != "allowed" {
		t.Errorf("enabled without entries: %v", err)
	}
	if _, err := CheckFence(false, []string{"10.0.0.1", "nope"}); !errors.As(err, &v) || v.Fields[0].Field != "allowed[1]" {
		t.Errorf("bad entry: %v", err)
	}
}

// countingSettings is an identity store that counts settings reads, at a
// revision the test moves by hand.
type countingSettings struct {
	holdfast.IdentityStore
	rev   int64
	reads int
	st    holdfast.IdentitySettings
}

func (c *countingSettings) Revision(context.Context, string) (int64, error) { return c.rev, nil }

func (c *countingSettings) GetIdentitySettings(_ context.Context, accountID string) (holdfast.IdentitySettings, error) {
	c.reads++
	st := c.st
	st.AccountID = accountID
	return st, nil
}

// TestSettingsCacheByRevision: the geofence check of a token request reads
// the settings once per account revision, not once per request, and a
// change (which moves the revision) counts from the next request on.
func TestSettingsCacheByRevision(t *testing.T) {
	ctx := context.Background()
	store := &countingSettings{rev: 7}
	var c SettingsCache
	for range 3 {
		st, err := c.Get(ctx, store, store, "acct")
		if err != nil || st.GeofenceEnabled {
			t.Fatalf("get: %+v %v", st, err)
		}
	}
	if store.reads != 1 {
		t.Errorf("three requests at one revision read the settings %d times, want 1", store.reads)
	}
	store.st.GeofenceEnabled, store.rev = true, 8
	if st, _ := c.Get(ctx, store, store, "acct"); !st.GeofenceEnabled || store.reads != 2 {
		t.Errorf("after a change: enabled %v, reads %d", st.GeofenceEnabled, store.reads)
	}
	// A reader still at the older revision does not replace the newer entry.
	store.rev, store.st.GeofenceEnabled = 7, false
	if _, err := c.Get(ctx, store, store, "acct"); err != nil {
		t.Fatal(err)
	}
	store.rev = 8
	if st, _ := c.Get(ctx, store, store, "acct"); !st.GeofenceEnabled {
		t.Error("an older reader replaced the settings of the newer revision")
	}
}
