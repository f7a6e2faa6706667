package server

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
)

// Geofencing grace periods (rights-and-roles.md section 6): an
// administrator whose session moves off the allowed networks keeps access
// for fenceGrace; a session that was already outside when the fence went
// up continues until it has been idle fenceIdle.
const (
	fenceGrace   = 10 * time.Minute
	fenceIdle    = 30 * time.Minute
	maxFenceRule = 200
)

// ipRange is one allowed entry: a single address, a hyphen range or a
// CIDR block, as an inclusive range of 16-byte addresses.
type ipRange struct{ lo, hi net.IP }

// parseFenceRule reads "192.0.2.7", "192.0.2.10-192.0.2.20" or
// "192.0.2.0/24" (IPv6 alike).
func parseFenceRule(s string) (ipRange, error) {
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

// fenceAllows reports whether ip is inside one of rules (already valid).
func fenceAllows(rules []string, ip net.IP) bool {
	if ip == nil {
		return false
	}
	ip16 := ip.To16()
	for _, s := range rules {
		r, err := parseFenceRule(s)
		if err != nil {
			continue
		}
		if bytes.Compare(ip16, r.lo) >= 0 && bytes.Compare(ip16, r.hi) <= 0 {
			return true
		}
	}
	return false
}

// fenceSignIn refuses a sign-in from outside the account's geofence.
func (s *Server) fenceSignIn(ctx context.Context, admin holdfast.Administrator, ip net.IP) error {
	st, err := s.store.GetIdentitySettings(ctx, admin.AccountID)
	if err != nil {
		return err
	}
	if st.GeofenceEnabled && !fenceAllows(st.GeofenceAllowed, ip) {
		s.auditSignIn(ctx, admin, "any", holdfast.OutcomeDenied, "outside geofence")
		return errOutsideFence
	}
	return nil
}

// fenceSession applies the geofence to a session request, with the grace
// rules; it reports whether se.OutsideSince changed.
func (s *Server) fenceSession(ctx context.Context, r *http.Request, se *holdfast.Session, now time.Time) (bool, error) {
	st, err := s.settings.get(ctx, s.store, s.store, se.AccountID)
	if err != nil {
		return false, err
	}
	if !st.GeofenceEnabled || fenceAllows(st.GeofenceAllowed, clientIP(r)) {
		if se.OutsideSince != nil {
			se.OutsideSince = nil
			return true, nil
		}
		return false, nil
	}
	// A session started outside the fence predates it (sign-in from
	// outside is refused): it lives on until idle for fenceIdle.
	if !fenceAllows(st.GeofenceAllowed, net.ParseIP(se.RemoteIP)) {
		if now.Sub(se.LastSeenAt) >= fenceIdle {
			return false, errOutsideFence
		}
		return false, nil
	}
	if se.OutsideSince == nil {
		se.OutsideSince = &now
		return true, nil
	}
	if now.Sub(*se.OutsideSince) >= fenceGrace {
		return false, errOutsideFence
	}
	return false, nil
}

// bearerGeofenced wraps the API token authenticator so that token
// requests, too, come from inside the account's geofence.
func (s *Server) bearerGeofenced() {
	inner := s.authn[0]
	s.authn[0] = func(r *http.Request) (holdfast.Principal, error) {
		p, err := inner(r)
		if err != nil {
			return p, err
		}
		if err := s.fenceToken(r, p.AccountID); err != nil {
			return holdfast.Principal{}, err
		}
		return p, nil
	}
}

// fenceToken refuses a request authenticated by an API token of accountID
// from outside the account's geofence, wherever the token is presented:
// as a bearer token, or as a WebDAV password.
func (s *Server) fenceToken(r *http.Request, accountID string) error {
	if s.auth == nil {
		return nil // sign-in, and with it the geofence, is off
	}
	st, err := s.settings.get(r.Context(), s.store, s.store, accountID)
	if err != nil {
		return err
	}
	if st.GeofenceEnabled && !fenceAllows(st.GeofenceAllowed, clientIP(r)) {
		return errOutsideFence
	}
	return nil
}

// geofenceBody is the geofence as the API shows and takes it.
type geofenceBody struct {
	Enabled bool     `json:"enabled"`
	Allowed []string `json:"allowed"`
}

// getGeofence serves GET /api/v1/account/geofence (settings.view).
func (s *Server) getGeofence(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	acct := principal(ctx).AccountID
	if _, err := s.decide(ctx, check{right: "settings.view", resource: settingsEntity(acct)}); err != nil {
		return err
	}
	st, err := s.store.GetIdentitySettings(ctx, acct)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, geofenceBody{Enabled: st.GeofenceEnabled, Allowed: nonNilSlice(st.GeofenceAllowed)})
}

// putGeofence serves PUT /api/v1/account/geofence
// (account.geofencing.manage). Turning the fence on from an address it
// would shut out is refused, so no one locks themselves out.
func (s *Server) putGeofence(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var in geofenceBody
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	var v holdfast.ValidationError
	if len(in.Allowed) > maxFenceRule {
		v.Add("allowed", "at most %d entries", maxFenceRule)
	}
	for i, a := range in.Allowed {
		if _, err := parseFenceRule(a); err != nil {
			v.Add(fmt.Sprintf("allowed[%d]", i), "%s", err.Error())
		}
		in.Allowed[i] = strings.TrimSpace(a)
	}
	if in.Enabled && len(in.Allowed) == 0 {
		v.Add("allowed", "an enabled geofence needs at least one entry")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if in.Enabled && !fenceAllows(in.Allowed, clientIP(r)) {
		return fmt.Errorf("%w: allowed: your own address %s is outside this geofence", holdfast.ErrInvalid, ipString(clientIP(r)))
	}
	acct := principal(ctx).AccountID
	c := change{action: "account.geofence.update", resourceType: holdfast.ResourceAccount, resourceID: acct,
		checks: []check{{right: "account.geofencing.manage", resource: accountEntity(ctx)}}}
	_, err := s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
		ids := tx
		st, err := ids.GetIdentitySettings(ctx, acct)
		if err != nil {
			return "", nil, err
		}
		before := geofenceBody{Enabled: st.GeofenceEnabled, Allowed: st.GeofenceAllowed}
		st.GeofenceEnabled, st.GeofenceAllowed, st.UpdatedAt = in.Enabled, in.Allowed, s.now().UTC()
		if err := ids.PutIdentitySettings(ctx, &st); err != nil {
			return "", nil, err
		}
		return acct, map[string]any{"from": before, "to": in}, nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, geofenceBody{Enabled: in.Enabled, Allowed: nonNilSlice(in.Allowed)})
}

// settingsCache keeps each account's identity settings under the account's
// data revision, so the geofence check of every token and session request
// costs a revision look-up (in memory) instead of a query. Every settings
// write moves the revision on, and an entry is filed under the revision
// read before the settings, so a change counts from the next request on,
// in this process and (through the store's revision notifications) in
// every replica. The zero value is ready to use.
type settingsCache struct {
	mu      sync.Mutex // guards entries
	entries map[string]settingsEntry
}

type settingsEntry struct {
	rev int64
	st  holdfast.IdentitySettings
}

// maxSettingsEntries bounds the cache; past it, it starts over.
const maxSettingsEntries = 10000

// revisioner reads an account's data revision (holdfast.MetaStore does).
type revisioner interface {
	Revision(ctx context.Context, accountID string) (int64, error)
}

// get returns accountID's identity settings as of now.
func (c *settingsCache) get(ctx context.Context, revs revisioner, ids holdfast.IdentityStore, accountID string) (holdfast.IdentitySettings, error) {
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
