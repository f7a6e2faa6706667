package storagetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/holdfast/holdfast"
)

// attrWorld is an account with a little of everything a decision reads,
// and a second account whose rows must never come back.
type attrWorld struct {
	f, other            metaFixture
	roles, users, devs  []string
	otherDev, otherUser string
}

func newAttrWorld(t *testing.T, s holdfast.MetaStore) attrWorld {
	ctx := t.Context()
	w := attrWorld{f: metaNewFixture(t, s), other: metaNewFixture(t, s)}
	acct := w.f.account.ID
	p2 := holdfast.Profile{AccountID: acct, Name: "Second", Workloads: []string{"endpoints"}}
	metaMust(t, s.CreateProfile(ctx, &p2))
	h2 := holdfast.LegalHold{AccountID: acct, Name: "Another case", DataAccess: holdfast.AccessAllData}
	metaMust(t, s.CreateHold(ctx, &h2))
	for i := range 3 {
		r := holdfast.Role{AccountID: acct, ID: metaUniq("role"), Name: fmt.Sprintf("Role %d", i), Product: holdfast.ProductInSync}
		metaMust(t, s.CreateRole(ctx, &r))
		w.roles = append(w.roles, r.ID)
		a := holdfast.Administrator{AccountID: acct, Name: fmt.Sprintf("Admin %d", i), Email: metaUniq("Adm") + "@Example.com",
			RoleID: r.ID, State: holdfast.AdminActive}
		metaMust(t, s.CreateAdmin(ctx, &a))
	}
	for i := range 4 {
		profile := []string{w.f.profile.ID, p2.ID}[i%2]
		u := holdfast.User{AccountID: acct, Email: metaUniq("u") + "@example.com", Name: fmt.Sprintf("User %d", i), ProfileID: profile,
			State: holdfast.UserActive}
		metaMust(t, s.CreateUser(ctx, &u))
		w.users = append(w.users, u.ID)
		for j := range i % 3 { // users with no, one and two devices
			d := holdfast.Device{AccountID: acct, UserID: u.ID, Name: fmt.Sprintf("dev %d", 2-j), Kind: holdfast.DeviceEndpoint, Workload: "endpoints"}
			metaMust(t, s.CreateDevice(ctx, &d))
			w.devs = append(w.devs, d.ID)
		}
		for _, h := range []string{w.f.hold.ID, h2.ID}[:i%3] { // users on no, one and two holds
			metaMust(t, s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: h, UserID: u.ID}))
		}
	}
	od := holdfast.Device{AccountID: w.other.account.ID, UserID: w.other.user.ID, Name: "theirs", Kind: holdfast.DeviceEndpoint}
	metaMust(t, s.CreateDevice(ctx, &od))
	w.otherDev, w.otherUser = od.ID, w.other.user.ID
	return w
}

// testMetaAttributes: LoadAttributes answers exactly what the single reads
// answer for every id it is asked about, follows references, leaves out
// missing ids and other accounts' rows, and handles more ids than one IN
// list carries.
func testMetaAttributes(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	w := newAttrWorld(t, s)
	acct := w.f.account.ID
	admins := metaGet[[]holdfast.Administrator](t)(s.ListAdmins(ctx, acct, holdfast.AdminFilter{}))
	q := holdfast.AttributeQuery{
		AdminIDs:    []string{admins[0].ID, admins[1].ID, "missing-admin", w.other.admin.ID},
		AdminEmails: []string{strings.ToUpper(admins[2].Email), w.other.admin.Email, "nobody@example.com"},
		RoleIDs:     []string{"missing-role"},
		UserIDs:     append([]string{"missing-user", w.otherUser}, w.users...),
		DeviceIDs:   append([]string{w.otherDev, "missing-device"}, w.devs[:2]...),
		ProfileIDs:  []string{"missing-profile"},
	}
	for i := range 700 { // past one IN list
		q.UserIDs = append(q.UserIDs, fmt.Sprintf("absent-%d", i))
	}
	got := metaGet[holdfast.Attributes](t)(s.LoadAttributes(ctx, acct, q))

	// Administrators: by id in the account, by email in any account.
	wantAdmins := map[string]holdfast.Administrator{}
	for _, id := range q.AdminIDs {
		if a, err := s.GetAdmin(ctx, acct, id); err == nil {
			wantAdmins[a.ID] = a
		}
	}
	for _, e := range q.AdminEmails {
		if a, err := s.GetAdminByEmail(ctx, e); err == nil {
			wantAdmins[a.ID] = a
		}
	}
	metaAssertEqual(t, "LoadAttributes administrators", byID(got.Admins, func(a holdfast.Administrator) string { return a.ID }), wantAdmins)
	if len(wantAdmins) != 4 {
		t.Errorf("the world has %d of the administrators asked for, want 4", len(wantAdmins))
	}
	// Roles of the account's administrators; users named and those of the
	// devices; profiles of the users.
	wantRoles := map[string]holdfast.Role{}
	for _, a := range wantAdmins {
		if r, err := s.GetRole(ctx, acct, a.RoleID); err == nil && a.AccountID == acct {
			wantRoles[r.ID] = r
		}
	}
	metaAssertEqual(t, "LoadAttributes roles", byID(got.Roles, func(r holdfast.Role) string { return r.ID }), wantRoles)
	wantDevs := map[string]holdfast.Device{}
	for _, id := range q.DeviceIDs {
		if d, err := s.GetDevice(ctx, acct, id); err == nil {
			wantDevs[d.ID] = d
		}
	}
	metaAssertEqual(t, "LoadAttributes devices", byID(got.Devices, func(d holdfast.Device) string { return d.ID }), wantDevs)
	wantUsers, wantProfiles := map[string]holdfast.User{}, map[string]holdfast.Profile{}
	for _, id := range append(slicesOf(wantDevs, func(d holdfast.Device) string { return d.UserID }), q.UserIDs...) {
		if u, err := s.GetUser(ctx, acct, id); err == nil {
			wantUsers[u.ID] = u
			wantProfiles[u.ProfileID] = metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, u.ProfileID))
		}
	}
	metaAssertEqual(t, "LoadAttributes users", byID(got.Users, func(u holdfast.User) string { return u.ID }), wantUsers)
	metaAssertEqual(t, "LoadAttributes profiles", byID(got.Profiles, func(p holdfast.Profile) string { return p.ID }), wantProfiles)
	// Devices of the named users, holds of every user, in the single
	// reads' order.
	wantUserDevs, wantHolds := map[string][]holdfast.Device{}, map[string][]holdfast.LegalHold{}
	for id := range wantUsers {
		wantHolds[id] = metaGet[[]holdfast.LegalHold](t)(s.HoldsForUser(ctx, acct, id))
		if _, named := slicesIndex(q.UserIDs, id); named {
			wantUserDevs[id] = metaGet[[]holdfast.Device](t)(s.ListDevices(ctx, acct, id))
		}
	}
	metaAssertEqual(t, "LoadAttributes user devices", got.UserDevices, wantUserDevs)
	metaAssertEqual(t, "LoadAttributes user holds", got.UserHolds, wantHolds)

	empty := metaGet[holdfast.Attributes](t)(s.LoadAttributes(ctx, acct, holdfast.AttributeQuery{}))
	if len(empty.Admins)+len(empty.Users)+len(empty.Devices)+len(empty.Roles)+len(empty.Profiles) != 0 {
		t.Errorf("LoadAttributes of nothing: %+v", empty)
	}
}

func byID[T any](list []T, id func(T) string) map[string]T {
	m := make(map[string]T, len(list))
	for _, v := range list {
		m[id(v)] = v
	}
	return m
}

func slicesOf[T any](m map[string]T, f func(T) string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, f(v))
	}
	return out
}

func slicesIndex(list []string, v string) (int, bool) {
	for i, x := range list {
		if x == v {
			return i, true
		}
	}
	return -1, false
}
