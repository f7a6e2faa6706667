package idp

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
)

// ErrOutsideFence refuses a request from outside the account's geofence.
var ErrOutsideFence = fmt.Errorf("%w: access from this network address is not allowed for this account", holdfast.ErrDenied)

// Geofencing grace periods (rights-and-roles.md section 6): an
// administrator whose session moves off the allowed networks keeps access
// for FenceGrace; a session that was already outside when the fence went
// up continues until it has been idle FenceIdle.
const (
	FenceGrace    = 10 * time.Minute
	FenceIdle     = 30 * time.Minute
	MaxFenceRules = 200
)

// ipRange is one allowed entry: a single address, a hyphen range or a
// CIDR block, as an inclusive range of 16-byte addresses.
type ipRange struct{ lo, hi net.IP }

// ParseFenceRule reads "192.0.2.7", "192.0.2.10-192.0.2.20" or
// "192.0.2.0/24" (IPv6 alike).
func ParseFenceRule(s string) (ipRange, error) {
	s = strings.TrimSpace(s)
	if _, n, err := net.ParseCIDR(s); err == nil {
		lo := n.IP.To16()
		hi := make(net.IP, len(lo))
		mask := n.Mask
		if len(mask) == net.IPv4len {
			mask = append(net.CIDRMask(96, 128)[:12:12], mask...)
		}
		for i := range lo {
			hi[i] = lo[i] | ^mask[i]
		}
		return ipRange{lo, hi}, nil
	}
	if a, b, ok := strings.Cut(s, "-"); ok {
		lo, hi := net.ParseIP(strings.TrimSpace(a)), net.ParseIP(strings.TrimSpace(b))
		if lo == nil || hi == nil || (lo.To4() == nil) != (hi.To4() == nil) || bytes.Compare(lo.To16(), hi.To16()) > 0 {
			return ipRange{}, fmt.Errorf("%q is not a range of addresses, low-high", s)
		}
		return ipRange{lo.To16(), hi.To16()}, nil
	}
	if ip := net.ParseIP(s); ip != nil {
		return ipRange{ip.To16(), ip.To16()}, nil
	}
	return ipRange{}, fmt.Errorf("%q is not an address, a range or a CIDR block", s)
}

// InFence reports whether ip is inside one of rules (already valid).
func InFence(rules []string, ip net.IP) bool {
	if ip == nil {
		return false
	}
	ip16 := ip.To16()
	for _, s := range rules {
		r, err := ParseFenceRule(s)
		if err != nil {
			continue
		}
		if bytes.Compare(ip16, r.lo) >= 0 && bytes.Compare(ip16, r.hi) <= 0 {
			return true
		}
	}
	return false
}

// CheckFence validates a geofence as an administrator sets it: at most
// MaxFenceRules entries, each an address, a range or a CIDR block, and at
// least one when enabled. It returns the entries trimmed, or the
// validation error naming each bad one.
func CheckFence(enabled bool, allowed []string) ([]string, error) {
	var v holdfast.ValidationError
	if len(allowed) > MaxFenceRules {
		v.Add("allowed", "at most %d entries", MaxFenceRules)
	}
	out := make([]string, len(allowed))
	for i, a := range allowed {
		if _, err := ParseFenceRule(a); err != nil {
			v.Add(fmt.Sprintf("allowed[%d]", i), "%s", err.Error())
		}
		out[i] = strings.TrimSpace(a)
	}
	if enabled && len(allowed) == 0 {
		v.Add("allowed", "an enabled geofence needs at least one entry")
	}
	return out, v.Err()
}

// FenceSession applies st's geofence to a request from ip on session se at
// now, with the grace rules (rights-and-roles.md section 6): a session
// that moves outside keeps access for FenceGrace; one started outside
// (before the fence went up: sign-in from outside is refused) lives on
// until idle for FenceIdle. It reports whether se.OutsideSince changed;
// a refusal is ErrOutsideFence.
func FenceSession(st holdfast.IdentitySettings, se *holdfast.Session, ip net.IP, now time.Time) (bool, error) {
	if !st.GeofenceEnabled || InFence(st.GeofenceAllowed, ip) {
		if se.OutsideSince != nil {
			se.OutsideSince = nil
			return true, nil
		}
		return false, nil
	}
	if !InFence(st.GeofenceAllowed, net.ParseIP(se.RemoteIP)) {
		if now.Sub(se.LastSeenAt) >= FenceIdle {
			return false, ErrOutsideFence
		}
		return false, nil
	}
	if se.OutsideSince == nil {
		se.OutsideSince = &now
		return true, nil
	}
	if now.Sub(*se.OutsideSince) >= FenceGrace {
		return false, ErrOutsideFence
	}
	return false, nil
}

// FenceAllows reports whether st's geofence lets a request from ip in.
func FenceAllows(st holdfast.IdentitySettings, ip net.IP) bool {
	return !st.GeofenceEnabled || InFence(st.GeofenceAllowed, ip)
}

// SettingsCache keeps each account's identity settings under the account's
// data revision, so the geofence check of every token and session request
// costs a revision look-up (in memory) instead of a query. Every settings
// write moves the revision on, and an entry is filed under the revision
// read before the settings, so a change counts from the next request on,
// in this process and (through the store's revision notifications) in
// every replica. The zero value is ready to use.
type SettingsCache struct {
	mu      sync.Mutex // guards entries
	entries map[string]settingsEntry
}

type settingsEntry struct {
	rev int64
	st  holdfast.IdentitySettings
}

// maxSettingsEntries bounds the cache; past it, it starts over.
const maxSettingsEntries = 10000

// Revisioner reads an account's data revision (holdfast.MetaStore does).
type Revisioner interface {
	Revision(ctx context.Context, accountID string) (int64, error)
}

// Get returns accountID's identity settings as of now.
func (c *SettingsCache) Get(ctx context.Context, revs Revisioner, ids holdfast.IdentityStore, accountID string) (holdfast.IdentitySettings, error) {
	rev, err := revs.Revision(ctx, accountID)
	if err != nil {
		return holdfast.IdentitySettings{}, err
	}
	c.mu.Lock()
	e, ok := c.entries[accountID]
	c.mu.Unlock()
	if ok && e.rev == rev {
		return e.st, nil
	}
	st, err := ids.GetIdentitySettings(ctx, accountID)
	if err != nil {
		return st, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxSettingsEntries {
		c.entries = make(map[string]settingsEntry)
	}
	// A reader that saw an older revision never replaces a newer entry.
	if old, ok := c.entries[accountID]; !ok || old.rev <= rev {
		c.entries[accountID] = settingsEntry{rev: rev, st: st}
	}
	return st, nil
}
