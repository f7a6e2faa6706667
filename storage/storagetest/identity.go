package storagetest

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// IdentityMetaStore is a metadata store that also keeps the sign-in state,
// as the SQL stores do.
type IdentityMetaStore interface {
	holdfast.MetaStore
	holdfast.IdentityStore
}

// TestIdentityStore runs the [holdfast.IdentityStore] conformance suite.
// open must return a new, empty, migrated store, as for TestMetaStore.
func TestIdentityStore(t *testing.T, open func(t *testing.T) IdentityMetaStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s IdentityMetaStore)
	}{
		{"Session", testIdentitySession},
		{"Credentials", testIdentityCredentials},
		{"Link", testIdentityLink},
		{"IdP", testIdentityIdP},
		{"AuthRequest", testIdentityAuthRequest},
		{"Assertion", testIdentityAssertion},
		{"Settings", testIdentitySettings},
		{"NoRevision", testIdentityNoRevision},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func testIdentitySession(t *testing.T, s IdentityMetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	in := holdfast.Session{ID: metaUniq("sess"), AccountID: f.account.ID, AdminID: f.admin.ID, Method: "password",
		CreatedAt: metaAt(0), LastSeenAt: metaAt(0), ExpiresAt: metaAt(8 * time.Hour), Pending: holdfast.SessionMFA,
		CSRF: "csrf-secret", RemoteIP: "192.0.2.1"}
	se := in
	metaMust(t, s.CreateSession(ctx, &se))
	want := in
	want.CreatedAt, want.LastSeenAt, want.ExpiresAt = metaMicro(in.CreatedAt), metaMicro(in.LastSeenAt), metaMicro(in.ExpiresAt)
	metaAssertEqual(t, "GetSession", metaGet[holdfast.Session](t)(s.GetSession(ctx, in.ID)), want)
	metaAssertErr(t, "CreateSession with a taken id", s.CreateSession(ctx, &se), holdfast.ErrConflict)
	orphan := holdfast.Session{ID: metaUniq("sess"), AccountID: f.account.ID, AdminID: "missing", ExpiresAt: metaAt(time.Hour)}
	metaAssertErr(t, "CreateSession for a missing administrator", s.CreateSession(ctx, &orphan), holdfast.ErrNotFound)

	se.LastSeenAt, se.OutsideSince = metaAt(time.Minute), metaPtr(metaAt(time.Minute))
	metaMust(t, s.UpdateSession(ctx, &se))
	want.LastSeenAt, want.OutsideSince = metaMicro(metaAt(time.Minute)), metaMicroPtr(metaPtr(metaAt(time.Minute)))
	metaAssertEqual(t, "GetSession after update", metaGet[holdfast.Session](t)(s.GetSession(ctx, in.ID)), want)
	metaAssertErr(t, "UpdateSession missing", s.UpdateSession(ctx, &holdfast.Session{ID: "missing"}), holdfast.ErrNotFound)

	metaMust(t, s.DeleteSession(ctx, in.ID))
	_, err := s.GetSession(ctx, in.ID)
	metaAssertErr(t, "GetSession after delete", err, holdfast.ErrNotFound)
	metaMust(t, s.DeleteSession(ctx, in.ID))

	a, b := in, in
	a.ID, b.ID = metaUniq("sess"), metaUniq("sess")
	b.ExpiresAt = metaAt(-time.Hour)
	metaMust(t, s.CreateSession(ctx, &a))
	metaMust(t, s.CreateSession(ctx, &b))
	if n := metaGet[int](t)(s.DeleteExpiredSessions(ctx, metaAt(0))); n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, want 1", n)
	}
	metaGet[holdfast.Session](t)(s.GetSession(ctx, a.ID))
	metaMust(t, s.DeleteAdminSessions(ctx, f.account.ID, f.admin.ID))
	_, err = s.GetSession(ctx, a.ID)
	metaAssertErr(t, "GetSession after DeleteAdminSessions", err, holdfast.ErrNotFound)

	c := in
	c.ID = metaUniq("sess")
	metaMust(t, s.CreateSession(ctx, &c))
	metaMust(t, s.DeleteAdmin(ctx, f.account.ID, f.admin.ID))
	_, err = s.GetSession(ctx, c.ID)
	metaAssertErr(t, "session of a deleted administrator", err, holdfast.ErrNotFound)
}

func testIdentityCredentials(t *testing.T, s IdentityMetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	_, err := s.GetCredentials(ctx, f.account.ID, f.admin.ID)
	metaAssertErr(t, "GetCredentials never stored", err, holdfast.ErrNotFound)
	in := holdfast.Credentials{AccountID: f.account.ID, AdminID: f.admin.ID, PasswordHistory: []string{"h2", "h1"},
		PasswordChangedAt: metaPtr(metaAt(0)), FailedLogins: 3, LockedUntil: metaPtr(metaAt(time.Minute)),
		TOTPSecret: "JBSWY3DPEHPK3PXP", TOTPLastStep: 42, RecoveryCodes: []string{"c1", "c2"}, UpdatedAt: metaAt(0)}
	c := in
	metaMust(t, s.PutCredentials(ctx, &c))
	want := in
	want.PasswordChangedAt, want.LockedUntil = metaMicroPtr(in.PasswordChangedAt), metaMicroPtr(in.LockedUntil)
	want.UpdatedAt = metaMicro(in.UpdatedAt)
	metaAssertEqual(t, "GetCredentials", metaGet[holdfast.Credentials](t)(s.GetCredentials(ctx, f.account.ID, f.admin.ID)), want)

	c.FailedLogins, c.LockedUntil, c.RecoveryCodes, c.TOTPPending = 0, nil, []string{}, "PENDING"
	metaMust(t, s.PutCredentials(ctx, &c))
	want.FailedLogins, want.LockedUntil, want.RecoveryCodes, want.TOTPPending = 0, nil, []string{}, "PENDING"
	metaAssertEqual(t, "GetCredentials after replace", metaGet[holdfast.Credentials](t)(s.GetCredentials(ctx, f.account.ID, f.admin.ID)), want)

	other := metaNewFixture(t, s)
	_, err = s.GetCredentials(ctx, other.account.ID, f.admin.ID)
	metaAssertErr(t, "GetCredentials from another account", err, holdfast.ErrNotFound)
	bad := holdfast.Credentials{AccountID: f.account.ID, AdminID: "missing"}
	metaAssertErr(t, "PutCredentials for a missing administrator", s.PutCredentials(ctx, &bad), holdfast.ErrNotFound)
}

func testIdentityLink(t *testing.T, s IdentityMetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	l := holdfast.Link{ID: metaUniq("link"), AccountID: f.account.ID, AdminID: f.admin.ID, Purpose: holdfast.LinkReset,
		CreatedAt: metaAt(0), ExpiresAt: metaAt(24 * time.Hour)}
	metaMust(t, s.CreateLink(ctx, &l))
	got := metaGet[holdfast.Link](t)(s.UseLink(ctx, l.ID, metaAt(time.Hour)))
	if got.AdminID != f.admin.ID || got.Purpose != holdfast.LinkReset || got.UsedAt == nil || !got.UsedAt.Equal(metaMicro(metaAt(time.Hour))) {
		t.Errorf("UseLink = %+v", got)
	}
	_, err := s.UseLink(ctx, l.ID, metaAt(2*time.Hour))
	metaAssertErr(t, "UseLink a second time", err, holdfast.ErrNotFound)

	exp := holdfast.Link{ID: metaUniq("link"), AccountID: f.account.ID, AdminID: f.admin.ID, Purpose: holdfast.LinkReset,
		CreatedAt: metaAt(0), ExpiresAt: metaAt(24 * time.Hour)}
	metaMust(t, s.CreateLink(ctx, &exp))
	_, err = s.UseLink(ctx, exp.ID, metaAt(24*time.Hour))
	metaAssertErr(t, "UseLink at expiry", err, holdfast.ErrNotFound)
	// The clock stepped back inside the validity: the expired link stays dead.
	_, err = s.UseLink(ctx, exp.ID, metaAt(time.Hour))
	metaAssertErr(t, "UseLink after expiry, clock stepped back", err, holdfast.ErrNotFound)
	_, err = s.UseLink(ctx, "missing", metaAt(0))
	metaAssertErr(t, "UseLink unknown", err, holdfast.ErrNotFound)

	old := holdfast.Link{ID: metaUniq("link"), AccountID: f.account.ID, AdminID: f.admin.ID, Purpose: holdfast.LinkInvite,
		CreatedAt: metaAt(0), ExpiresAt: metaAt(24 * time.Hour)}
	metaMust(t, s.CreateLink(ctx, &old))
	metaMust(t, s.RevokeLinks(ctx, f.account.ID, f.admin.ID, holdfast.LinkInvite, metaAt(time.Minute)))
	_, err = s.UseLink(ctx, old.ID, metaAt(time.Hour))
	metaAssertErr(t, "UseLink after RevokeLinks", err, holdfast.ErrNotFound)

	// Single use under concurrency: exactly one of many callers wins.
	race := holdfast.Link{ID: metaUniq("link"), AccountID: f.account.ID, AdminID: f.admin.ID, Purpose: holdfast.LinkReset,
		CreatedAt: metaAt(0), ExpiresAt: metaAt(24 * time.Hour)}
	metaMust(t, s.CreateLink(ctx, &race))
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.UseLink(ctx, race.ID, metaAt(time.Hour)); err == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if n := wins.Load(); n != 1 {
		t.Errorf("concurrent UseLink: %d callers succeeded, want 1", n)
	}
}

func testIdentityIdP(t *testing.T, s IdentityMetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	in := holdfast.IdPConfig{ID: "idp1", AccountID: f.account.ID, Kind: holdfast.IdPOIDC, Name: "Corp", Issuer: "https://idp.example",
		ClientID: "client", ClientSecret: "shh", Enabled: true, CreatedAt: metaAt(0), UpdatedAt: metaAt(0)}
	c := in
	metaMust(t, s.PutIdP(ctx, &c))
	want := in
	want.CreatedAt, want.UpdatedAt = metaMicro(in.CreatedAt), metaMicro(in.UpdatedAt)
	metaAssertEqual(t, "GetIdP", metaGet[holdfast.IdPConfig](t)(s.GetIdP(ctx, f.account.ID, "idp1")), want)
	c.Name, c.UpdatedAt = "Corp SSO", metaAt(time.Hour)
	metaMust(t, s.PutIdP(ctx, &c))
	want.Name, want.UpdatedAt = "Corp SSO", metaMicro(metaAt(time.Hour))
	metaAssertEqual(t, "ListIdPs", metaGet[[]holdfast.IdPConfig](t)(s.ListIdPs(ctx, f.account.ID)), []holdfast.IdPConfig{want})
	metaAssertEqual(t, "ListEnabledIdPs", metaGet[[]holdfast.IdPConfig](t)(s.ListEnabledIdPs(ctx)), []holdfast.IdPConfig{want})
	other := metaNewFixture(t, s)
	_, err := s.GetIdP(ctx, other.account.ID, "idp1")
	metaAssertErr(t, "GetIdP from another account", err, holdfast.ErrNotFound)
	if got := metaGet[[]holdfast.IdPConfig](t)(s.ListIdPs(ctx, other.account.ID)); len(got) != 0 {
		t.Errorf("ListIdPs of another account = %+v, want none", got)
	}
	// Pages by (name, id): two more IdPs, walked one at a time, and none
	// of another account's.
	for _, c := range []holdfast.IdPConfig{
		{ID: "idp0", AccountID: f.account.ID, Kind: holdfast.IdPOIDC, Name: "Alpha", Issuer: "https://alpha.example", CreatedAt: metaAt(0), UpdatedAt: metaAt(0)},
		{ID: "idp2", AccountID: f.account.ID, Kind: holdfast.IdPOIDC, Name: "Zeta", Issuer: "https://zeta.example", CreatedAt: metaAt(0), UpdatedAt: metaAt(0)},
	} {
		metaMust(t, s.PutIdP(ctx, &c))
	}
	ids, total := WalkPages(t, 1, func(c holdfast.IdPConfig) string { return c.ID }, func(p holdfast.Page) (holdfast.Paged[holdfast.IdPConfig], error) {
		return s.PageIdPs(ctx, f.account.ID, p)
	})
	if !slices.Equal(ids, []string{"idp0", "idp1", "idp2"}) || total != 3 {
		t.Errorf("PageIdPs walked %q (total %d), want idp0, idp1, idp2 by name (total 3)", ids, total)
	}
	if got := metaGet[holdfast.Paged[holdfast.IdPConfig]](t)(s.PageIdPs(ctx, other.account.ID, holdfast.Page{})); len(got.Items) != 0 || got.Total != 0 {
		t.Errorf("PageIdPs of another account = %+v, want none", got)
	}
	_, err = s.PageIdPs(ctx, f.account.ID, holdfast.Page{Cursor: "not-a-cursor"})
	metaAssertErr(t, "PageIdPs with a bad cursor", err, holdfast.ErrInvalid)
	for _, id := range []string{"idp0", "idp2"} {
		metaMust(t, s.DeleteIdP(ctx, f.account.ID, id))
	}

	link := holdfast.IdentityLink{AccountID: f.account.ID, AdminID: f.admin.ID, Issuer: in.Issuer, Subject: "sub-1", CreatedAt: metaAt(0)}
	metaMust(t, s.CreateIdentityLink(ctx, &link))
	metaAssertEqual(t, "GetIdentityLink", metaGet[holdfast.IdentityLink](t)(s.GetIdentityLink(ctx, in.Issuer, "sub-1")), link)
	dup := holdfast.IdentityLink{AccountID: other.account.ID, AdminID: other.admin.ID, Issuer: in.Issuer, Subject: "sub-1"}
	metaAssertErr(t, "CreateIdentityLink taken", s.CreateIdentityLink(ctx, &dup), holdfast.ErrConflict)
	metaAssertEqual(t, "ListIdentityLinks", metaGet[[]holdfast.IdentityLink](t)(s.ListIdentityLinks(ctx, f.account.ID, f.admin.ID)),
		[]holdfast.IdentityLink{link})
	_, err = s.GetIdentityLink(ctx, in.Issuer, "sub-2")
	metaAssertErr(t, "GetIdentityLink unknown subject", err, holdfast.ErrNotFound)

	metaMust(t, s.DeleteIdP(ctx, f.account.ID, "idp1"))
	_, err = s.GetIdP(ctx, f.account.ID, "idp1")
	metaAssertErr(t, "GetIdP after delete", err, holdfast.ErrNotFound)
	_, err = s.GetIdentityLink(ctx, in.Issuer, "sub-1")
	metaAssertErr(t, "identity link after its IdP was deleted", err, holdfast.ErrNotFound)
	metaAssertErr(t, "DeleteIdP missing", s.DeleteIdP(ctx, f.account.ID, "idp1"), holdfast.ErrNotFound)
}

func testIdentityAuthRequest(t *testing.T, s IdentityMetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	now := time.Now().UTC().Truncate(time.Microsecond)
	in := holdfast.AuthRequest{ID: metaUniq("state"), AccountID: f.account.ID, IdPID: "idp1", Nonce: "n", Verifier: "v",
		RequestID: "req", ReturnTo: "/console", ExpiresAt: now.Add(10 * time.Minute)}
	r := in
	metaMust(t, s.CreateAuthRequest(ctx, &r))
	metaAssertEqual(t, "TakeAuthRequest", metaGet[holdfast.AuthRequest](t)(s.TakeAuthRequest(ctx, in.ID, now)), in)
	_, err := s.TakeAuthRequest(ctx, in.ID, now)
	metaAssertErr(t, "TakeAuthRequest a second time", err, holdfast.ErrNotFound)

	exp := in
	exp.ID = metaUniq("state")
	metaMust(t, s.CreateAuthRequest(ctx, &exp))
	_, err = s.TakeAuthRequest(ctx, exp.ID, now.Add(10*time.Minute))
	metaAssertErr(t, "TakeAuthRequest at expiry", err, holdfast.ErrNotFound)
}

func testIdentityAssertion(t *testing.T, s IdentityMetaStore) {
	ctx := t.Context()
	exp := time.Now().Add(time.Hour)
	metaMust(t, s.UseAssertion(ctx, "https://idp", "id-1", exp))
	metaAssertErr(t, "UseAssertion replayed", s.UseAssertion(ctx, "https://idp", "id-1", exp), holdfast.ErrConflict)
	metaMust(t, s.UseAssertion(ctx, "https://other-idp", "id-1", exp))
}

func testIdentitySettings(t *testing.T, s IdentityMetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	metaAssertEqual(t, "GetIdentitySettings defaults", metaGet[holdfast.IdentitySettings](t)(s.GetIdentitySettings(ctx, f.account.ID)),
		holdfast.DefaultIdentitySettings(f.account.ID))
	in := holdfast.IdentitySettings{AccountID: f.account.ID, PasswordExpiryDays: 30, GeofenceEnabled: true,
		GeofenceAllowed: []string{"192.0.2.0/24", "198.51.100.1-198.51.100.9"}, UpdatedAt: metaAt(0)}
	st := in
	rev := metaRevision(t, s, f.account.ID)
	metaMust(t, s.PutIdentitySettings(ctx, &st))
	// A settings change moves the revision, so the geofence kept in memory
	// under it counts from the next request on.
	if after := metaRevision(t, s, f.account.ID); after <= rev {
		t.Errorf("PutIdentitySettings left the revision at %d (was %d)", after, rev)
	}
	want := in
	want.UpdatedAt = metaMicro(in.UpdatedAt)
	metaAssertEqual(t, "GetIdentitySettings", metaGet[holdfast.IdentitySettings](t)(s.GetIdentitySettings(ctx, f.account.ID)), want)
	bad := holdfast.IdentitySettings{AccountID: "missing", PasswordExpiryDays: 60}
	metaAssertErr(t, "PutIdentitySettings for a missing account", s.PutIdentitySettings(ctx, &bad), holdfast.ErrNotFound)
}

// testIdentityNoRevision proves sign-in bookkeeping leaves the account's
// revision, and so the decision caches, alone.
func testIdentityNoRevision(t *testing.T, s IdentityMetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	rev := metaRevision(t, s, f.account.ID)
	se := holdfast.Session{ID: metaUniq("sess"), AccountID: f.account.ID, AdminID: f.admin.ID, Method: "password",
		CreatedAt: metaAt(0), LastSeenAt: metaAt(0), ExpiresAt: metaAt(time.Hour)}
	metaMust(t, s.CreateSession(ctx, &se))
	se.LastSeenAt = metaAt(time.Minute)
	metaMust(t, s.UpdateSession(ctx, &se))
	metaMust(t, s.PutCredentials(ctx, &holdfast.Credentials{AccountID: f.account.ID, AdminID: f.admin.ID, FailedLogins: 1}))
	metaMust(t, s.DeleteSession(ctx, se.ID))
	metaUnchanged(t, s, f.account.ID, rev, "sign-in bookkeeping")
}
