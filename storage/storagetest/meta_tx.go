package storagetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

func testMetaTenantIsolation(t *testing.T, s holdfast.MetaStore) {
	r := newMetaTenantRows(t, s)
	metaTenantReads(t, s, r)
	metaTenantWrites(t, s, r)
}

// metaTenantRows are two accounts, and rows of every kind in account a.
type metaTenantRows struct {
	a, b  metaFixture
	dev   holdfast.Device
	role  holdfast.Role
	ht    holdfast.LegalHoldType
	tok   holdfast.APIToken
	onlyA holdfast.Administrator
}

func newMetaTenantRows(t *testing.T, s holdfast.MetaStore) *metaTenantRows {
	ctx := t.Context()
	r := &metaTenantRows{a: metaNewFixture(t, s), b: metaNewFixture(t, s)}
	a, acct := r.a, r.a.account.ID
	r.dev = holdfast.Device{AccountID: acct, UserID: a.user.ID, Name: "laptop"}
	metaMust(t, s.CreateDevice(ctx, &r.dev))
	r.role = holdfast.Role{AccountID: acct, Name: "Only in A"}
	metaMust(t, s.CreateRole(ctx, &r.role))
	r.ht = holdfast.LegalHoldType{AccountID: acct, Name: "Only in A"}
	metaMust(t, s.CreateHoldType(ctx, &r.ht))
	metaMust(t, s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: a.hold.ID, UserID: a.user.ID}))
	r.tok = holdfast.APIToken{AccountID: acct, AdminID: a.admin.ID, Hash: []byte(metaUniq("h"))}
	metaMust(t, s.CreateToken(ctx, &r.tok))
	metaMust(t, s.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: acct, Action: "x"}))
	r.onlyA = holdfast.Administrator{AccountID: acct, Name: "Only A", Email: metaUniq("only") + "@example.com", RoleID: "only_in_a"}
	metaMust(t, s.CreateAdmin(ctx, &r.onlyA))
	return r
}

// metaTenantReads: reads through account b's id never see account a's
// rows.
func metaTenantReads(t *testing.T, s holdfast.MetaStore, r *metaTenantRows) {
	ctx := t.Context()
	a, b, other := r.a, r.b, r.b.account.ID
	gets := []struct {
		name string
		fn   func() error
	}{
		{"GetAdmin", func() error { _, err := s.GetAdmin(ctx, other, a.admin.ID); return err }},
		{"GetRole", func() error { _, err := s.GetRole(ctx, other, r.role.ID); return err }},
		{"GetProfile", func() error { _, err := s.GetProfile(ctx, other, a.profile.ID); return err }},
		{"GetUser", func() error { _, err := s.GetUser(ctx, other, a.user.ID); return err }},
		{"GetDevice", func() error { _, err := s.GetDevice(ctx, other, r.dev.ID); return err }},
		{"GetHoldType", func() error { _, err := s.GetHoldType(ctx, other, r.ht.ID); return err }},
		{"GetHold", func() error { _, err := s.GetHold(ctx, other, a.hold.ID); return err }},
	}
	for _, g := range gets {
		metaAssertErr(t, g.name+" through another account", g.fn(), holdfast.ErrNotFound)
	}
	// Both accounts have a user with this email; each sees its own.
	metaAssertEqual(t, "GetUserByEmail through B", metaGet[holdfast.User](t)(s.GetUserByEmail(ctx, other, a.user.Email)).ID, b.user.ID)
	counts := []struct {
		name string
		got  int
	}{
		{"ListAdmins", len(metaGet[[]holdfast.Administrator](t)(s.ListAdmins(ctx, other, holdfast.AdminFilter{Search: a.admin.Email})))},
		{"ListRoles", len(metaGet[[]holdfast.Role](t)(s.ListRoles(ctx, other)))},
		{"ListUsers", len(metaGet[[]holdfast.User](t)(s.ListUsers(ctx, other, holdfast.UserFilter{ProfileIDs: []string{a.profile.ID}})))},
		{"ListDevices", len(metaGet[[]holdfast.Device](t)(s.ListDevices(ctx, other, a.user.ID)))},
		{"ListHoldTypes", len(metaGet[[]holdfast.LegalHoldType](t)(s.ListHoldTypes(ctx, other)))},
		{"ListCustodians", len(metaGet[[]holdfast.Custodian](t)(s.ListCustodians(ctx, other, a.hold.ID)))},
		{"HoldsForUser", len(metaGet[[]holdfast.LegalHold](t)(s.HoldsForUser(ctx, other, a.user.ID)))},
		{"ListTokens", len(metaGet[[]holdfast.APIToken](t)(s.ListTokens(ctx, other, a.admin.ID)))},
		{"ListAudit", len(metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, other, holdfast.AuditFilter{})))},
		{"CountAdminsWithRole", metaGet[int](t)(s.CountAdminsWithRole(ctx, other, r.onlyA.RoleID))},
		{"CountUsersInProfile", metaGet[int](t)(s.CountUsersInProfile(ctx, other, a.profile.ID))},
	}
	for _, c := range counts {
		if c.got != 0 {
			t.Errorf("%s through another account = %d rows, want 0", c.name, c.got)
		}
	}
	// B's lists hold B's rows only.
	metaAssertEqual(t, "ListProfiles of B", metaGet[[]holdfast.Profile](t)(s.ListProfiles(ctx, other)), []holdfast.Profile{b.profile})
	metaAssertEqual(t, "ListHolds of B", metaGet[[]holdfast.LegalHold](t)(s.ListHolds(ctx, other)), []holdfast.LegalHold{b.hold})
	metaAssertEqual(t, "ListUsers of B", metaGet[[]holdfast.User](t)(s.ListUsers(ctx, other, holdfast.UserFilter{})), []holdfast.User{b.user})

}

// metaTenantWrites: writes through account b's id never reach account a's
// rows.
func metaTenantWrites(t *testing.T, s holdfast.MetaStore, r *metaTenantRows) {
	ctx := t.Context()
	a, b, acct, other := r.a, r.b, r.a.account.ID, r.b.account.ID
	adm := a.admin
	adm.AccountID, adm.Name = other, "Hijacked"
	u := a.user
	u.AccountID, u.Name = other, "Hijacked"
	writes := []struct {
		name string
		fn   func() error
	}{
		{"UpdateAdmin", func() error { return s.UpdateAdmin(ctx, &adm) }},
		{"DeleteAdmin", func() error { return s.DeleteAdmin(ctx, other, a.admin.ID) }},
		{"RecordLogin", func() error { return s.RecordLogin(ctx, other, a.admin.ID, metaAt(0)) }},
		{"DeleteRole", func() error { return s.DeleteRole(ctx, other, r.role.ID) }},
		{"DeleteProfile", func() error { return s.DeleteProfile(ctx, other, a.profile.ID) }},
		{"UpdateUser", func() error { return s.UpdateUser(ctx, &u) }},
		{"PurgeUser", func() error { return s.PurgeUser(ctx, other, a.user.ID) }},
		{"DeleteDevice", func() error { return s.DeleteDevice(ctx, other, r.dev.ID) }},
		{"DeleteHoldType", func() error { return s.DeleteHoldType(ctx, other, r.ht.ID) }},
		{"DeleteHold", func() error { return s.DeleteHold(ctx, other, a.hold.ID) }},
		{"RemoveCustodian", func() error { return s.RemoveCustodian(ctx, other, a.hold.ID, a.user.ID) }},
		{"RevokeToken", func() error { return s.RevokeToken(ctx, other, r.tok.ID, metaAt(0)) }},
		{"TouchToken", func() error { return s.TouchToken(ctx, other, r.tok.ID, metaAt(0)) }},
		// B's hold and A's user: a custodian must belong to the hold's account.
		{"AddCustodian", func() error {
			return s.AddCustodian(ctx, other, &holdfast.Custodian{HoldID: b.hold.ID, UserID: a.user.ID})
		}},
		{"CreateDevice", func() error {
			return s.CreateDevice(ctx, &holdfast.Device{AccountID: other, UserID: a.user.ID})
		}},
		{"CreateUser", func() error {
			return s.CreateUser(ctx, &holdfast.User{AccountID: other, Email: "x@example.com", ProfileID: a.profile.ID})
		}},
	}
	for _, w := range writes {
		metaAssertErr(t, w.name+" through another account", w.fn(), holdfast.ErrNotFound)
	}
	metaAssertEqual(t, "A's administrator", metaGet[holdfast.Administrator](t)(s.GetAdmin(ctx, acct, a.admin.ID)), a.admin)
	metaAssertEqual(t, "A's user", metaGet[holdfast.User](t)(s.GetUser(ctx, acct, a.user.ID)), a.user)
	metaGet[holdfast.Role](t)(s.GetRole(ctx, acct, r.role.ID))
	metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, a.profile.ID))
	metaGet[holdfast.Device](t)(s.GetDevice(ctx, acct, r.dev.ID))
	metaGet[holdfast.LegalHoldType](t)(s.GetHoldType(ctx, acct, r.ht.ID))
	metaAssertEqual(t, "A's custodians", len(metaGet[[]holdfast.Custodian](t)(s.ListCustodians(ctx, acct, a.hold.ID))), 1)
	metaAssertEqual(t, "A's token", metaGet[holdfast.APIToken](t)(s.GetTokenByHash(ctx, r.tok.Hash)), r.tok)
}

func testMetaRevision(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	other := metaNewAccount(t, s).ID
	dev := holdfast.Device{AccountID: acct, UserID: f.user.ID, Name: "d"}
	metaMust(t, s.CreateDevice(ctx, &dev))
	tok := holdfast.APIToken{AccountID: acct, AdminID: f.admin.ID, Hash: []byte(metaUniq("h"))}
	metaMust(t, s.CreateToken(ctx, &tok))

	var role holdfast.Role
	var ht holdfast.LegalHoldType
	var hold holdfast.LegalHold
	var user holdfast.User
	var adm holdfast.Administrator
	var prof holdfast.Profile
	writes := []struct {
		name string
		fn   func() error
	}{
		{"UpdateAccount", func() error { a := f.account; return s.UpdateAccount(ctx, &a) }},
		{"CreateAdmin", func() error {
			adm = holdfast.Administrator{AccountID: acct, Name: "B", Email: metaUniq("b") + "@example.com"}
			return s.CreateAdmin(ctx, &adm)
		}},
		{"UpdateAdmin", func() error { return s.UpdateAdmin(ctx, &adm) }},
		{"DeleteAdmin", func() error { return s.DeleteAdmin(ctx, acct, adm.ID) }},
		{"CreateRole", func() error { role = holdfast.Role{AccountID: acct, Name: "R"}; return s.CreateRole(ctx, &role) }},
		{"UpdateRole", func() error { return s.UpdateRole(ctx, &role) }},
		{"DeleteRole", func() error { return s.DeleteRole(ctx, acct, role.ID) }},
		{"CreateProfile", func() error { prof = holdfast.Profile{AccountID: acct, Name: "P"}; return s.CreateProfile(ctx, &prof) }},
		{"UpdateProfile", func() error { return s.UpdateProfile(ctx, &prof) }},
		{"DeleteProfile", func() error { return s.DeleteProfile(ctx, acct, prof.ID) }},
		{"CreateUser", func() error {
			user = holdfast.User{AccountID: acct, Email: "r@example.com", ProfileID: f.profile.ID}
			return s.CreateUser(ctx, &user)
		}},
		{"UpdateUser", func() error { return s.UpdateUser(ctx, &user) }},
		{"CreateDevice", func() error {
			d := holdfast.Device{AccountID: acct, UserID: user.ID}
			return s.CreateDevice(ctx, &d)
		}},
		{"UpdateDevice", func() error { return s.UpdateDevice(ctx, &dev) }},
		{"DeleteDevice", func() error { return s.DeleteDevice(ctx, acct, dev.ID) }},
		{"CreateHoldType", func() error {
			ht = holdfast.LegalHoldType{AccountID: acct, Name: "T"}
			return s.CreateHoldType(ctx, &ht)
		}},
		{"UpdateHoldType", func() error { return s.UpdateHoldType(ctx, &ht) }},
		{"DeleteHoldType", func() error { return s.DeleteHoldType(ctx, acct, ht.ID) }},
		{"CreateHold", func() error { hold = holdfast.LegalHold{AccountID: acct, Name: "H"}; return s.CreateHold(ctx, &hold) }},
		{"UpdateHold", func() error { return s.UpdateHold(ctx, &hold) }},
		{"AddCustodian", func() error {
			return s.AddCustodian(ctx, acct, &holdfast.Custodian{HoldID: hold.ID, UserID: user.ID})
		}},
		{"RemoveCustodian", func() error { return s.RemoveCustodian(ctx, acct, hold.ID, user.ID) }},
		{"DeleteHold", func() error { return s.DeleteHold(ctx, acct, hold.ID) }},
		{"PurgeUser", func() error { return s.PurgeUser(ctx, acct, user.ID) }},
		{"CreateToken", func() error {
			tk := holdfast.APIToken{AccountID: acct, AdminID: f.admin.ID, Hash: []byte(metaUniq("t"))}
			return s.CreateToken(ctx, &tk)
		}},
		{"RevokeToken", func() error { return s.RevokeToken(ctx, acct, tok.ID, metaAt(0)) }},
	}
	for _, w := range writes {
		before, otherBefore := metaRevision(t, s, acct), metaRevision(t, s, other)
		if err := w.fn(); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		if got := metaRevision(t, s, acct); got <= before {
			t.Errorf("%s: revision %d, want > %d", w.name, got, before)
		}
		if got := metaRevision(t, s, other); got != otherBefore {
			t.Errorf("%s: revision of another account changed from %d to %d", w.name, otherBefore, got)
		}
	}

	// Writes that change no decision leave the revision alone.
	quiet := []struct {
		name string
		fn   func() error
	}{
		{"RecordLogin", func() error { return s.RecordLogin(ctx, acct, f.admin.ID, metaAt(time.Hour)) }},
		{"TouchToken", func() error { return s.TouchToken(ctx, acct, tok.ID, metaAt(time.Hour)) }},
		{"AppendAudit", func() error { return s.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: acct, Action: "a"}) }},
	}
	for _, w := range quiet {
		before := metaRevision(t, s, acct)
		metaMust(t, w.fn())
		metaUnchanged(t, s, acct, before, w.name)
	}
}

func testMetaPolicyRules(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	rev := func() int64 { t.Helper(); return metaGet[int64](t)(s.PolicyRevision(ctx)) }
	metaAssertEqual(t, "ListPolicyRules of a new store", len(metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx))), 0)

	rules := []holdfast.PolicyRule{
		{PType: "p", V: []string{"role-platform", "acct-1", "user", "read"}},
		{PType: "p", V: []string{"helpdesk", "acct-1", "device", "read"}},
		{PType: "p", V: []string{"helpdesk", "acct-2", "device", "write"}},
		{PType: "g", V: []string{"alice", "helpdesk", "acct-1"}},
		{PType: "p", V: []string{"a", "b", "c", "d", "e", "f"}},
	}
	r0 := rev()
	metaMust(t, s.AddPolicyRules(ctx, rules))
	r1 := rev()
	if r1 <= r0 {
		t.Errorf("PolicyRevision after AddPolicyRules = %d, want > %d", r1, r0)
	}
	metaAssertEqual(t, "ListPolicyRules", metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx)), rules)

	tooLong := []holdfast.PolicyRule{{PType: "p", V: []string{"1"}}, {PType: "p", V: []string{"1", "2", "3", "4", "5", "6", "7"}}}
	metaAssertErr(t, "AddPolicyRules with 7 values", s.AddPolicyRules(ctx, tooLong), holdfast.ErrInvalid)
	metaAssertEqual(t, "ListPolicyRules after a refused add", metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx)), rules)
	metaAssertEqual(t, "PolicyRevision after a refused add", rev(), r1)

	metaMust(t, s.RemovePolicyRules(ctx, []holdfast.PolicyRule{rules[0], {PType: "p", V: []string{"absent"}}}))
	r2 := rev()
	if r2 <= r1 {
		t.Errorf("PolicyRevision after RemovePolicyRules = %d, want > %d", r2, r1)
	}
	metaAssertEqual(t, "ListPolicyRules after remove", metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx)), rules[1:])

	// Filtered: ptype p, v1 = acct-1, any v2, v3 = read.
	metaMust(t, s.RemoveFilteredPolicyRules(ctx, "p", 1, "acct-1", "", "read"))
	if r3 := rev(); r3 <= r2 {
		t.Errorf("PolicyRevision after RemoveFilteredPolicyRules = %d, want > %d", r3, r2)
	}
	metaAssertEqual(t, "ListPolicyRules after filtered remove", metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx)),
		[]holdfast.PolicyRule{rules[2], rules[3], rules[4]})
	metaMust(t, s.RemoveFilteredPolicyRules(ctx, "g", 0, "alice"))
	metaMust(t, s.RemoveFilteredPolicyRules(ctx, "p", 5, "f"))
	metaAssertEqual(t, "ListPolicyRules after more filtered removes", metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx)),
		[]holdfast.PolicyRule{rules[2]})
	metaAssertErr(t, "RemoveFilteredPolicyRules past v5", s.RemoveFilteredPolicyRules(ctx, "p", 5, "a", "b"), holdfast.ErrInvalid)
	metaMust(t, s.RemoveFilteredPolicyRules(ctx, "p", 0))
	metaAssertEqual(t, "ListPolicyRules after removing every p", len(metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx))), 0)

	// Rule writes leave account revisions alone, and account writes the
	// policy revision.
	acct := metaNewAccount(t, s).ID
	before, prev := metaRevision(t, s, acct), rev()
	metaMust(t, s.AddPolicyRules(ctx, rules[:1]))
	metaUnchanged(t, s, acct, before, "AddPolicyRules")
	p := holdfast.Profile{AccountID: acct, Name: "x"}
	metaMust(t, s.CreateProfile(ctx, &p))
	if got := rev(); got != prev+1 {
		t.Errorf("PolicyRevision = %d after one rule write and an account write, want %d", got, prev+1)
	}
}

// errMetaRollback is returned by Tx callbacks that want their writes undone.
var errMetaRollback = errors.New("roll back")

func testMetaTx(t *testing.T, s holdfast.MetaStore) {
	f := metaNewFixture(t, s)
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, holdfast.MetaStore, metaFixture)
	}{
		{"commit keeps every write", testMetaTxCommit},
		{"error rolls back every write", testMetaTxRollback},
		{"panic rolls back", testMetaTxPanic},
		{"nested Tx joins the outer one", testMetaTxNested},
		{"failed write inside Tx leaves it usable", testMetaTxFailedWrite},
		{"concurrent transactions", testMetaTxConcurrent},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, s, f) })
	}
}

// testMetaTxCommit is the subtest "commit keeps every write" of testMetaTx.
func testMetaTxCommit(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	ctx := t.Context()
	acct := f.account.ID
	rev, prev := metaRevision(t, s, acct), metaGet[int64](t)(s.PolicyRevision(ctx))
	var p holdfast.Profile
	var u holdfast.User
	err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
		p = holdfast.Profile{AccountID: acct, Name: "In Tx"}
		if err := tx.CreateProfile(ctx, &p); err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := tx.GetProfile(ctx, acct, p.ID); err != nil {
			return err
		}
		u = holdfast.User{AccountID: acct, Email: "tx@example.com", ProfileID: p.ID}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: acct, Action: "tx.commit"}); err != nil {
			return err
		}
		return tx.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"tx"}}})
	})
	metaMust(t, err)
	metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, p.ID))
	metaGet[holdfast.User](t)(s.GetUser(ctx, acct, u.ID))
	metaAssertEqual(t, "audit records", len(metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{Action: "tx.commit"}))), 1)
	if got := metaRevision(t, s, acct); got < rev+2 {
		t.Errorf("revision after a transaction of two writes = %d, want >= %d", got, rev+2)
	}
	if got := metaGet[int64](t)(s.PolicyRevision(ctx)); got <= prev {
		t.Errorf("PolicyRevision = %d, want > %d", got, prev)
	}
}

// testMetaTxRollback is the subtest "error rolls back every write" of testMetaTx.
func testMetaTxRollback(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	ctx := t.Context()
	acct := f.account.ID
	rev, prev := metaRevision(t, s, acct), metaGet[int64](t)(s.PolicyRevision(ctx))
	rules := len(metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx)))
	audit := len(metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{})))
	var p holdfast.Profile
	err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
		p = holdfast.Profile{AccountID: acct, Name: "Rolled back"}
		if err := tx.CreateProfile(ctx, &p); err != nil {
			return err
		}
		a := f.admin
		a.Name = "Changed"
		if err := tx.UpdateAdmin(ctx, &a); err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: acct, Action: "tx.rollback"}); err != nil {
			return err
		}
		if err := tx.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"rolled back"}}}); err != nil {
			return err
		}
		return errMetaRollback
	})
	metaAssertErr(t, "Tx", err, errMetaRollback)
	_, err = s.GetProfile(ctx, acct, p.ID)
	metaAssertErr(t, "GetProfile of a rolled back create", err, holdfast.ErrNotFound)
	metaAssertEqual(t, "administrator after rollback", metaGet[holdfast.Administrator](t)(s.GetAdmin(ctx, acct, f.admin.ID)).Name, f.admin.Name)
	metaUnchanged(t, s, acct, rev, "rolled back Tx")
	metaAssertEqual(t, "PolicyRevision after rollback", metaGet[int64](t)(s.PolicyRevision(ctx)), prev)
	metaAssertEqual(t, "rules after rollback", len(metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx))), rules)
	metaAssertEqual(t, "audit records after rollback", len(metaGet[[]holdfast.AuditRecord](t)(s.ListAudit(ctx, acct, holdfast.AuditFilter{}))), audit)
	// The chain goes on from the last committed record.
	r := holdfast.AuditRecord{AccountID: acct, Action: "after.rollback"}
	metaMust(t, s.AppendAudit(ctx, &r))
	metaAssertEqual(t, "Seq after a rolled back append", r.Seq, int64(audit+1))
}

// testMetaTxPanic is the subtest "panic rolls back" of testMetaTx.
func testMetaTxPanic(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	ctx := t.Context()
	acct := f.account.ID
	var p holdfast.Profile
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Tx swallowed the panic")
			}
		}()
		_ = s.Tx(ctx, func(tx holdfast.MetaStore) error {
			p = holdfast.Profile{AccountID: acct, Name: "Panicked"}
			if err := tx.CreateProfile(ctx, &p); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	_, err := s.GetProfile(ctx, acct, p.ID)
	metaAssertErr(t, "GetProfile after a panic", err, holdfast.ErrNotFound)
}

// testMetaTxNested is the subtest "nested Tx joins the outer one" of testMetaTx.
func testMetaTxNested(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	ctx := t.Context()
	acct := f.account.ID
	var outer, inner, undone holdfast.Profile
	err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
		outer = holdfast.Profile{AccountID: acct, Name: "Outer"}
		if err := tx.CreateProfile(ctx, &outer); err != nil {
			return err
		}
		err := tx.Tx(ctx, func(tx2 holdfast.MetaStore) error {
			inner = holdfast.Profile{AccountID: acct, Name: "Inner"}
			return tx2.CreateProfile(ctx, &inner)
		})
		if err != nil {
			return err
		}
		// Joined: the outer transaction sees the inner write.
		if _, err := tx.GetProfile(ctx, acct, inner.ID); err != nil {
			return err
		}
		// An inner error the outer callback handles undoes the inner
		// writes only.
		err = tx.Tx(ctx, func(tx2 holdfast.MetaStore) error {
			undone = holdfast.Profile{AccountID: acct, Name: "Undone"}
			if err := tx2.CreateProfile(ctx, &undone); err != nil {
				return err
			}
			return errMetaRollback
		})
		if !errors.Is(err, errMetaRollback) {
			return fmt.Errorf("inner Tx: %w, want errMetaRollback", err)
		}
		return nil
	})
	metaMust(t, err)
	metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, outer.ID))
	metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, inner.ID))
	_, err = s.GetProfile(ctx, acct, undone.ID)
	metaAssertErr(t, "GetProfile of an undone inner write", err, holdfast.ErrNotFound)

	// An outer error undoes the committed inner transaction too.
	err = s.Tx(ctx, func(tx holdfast.MetaStore) error {
		if err := tx.Tx(ctx, func(tx2 holdfast.MetaStore) error {
			inner = holdfast.Profile{AccountID: acct, Name: "Inner 2"}
			return tx2.CreateProfile(ctx, &inner)
		}); err != nil {
			return err
		}
		return errMetaRollback
	})
	metaAssertErr(t, "outer Tx", err, errMetaRollback)
	_, err = s.GetProfile(ctx, acct, inner.ID)
	metaAssertErr(t, "GetProfile of an inner write under a failed outer Tx", err, holdfast.ErrNotFound)
}

// testMetaTxFailedWrite is the subtest "failed write inside Tx leaves it usable" of testMetaTx.
func testMetaTxFailedWrite(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	ctx := t.Context()
	acct := f.account.ID
	rev := metaRevision(t, s, acct)
	var p holdfast.Profile
	err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
		dup := holdfast.Administrator{AccountID: acct, Name: "Dup", Email: f.admin.Email}
		if err := tx.CreateAdmin(ctx, &dup); !errors.Is(err, holdfast.ErrConflict) {
			return fmt.Errorf("CreateAdmin with a taken email: %v, want ErrConflict", err)
		}
		if _, err := tx.GetAdmin(ctx, acct, "missing"); !errors.Is(err, holdfast.ErrNotFound) {
			return fmt.Errorf("GetAdmin missing: %v, want ErrNotFound", err)
		}
		p = holdfast.Profile{AccountID: acct, Name: "After conflict"}
		return tx.CreateProfile(ctx, &p)
	})
	metaMust(t, err)
	metaGet[holdfast.Profile](t)(s.GetProfile(ctx, acct, p.ID))
	// Only the profile's write counts: the conflict changed nothing.
	metaAssertEqual(t, "revision", metaRevision(t, s, acct), rev+1)
}

// testMetaTxConcurrent is the subtest "concurrent transactions" of testMetaTx.
func testMetaTxConcurrent(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	ctx := t.Context()
	acct := f.account.ID
	const n = 8
	rev := metaRevision(t, s, acct)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- s.Tx(ctx, func(tx holdfast.MetaStore) error {
				// Read, then write: the pattern that deadlocks or fails
				// with "database is locked" when transactions upgrade
				// their locks.
				if _, err := tx.Revision(ctx, acct); err != nil {
					return err
				}
				// Half write then audit, half audit then write: the
				// store's locks must not deadlock whatever the order.
				write := func() error {
					p := holdfast.Profile{AccountID: acct, Name: fmt.Sprintf("Concurrent %d", i)}
					return tx.CreateProfile(ctx, &p)
				}
				audit := func() error {
					return tx.AppendAudit(ctx, &holdfast.AuditRecord{AccountID: acct, Action: "concurrent.tx"})
				}
				if i%2 == 1 {
					write, audit = audit, write
				}
				if err := write(); err != nil {
					return err
				}
				time.Sleep(time.Millisecond)
				return audit()
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent Tx: %v", err)
		}
	}
	metaAssertEqual(t, "revision after concurrent transactions", metaRevision(t, s, acct), rev+n)
}

func testMetaConcurrentWriters(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	accounts := []metaFixture{metaNewFixture(t, s), metaNewFixture(t, s)}
	revs := []int64{metaRevision(t, s, accounts[0].account.ID), metaRevision(t, s, accounts[1].account.ID)}
	const workers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Go(func() {
			f := accounts[w%2]
			for i := range each {
				u := holdfast.User{AccountID: f.account.ID, Email: fmt.Sprintf("w%d-%d@example.com", w, i), ProfileID: f.profile.ID}
				errs <- s.CreateUser(ctx, &u)
				errs <- s.RecordLogin(ctx, f.account.ID, f.admin.ID, time.Now())
				errs <- s.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{u.ID}}})
				if _, err := s.ListUsers(ctx, f.account.ID, holdfast.UserFilter{}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent write: %v", err)
		}
	}
	for i, f := range accounts {
		want := revs[i] + workers/2*each
		metaAssertEqual(t, "revision of "+f.account.ID, metaRevision(t, s, f.account.ID), want)
		metaAssertEqual(t, "users of "+f.account.ID, len(metaGet[[]holdfast.User](t)(s.ListUsers(ctx, f.account.ID, holdfast.UserFilter{}))), 1+workers/2*each)
	}
	metaAssertEqual(t, "rules", len(metaGet[[]holdfast.PolicyRule](t)(s.ListPolicyRules(ctx))), workers*each)
}
