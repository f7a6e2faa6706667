package storagetest

import (
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

func testMetaAdminFilter(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	acct := metaNewAccount(t, s).ID
	tag := metaUniq("")
	mk := func(name, email, role string, state holdfast.AdminState, login *time.Time) holdfast.Administrator {
		t.Helper()
		a := holdfast.Administrator{AccountID: acct, Name: name, Email: email + tag + "@example.com", RoleID: role, State: state}
		metaMust(t, s.CreateAdmin(ctx, &a))
		if login != nil {
			metaMust(t, s.RecordLogin(ctx, acct, a.ID, *login))
			a.LastLoginAt = metaPtr(metaMicro(*login))
		}
		return a
	}
	ann := mk("Ann Archer", "ann", "role-platform", holdfast.AdminActive, metaPtr(metaAt(-100*24*time.Hour)))
	bob := mk("Bob 100% Real", "bob", "helpdesk", holdfast.AdminActive, metaPtr(metaAt(-time.Hour)))
	cat := mk("Cat_Cole", "cat", "helpdesk", holdfast.AdminDisabled, nil)
	dan := mk("Dan Dune", "dan.x", "role-legal", holdfast.AdminActive, nil)
	eve := mk("eve", "Eve.Evans", "role-legal", holdfast.AdminDisabled, metaPtr(metaAt(-10*24*time.Hour)))
	// Another account's administrators never match.
	otherAcct := metaNewAccount(t, s).ID
	stranger := holdfast.Administrator{AccountID: otherAcct, Name: "Ann Other", Email: metaUniq("ann") + "@example.com", RoleID: "helpdesk"}
	metaMust(t, s.CreateAdmin(ctx, &stranger))

	tests := []struct {
		name string
		f    holdfast.AdminFilter
		want []holdfast.Administrator
	}{
		{"none, by name", holdfast.AdminFilter{}, []holdfast.Administrator{ann, bob, cat, dan, eve}},
		{"role", holdfast.AdminFilter{RoleID: "helpdesk"}, []holdfast.Administrator{bob, cat}},
		{"roles", holdfast.AdminFilter{RoleIDs: []string{"role-platform", "role-legal"}}, []holdfast.Administrator{ann, dan, eve}},
		{"role and roles", holdfast.AdminFilter{RoleID: "role-legal", RoleIDs: []string{"helpdesk", "role-legal"}}, []holdfast.Administrator{dan, eve}},
		{"last login before, or never", holdfast.AdminFilter{LastLoginBefore: metaPtr(metaAt(-24 * time.Hour))}, []holdfast.Administrator{ann, cat, dan, eve}},
		{"last login before is strict", holdfast.AdminFilter{LastLoginBefore: metaPtr(metaAt(-100 * 24 * time.Hour))}, []holdfast.Administrator{cat, dan}},
		{"never logged in", holdfast.AdminFilter{NeverLoggedIn: true}, []holdfast.Administrator{cat, dan}},
		{"search name, any case", holdfast.AdminFilter{Search: "aRcHeR"}, []holdfast.Administrator{ann}},
		{"search email, any case", holdfast.AdminFilter{Search: "EVE.EV"}, []holdfast.Administrator{eve}},
		{"search percent is literal", holdfast.AdminFilter{Search: "100%"}, []holdfast.Administrator{bob}},
		{"search underscore is literal", holdfast.AdminFilter{Search: "t_c"}, []holdfast.Administrator{cat}},
		{"search dot", holdfast.AdminFilter{Search: "dan.x"}, []holdfast.Administrator{dan}},
		{"search no match", holdfast.AdminFilter{Search: "zz%"}, []holdfast.Administrator{}},
		{"state", holdfast.AdminFilter{State: holdfast.AdminDisabled}, []holdfast.Administrator{cat, eve}},
		{"combined", holdfast.AdminFilter{State: holdfast.AdminActive, NeverLoggedIn: true}, []holdfast.Administrator{dan}},
		{"limit", holdfast.AdminFilter{Limit: 2}, []holdfast.Administrator{ann, bob}},
		{"limit and offset", holdfast.AdminFilter{Limit: 2, Offset: 2}, []holdfast.Administrator{cat, dan}},
		{"offset only", holdfast.AdminFilter{Offset: 3}, []holdfast.Administrator{dan, eve}},
		{"offset past the end", holdfast.AdminFilter{Offset: 10}, []holdfast.Administrator{}},
		{"product alone does not filter", holdfast.AdminFilter{Product: holdfast.ProductInSync}, []holdfast.Administrator{ann, bob, cat, dan, eve}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := metaGet[[]holdfast.Administrator](t)(s.ListAdmins(ctx, acct, tt.f))
			if metaIDs(got, metaAdminID) != metaIDs(tt.want, metaAdminID) {
				t.Errorf("ListAdmins(%+v) = %s, want %s", tt.f, metaIDs(got, metaAdminID), metaIDs(tt.want, metaAdminID))
			}
		})
	}
	metaAssertEqual(t, "listed administrator", metaGet[[]holdfast.Administrator](t)(s.ListAdmins(ctx, acct, holdfast.AdminFilter{Search: "archer"})), []holdfast.Administrator{ann})
}

func testMetaUserFilter(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	sales := holdfast.Profile{AccountID: acct, Name: "Sales"}
	metaMust(t, s.CreateProfile(ctx, &sales))
	mk := func(name, email, profile string, state holdfast.UserState) holdfast.User {
		t.Helper()
		u := holdfast.User{AccountID: acct, Name: name, Email: email, ProfileID: profile, State: state}
		metaMust(t, s.CreateUser(ctx, &u))
		return u
	}
	ursula := f.user // "Ursula", ursula@example.com, default profile, active
	amy := mk("Amy 50%", "amy@example.com", sales.ID, holdfast.UserActive)
	ben := mk("Ben_Bo", "ben@corp.example", f.profile.ID, holdfast.UserPreserved)
	cy := mk("Cy", "Cy.Young@Example.com", sales.ID, holdfast.UserDeleted)
	other := metaNewFixture(t, s) // its own "Ursula", same email

	tests := []struct {
		name string
		f    holdfast.UserFilter
		want []holdfast.User
	}{
		{"none, by name", holdfast.UserFilter{}, []holdfast.User{amy, ben, cy, ursula}},
		{"profiles", holdfast.UserFilter{ProfileIDs: []string{sales.ID}}, []holdfast.User{amy, cy}},
		{"both profiles", holdfast.UserFilter{ProfileIDs: []string{sales.ID, f.profile.ID}}, []holdfast.User{amy, ben, cy, ursula}},
		{"state", holdfast.UserFilter{State: holdfast.UserPreserved}, []holdfast.User{ben}},
		{"search name", holdfast.UserFilter{Search: "URS"}, []holdfast.User{ursula}},
		{"search email", holdfast.UserFilter{Search: "corp.EX"}, []holdfast.User{ben}},
		{"search percent is literal", holdfast.UserFilter{Search: "50%"}, []holdfast.User{amy}},
		{"search underscore is literal", holdfast.UserFilter{Search: "n_b"}, []holdfast.User{ben}},
		{"email is exact, any case", holdfast.UserFilter{Email: "CY.young@example.COM"}, []holdfast.User{cy}},
		{"email is not a substring", holdfast.UserFilter{Email: "young@example.com"}, []holdfast.User{}},
		{"combined", holdfast.UserFilter{ProfileIDs: []string{sales.ID}, State: holdfast.UserActive}, []holdfast.User{amy}},
		{"limit and offset", holdfast.UserFilter{Limit: 2, Offset: 1}, []holdfast.User{ben, cy}},
		{"offset only", holdfast.UserFilter{Offset: 3}, []holdfast.User{ursula}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := metaGet[[]holdfast.User](t)(s.ListUsers(ctx, acct, tt.f))
			if metaIDs(got, metaUserID) != metaIDs(tt.want, metaUserID) {
				t.Errorf("ListUsers(%+v) = %s, want %s", tt.f, metaIDs(got, metaUserID), metaIDs(tt.want, metaUserID))
			}
		})
	}
	metaAssertEqual(t, "ListUsers of the other account", metaGet[[]holdfast.User](t)(s.ListUsers(ctx, other.account.ID, holdfast.UserFilter{Search: "ursula"})), []holdfast.User{other.user})
}

func metaAdminID(a holdfast.Administrator) string { return a.ID }
func metaUserID(u holdfast.User) string           { return u.ID }

// ids lists the IDs of rows, in order, for compact failure messages.
func metaIDs[T any](rows []T, id func(T) string) string {
	s := "["
	for i, r := range rows {
		if i > 0 {
			s += " "
		}
		s += id(r)
	}
	return s + "]"
}
