package storagetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/holdfast/holdfast"
)

// testMetaHoldAccess runs the [holdfast.HoldAccessStore] contract: the
// metadata store keeps each hold's WebDAV credential beside the hold.
func testMetaHoldAccess(t *testing.T, s holdfast.MetaStore) {
	var as holdfast.HoldAccessStore = s // every MetaStore keeps hold credentials
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	_, err := as.GetHoldCredential(ctx, acct, f.hold.ID)
	metaAssertErr(t, "GetHoldCredential before any", err, holdfast.ErrNotFound)
	metaAssertErr(t, "DeleteHoldCredential before any", as.DeleteHoldCredential(ctx, acct, f.hold.ID), holdfast.ErrNotFound)

	rot := metaHoldCredPutRotate(t, s, as, f)
	// Another hold, here in another account, cannot take the user name.
	g := metaNewFixture(t, s)
	metaHoldCredRefusals(t, s, as, f, g, rot.UserName)
	metaHoldCredTx(t, s, g)

	// Revoke; then deleting a hold takes its credential along.
	metaMust(t, as.DeleteHoldCredential(ctx, acct, f.hold.ID))
	_, err = as.GetHoldCredentialByUser(ctx, rot.UserName)
	metaAssertErr(t, "GetHoldCredentialByUser after revoke", err, holdfast.ErrNotFound)
	c2 := holdfast.HoldCredential{AccountID: g.account.ID, HoldID: g.hold.ID, UserName: metaUniq("lh"), Hash: []byte{3}, CreatedBy: g.admin.ID}
	metaMust(t, as.PutHoldCredential(ctx, &c2))
	metaMust(t, s.DeleteHold(ctx, g.account.ID, g.hold.ID))
	_, err = as.GetHoldCredentialByUser(ctx, c2.UserName)
	metaAssertErr(t, "credential after DeleteHold", err, holdfast.ErrNotFound)

	metaHoldCredConcurrent(t, as, f)
}

// metaHoldCredPutRotate puts a credential for f's hold, checks it reads
// back, then rotates it and returns the new one.
func metaHoldCredPutRotate(t *testing.T, s holdfast.MetaStore, as holdfast.HoldAccessStore, f metaFixture) holdfast.HoldCredential {
	ctx := t.Context()
	acct := f.account.ID
	rev := metaRevision(t, s, acct)
	in := holdfast.HoldCredential{AccountID: acct, HoldID: f.hold.ID, UserName: metaUniq("lh"), Hash: bytes.Repeat([]byte{7}, 32),
		CreatedBy: f.admin.ID, CreatedAt: metaAt(0), ExpiresAt: metaPtr(metaAt(time.Hour))}
	c := in
	metaMust(t, as.PutHoldCredential(ctx, &c))
	want := in
	want.CreatedAt, want.ExpiresAt = metaMicro(in.CreatedAt), metaMicroPtr(in.ExpiresAt)
	metaAssertEqual(t, "times written back", c, want)
	metaAssertEqual(t, "GetHoldCredential", metaGet[holdfast.HoldCredential](t)(as.GetHoldCredential(ctx, acct, f.hold.ID)), want)
	metaAssertEqual(t, "GetHoldCredentialByUser", metaGet[holdfast.HoldCredential](t)(as.GetHoldCredentialByUser(ctx, in.UserName)), want)
	metaUnchanged(t, s, acct, rev, "PutHoldCredential")

	// Rotating replaces the credential: the old user name opens nothing.
	rot := holdfast.HoldCredential{AccountID: acct, HoldID: f.hold.ID, UserName: metaUniq("lh"), Hash: bytes.Repeat([]byte{8}, 32),
		CreatedBy: f.admin.ID, CreatedAt: metaAt(time.Minute)}
	metaMust(t, as.PutHoldCredential(ctx, &rot))
	_, err := as.GetHoldCredentialByUser(ctx, in.UserName)
	metaAssertErr(t, "old user name after rotation", err, holdfast.ErrNotFound)
	got := metaGet[holdfast.HoldCredential](t)(as.GetHoldCredential(ctx, acct, f.hold.ID))
	if !bytes.Equal(got.Hash, rot.Hash) || got.ExpiresAt != nil || got.UserName != rot.UserName {
		t.Errorf("after rotation: %+v, want %+v", got, rot)
	}
	return rot
}

// metaHoldCredRefusals: g's hold cannot take f's credential's user name
// (taken), a missing hold gets none, and g's account sees nothing of f's.
func metaHoldCredRefusals(t *testing.T, s holdfast.MetaStore, as holdfast.HoldAccessStore, f, g metaFixture, taken string) {
	ctx := t.Context()
	acct := f.account.ID
	rev2 := metaRevision(t, s, g.account.ID)
	dup := holdfast.HoldCredential{AccountID: g.account.ID, HoldID: g.hold.ID, UserName: taken, Hash: []byte{1}, CreatedBy: g.admin.ID}
	metaAssertErr(t, "PutHoldCredential with a taken user name", as.PutHoldCredential(ctx, &dup), holdfast.ErrConflict)
	_, err := as.GetHoldCredential(ctx, g.account.ID, g.hold.ID)
	metaAssertErr(t, "credential after a refused put", err, holdfast.ErrNotFound)
	missing := holdfast.HoldCredential{AccountID: acct, HoldID: "missing", UserName: metaUniq("lh"), Hash: []byte{1}, CreatedBy: f.admin.ID}
	metaAssertErr(t, "PutHoldCredential of a missing hold", as.PutHoldCredential(ctx, &missing), holdfast.ErrNotFound)
	_, err = as.GetHoldCredentialByUser(ctx, missing.UserName)
	metaAssertErr(t, "credential of a missing hold after the refused put", err, holdfast.ErrNotFound)
	metaUnchanged(t, s, g.account.ID, rev2, "refused PutHoldCredential")

	// Tenants: the other account does not see this account's credential.
	_, err = as.GetHoldCredential(ctx, g.account.ID, f.hold.ID)
	metaAssertErr(t, "GetHoldCredential through another account", err, holdfast.ErrNotFound)
	metaAssertErr(t, "DeleteHoldCredential through another account", as.DeleteHoldCredential(ctx, g.account.ID, f.hold.ID), holdfast.ErrNotFound)
}

// metaHoldCredTx: inside a transaction the transaction's writes join it
// and a rolled back write leaves nothing.
func metaHoldCredTx(t *testing.T, s holdfast.MetaStore, g metaFixture) {
	ctx := t.Context()
	var as holdfast.HoldAccessStore = s // every MetaStore keeps hold credentials
	errRollback := holdfast.ErrConflict
	err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
		var txa holdfast.HoldAccessStore = tx
		c := holdfast.HoldCredential{AccountID: g.account.ID, HoldID: g.hold.ID, UserName: metaUniq("lh"), Hash: []byte{2}, CreatedBy: g.admin.ID}
		if err := txa.PutHoldCredential(ctx, &c); err != nil {
			return err
		}
		if _, err := txa.GetHoldCredential(ctx, g.account.ID, g.hold.ID); err != nil {
			t.Errorf("read inside the transaction: %v", err)
		}
		return errRollback
	})
	metaAssertErr(t, "Tx", err, errRollback)
	_, err = as.GetHoldCredential(ctx, g.account.ID, g.hold.ID)
	metaAssertErr(t, "credential after rollback", err, holdfast.ErrNotFound)
}

// metaHoldCredConcurrent: concurrent rotations leave exactly one
// credential, one of theirs.
func metaHoldCredConcurrent(t *testing.T, as holdfast.HoldAccessStore, f metaFixture) {
	ctx := t.Context()
	acct := f.account.ID
	var wg sync.WaitGroup
	names := make([]string, 4)
	for i := range names {
		names[i] = metaUniq("lh")
		wg.Go(func() {
			c := holdfast.HoldCredential{AccountID: acct, HoldID: f.hold.ID, UserName: names[i], Hash: []byte{byte(i)}, CreatedBy: f.admin.ID}
			if err := as.PutHoldCredential(context.Background(), &c); err != nil {
				t.Errorf("concurrent PutHoldCredential: %v", err)
			}
		})
	}
	wg.Wait()
	final := metaGet[holdfast.HoldCredential](t)(as.GetHoldCredential(ctx, acct, f.hold.ID))
	found := 0
	for _, n := range names {
		if _, err := as.GetHoldCredentialByUser(ctx, n); err == nil {
			found++
			if n != final.UserName {
				t.Errorf("user name %s still opens the hold beside %s", n, final.UserName)
			}
		}
	}
	if found != 1 {
		t.Errorf("%d credentials after concurrent rotations, want 1", found)
	}
}
