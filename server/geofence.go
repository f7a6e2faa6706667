package server

import (
	"fmt"
	"net/http"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

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
	return s.signin.FenceToken(r.Context(), accountID, clientIP(r))
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
	allowed, err := idp.CheckFence(in.Enabled, in.Allowed)
	if err != nil {
		return err
	}
	in.Allowed = allowed
	if in.Enabled && !idp.InFence(in.Allowed, clientIP(r)) {
		return fmt.Errorf("%w: allowed: your own address %s is outside this geofence", holdfast.ErrInvalid, clientIP(r))
	}
	acct := principal(ctx).AccountID
	c := change{action: "account.geofence.update", resourceType: holdfast.ResourceAccount, resourceID: acct,
		checks: []check{{right: "account.geofencing.manage", resource: accountEntity(ctx)}}}
	_, err = s.apply(ctx, c, func(tx holdfast.MetaStore) (string, any, error) {
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
