package storagetest

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/holdfast/holdfast"
)

// testMetaRevisionFresh proves that revisions read through the store are
// never older than its last committed write, however the store keeps them:
// each case reads the revisions first (so a store that caches them has them
// cached), writes, and reads again.
func testMetaRevisionFresh(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	f := metaNewFixture(t, s)
	acct := f.account.ID
	rev := func() int64 { t.Helper(); return metaRevision(t, s, acct) }
	policy := func() int64 { t.Helper(); return metaGet[int64](t)(s.PolicyRevision(ctx)) }
	// warm reads the revisions twice, which must agree with no write in
	// between, and returns them.
	warm := func() (int64, int64) {
		t.Helper()
		r, p := rev(), policy()
		metaAssertEqual(t, "Revision read twice", rev(), r)
		metaAssertEqual(t, "PolicyRevision read twice", policy(), p)
		return r, p
	}

	t.Run("single writes", func(t *testing.T) {
		writes := []struct {
			name         string
			fn           func() error
			dRev, dRules int64
		}{
			{"UpdateAdmin", func() error { a := f.admin; a.Name = "Renamed"; return s.UpdateAdmin(ctx, &a) }, 1, 0},
			{"UpdateAccount", func() error { a := f.account; a.Name = metaUniq("Renamed"); return s.UpdateAccount(ctx, &a) }, 1, 0},
			{"AddPolicyRules", func() error {
				return s.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"fresh"}}})
			}, 0, 1},
			{"RemovePolicyRules", func() error {
				return s.RemovePolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"fresh"}}})
			}, 0, 1},
			{"RecordLogin", func() error { return s.RecordLogin(ctx, acct, f.admin.ID, metaAt(0)) }, 0, 0},
		}
		for _, w := range writes {
			r, p := warm()
			metaMust(t, w.fn())
			metaAssertEqual(t, "Revision after "+w.name, rev(), r+w.dRev)
			metaAssertEqual(t, "PolicyRevision after "+w.name, policy(), p+w.dRules)
		}
	})

	t.Run("committed Tx", func(t *testing.T) {
		r, p := warm()
		err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
			pr := holdfast.Profile{AccountID: acct, Name: metaUniq("Tx")}
			if err := tx.CreateProfile(ctx, &pr); err != nil {
				return err
			}
			return tx.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"tx"}}})
		})
		metaMust(t, err)
		metaAssertEqual(t, "Revision after a committed Tx", rev(), r+1)
		metaAssertEqual(t, "PolicyRevision after a committed Tx", policy(), p+1)
	})

	t.Run("rolled back Tx", func(t *testing.T) {
		r, p := warm()
		err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
			pr := holdfast.Profile{AccountID: acct, Name: metaUniq("Rolled back")}
			if err := tx.CreateProfile(ctx, &pr); err != nil {
				return err
			}
			if err := tx.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"rolled back"}}}); err != nil {
				return err
			}
			// The transaction sees its own revisions, which the rollback
			// will hand to the next commit: they must not escape it.
			if got, err := tx.Revision(ctx, acct); err != nil || got != r+1 {
				return fmt.Errorf("tx.Revision = %d, %v; want %d", got, err, r+1)
			}
			if got, err := tx.PolicyRevision(ctx); err != nil || got != p+1 {
				return fmt.Errorf("tx.PolicyRevision = %d, %v; want %d", got, err, p+1)
			}
			return errMetaRollback
		})
		metaAssertErr(t, "Tx", err, errMetaRollback)
		metaAssertEqual(t, "Revision after a rolled back Tx", rev(), r)
		metaAssertEqual(t, "PolicyRevision after a rolled back Tx", policy(), p)
		// The next commit takes the numbers the rollback gave back.
		pr := holdfast.Profile{AccountID: acct, Name: metaUniq("After rollback")}
		metaMust(t, s.CreateProfile(ctx, &pr))
		metaMust(t, s.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"after rollback"}}}))
		metaAssertEqual(t, "Revision after the next write", rev(), r+1)
		metaAssertEqual(t, "PolicyRevision after the next write", policy(), p+1)
	})

	t.Run("inner rollback, outer commit", func(t *testing.T) {
		r, p := warm()
		err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
			err := tx.Tx(ctx, func(tx2 holdfast.MetaStore) error {
				if err := tx2.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"inner"}}}); err != nil {
					return err
				}
				return errMetaRollback
			})
			if err == nil {
				return fmt.Errorf("inner Tx returned nil, want errMetaRollback")
			}
			pr := holdfast.Profile{AccountID: acct, Name: metaUniq("Outer")}
			return tx.CreateProfile(ctx, &pr)
		})
		metaMust(t, err)
		metaAssertEqual(t, "Revision after the outer commit", rev(), r+1)
		metaAssertEqual(t, "PolicyRevision after an undone inner write", policy(), p)
	})

	t.Run("failed write", func(t *testing.T) {
		r, _ := warm()
		dup := holdfast.Administrator{AccountID: acct, Name: "Dup", Email: f.admin.Email}
		metaAssertErr(t, "CreateAdmin with a taken email", s.CreateAdmin(ctx, &dup), holdfast.ErrConflict)
		metaAssertEqual(t, "Revision after a failed write", rev(), r)
	})
}

// testMetaRevisionMonotonic runs readers beside writers (run it with -race)
// and proves that no read returns a revision lower than one any read
// returned before it started, that a writer reads its own write, and that
// the final revisions count every committed write and no rolled back one.
func testMetaRevisionMonotonic(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	accts := []string{metaNewAccount(t, s).ID, metaNewAccount(t, s).ID}
	start := []int64{metaRevision(t, s, accts[0]), metaRevision(t, s, accts[1])}
	startPolicy := metaGet[int64](t)(s.PolicyRevision(ctx))

	// seen[i] is the highest revision any read of key i returned: accounts
	// 0 and 1, then the policy.
	var seen [3]atomic.Int64
	read := func(i int) (int64, error) {
		if i == 2 {
			return s.PolicyRevision(ctx)
		}
		return s.Revision(ctx, accts[i])
	}
	// check reads key i and fails if the value is below what a read
	// finished before this one started returned.
	check := func(i int) (int64, error) {
		floor := seen[i].Load()
		v, err := read(i)
		if err != nil {
			return 0, err
		}
		if v < floor {
			return v, fmt.Errorf("revision %d went backwards: read %d after %d", i, v, floor)
		}
		for {
			cur := seen[i].Load()
			if v <= cur || seen[i].CompareAndSwap(cur, v) {
				return v, nil
			}
		}
	}

	const writers, each = 2, 15
	done := make(chan struct{})
	errs := make(chan error, 64)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				if _, err := check(i % 3); err != nil {
					report(err)
					return
				}
				runtime.Gosched()
			}
		})
	}
	var ws sync.WaitGroup
	for w := range writers {
		ws.Go(func() {
			acct := accts[w]
			for i := range each {
				before, err := check(w)
				if err != nil {
					report(err)
					return
				}
				p := holdfast.Profile{AccountID: acct, Name: fmt.Sprintf("w%d-%d", w, i)}
				if err := s.CreateProfile(ctx, &p); err != nil {
					report(err)
					return
				}
				if after, err := check(w); err != nil || after <= before {
					report(fmt.Errorf("writer %d: revision %d after its write, want > %d (%v)", w, after, before, err))
					return
				}
				policyBefore, err := check(2)
				if err != nil {
					report(err)
					return
				}
				if err := s.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{p.ID}}}); err != nil {
					report(err)
					return
				}
				if after, err := check(2); err != nil || after <= policyBefore {
					report(fmt.Errorf("writer %d: policy revision %d after its write, want > %d (%v)", w, after, policyBefore, err))
					return
				}
				// A rolled back write in between hands its numbers back.
				err = s.Tx(ctx, func(tx holdfast.MetaStore) error {
					p := holdfast.Profile{AccountID: acct, Name: fmt.Sprintf("w%d-%d rolled back", w, i)}
					if err := tx.CreateProfile(ctx, &p); err != nil {
						return err
					}
					if err := tx.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"x"}}}); err != nil {
						return err
					}
					return errMetaRollback
				})
				if !errors.Is(err, errMetaRollback) {
					report(fmt.Errorf("rolled back Tx: %v", err))
					return
				}
			}
		})
	}
	ws.Wait()
	close(done)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, acct := range accts {
		metaAssertEqual(t, "final revision of "+acct, metaRevision(t, s, acct), start[i]+each)
	}
	metaAssertEqual(t, "final policy revision", metaGet[int64](t)(s.PolicyRevision(ctx)), startPolicy+writers*each)
}
