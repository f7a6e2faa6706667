package storagetest

import (
	"context"
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
	f := metaNewFixture(t, s)
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, holdfast.MetaStore, metaFixture)
	}{
		{"single writes", testMetaRevisionFreshSingle},
		{"committed Tx", testMetaRevisionFreshCommit},
		{"rolled back Tx", testMetaRevisionFreshRollback},
		{"inner rollback, outer commit", testMetaRevisionFreshInner},
		{"failed write", testMetaRevisionFreshFailed},
	} {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, s, f) })
	}
}

// metaRevProbe reads an account's revision and the policy revision.
type metaRevProbe struct {
	s    holdfast.MetaStore
	acct string
}

func (p metaRevProbe) rev(t *testing.T) int64 { t.Helper(); return metaRevision(t, p.s, p.acct) }

func (p metaRevProbe) policy(t *testing.T) int64 {
	t.Helper()
	return metaGet[int64](t)(p.s.PolicyRevision(t.Context()))
}

// warm reads the revisions twice, which must agree with no write in
// between, and returns them.
func (p metaRevProbe) warm(t *testing.T) (int64, int64) {
	t.Helper()
	r, pol := p.rev(t), p.policy(t)
	metaAssertEqual(t, "Revision read twice", p.rev(t), r)
	metaAssertEqual(t, "PolicyRevision read twice", p.policy(t), pol)
	return r, pol
}

// testMetaRevisionFreshSingle is the subtest "single writes" of testMetaRevisionFresh.
func testMetaRevisionFreshSingle(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	probe := metaRevProbe{s: s, acct: f.account.ID}
	ctx := t.Context()
	acct := f.account.ID
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
		r, p := probe.warm(t)
		metaMust(t, w.fn())
		metaAssertEqual(t, "Revision after "+w.name, probe.rev(t), r+w.dRev)
		metaAssertEqual(t, "PolicyRevision after "+w.name, probe.policy(t), p+w.dRules)
	}
}

// testMetaRevisionFreshCommit is the subtest "committed Tx" of testMetaRevisionFresh.
func testMetaRevisionFreshCommit(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	probe := metaRevProbe{s: s, acct: f.account.ID}
	ctx := t.Context()
	acct := f.account.ID
	r, p := probe.warm(t)
	err := s.Tx(ctx, func(tx holdfast.MetaStore) error {
		pr := holdfast.Profile{AccountID: acct, Name: metaUniq("Tx")}
		if err := tx.CreateProfile(ctx, &pr); err != nil {
			return err
		}
		return tx.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"tx"}}})
	})
	metaMust(t, err)
	metaAssertEqual(t, "Revision after a committed Tx", probe.rev(t), r+1)
	metaAssertEqual(t, "PolicyRevision after a committed Tx", probe.policy(t), p+1)
}

// testMetaRevisionFreshRollback is the subtest "rolled back Tx" of testMetaRevisionFresh.
func testMetaRevisionFreshRollback(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	probe := metaRevProbe{s: s, acct: f.account.ID}
	ctx := t.Context()
	acct := f.account.ID
	r, p := probe.warm(t)
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
	metaAssertEqual(t, "Revision after a rolled back Tx", probe.rev(t), r)
	metaAssertEqual(t, "PolicyRevision after a rolled back Tx", probe.policy(t), p)
	// The next commit takes the numbers the rollback gave back.
	pr := holdfast.Profile{AccountID: acct, Name: metaUniq("After rollback")}
	metaMust(t, s.CreateProfile(ctx, &pr))
	metaMust(t, s.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"after rollback"}}}))
	metaAssertEqual(t, "Revision after the next write", probe.rev(t), r+1)
	metaAssertEqual(t, "PolicyRevision after the next write", probe.policy(t), p+1)
}

// testMetaRevisionFreshInner is the subtest "inner rollback, outer commit" of testMetaRevisionFresh.
func testMetaRevisionFreshInner(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	probe := metaRevProbe{s: s, acct: f.account.ID}
	ctx := t.Context()
	acct := f.account.ID
	r, p := probe.warm(t)
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
	metaAssertEqual(t, "Revision after the outer commit", probe.rev(t), r+1)
	metaAssertEqual(t, "PolicyRevision after an undone inner write", probe.policy(t), p)
}

// testMetaRevisionFreshFailed is the subtest "failed write" of testMetaRevisionFresh.
func testMetaRevisionFreshFailed(t *testing.T, s holdfast.MetaStore, f metaFixture) {
	probe := metaRevProbe{s: s, acct: f.account.ID}
	ctx := t.Context()
	acct := f.account.ID
	r, _ := probe.warm(t)
	dup := holdfast.Administrator{AccountID: acct, Name: "Dup", Email: f.admin.Email}
	metaAssertErr(t, "CreateAdmin with a taken email", s.CreateAdmin(ctx, &dup), holdfast.ErrConflict)
	metaAssertEqual(t, "Revision after a failed write", probe.rev(t), r)
}

// testMetaRevisionMonotonic runs readers beside writers (run it with -race)
// and proves that no read returns a revision lower than one any read
// returned before it started, that a writer reads its own write, and that
// the final revisions count every committed write and no rolled back one.
func testMetaRevisionMonotonic(t *testing.T, s holdfast.MetaStore) {
	ctx := t.Context()
	w := &metaRevWatch{s: s, accts: []string{metaNewAccount(t, s).ID, metaNewAccount(t, s).ID}}
	start := []int64{metaRevision(t, s, w.accts[0]), metaRevision(t, s, w.accts[1])}
	startPolicy := metaGet[int64](t)(s.PolicyRevision(ctx))

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
				if _, err := w.check(ctx, i%3); err != nil {
					report(err)
					return
				}
				runtime.Gosched()
			}
		})
	}
	var ws sync.WaitGroup
	for n := range writers {
		ws.Go(func() {
			if err := w.write(ctx, n, each); err != nil {
				report(err)
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
	for i, acct := range w.accts {
		metaAssertEqual(t, "final revision of "+acct, metaRevision(t, s, acct), start[i]+each)
	}
	metaAssertEqual(t, "final policy revision", metaGet[int64](t)(s.PolicyRevision(ctx)), startPolicy+writers*each)
}

// metaRevWatch reads the revisions of two accounts and the policy while
// writers change them, and notices any read that goes backwards.
type metaRevWatch struct {
	s     holdfast.MetaStore
	accts []string
	// seen[i] is the highest revision any read of key i returned:
	// accounts 0 and 1, then the policy.
	seen [3]atomic.Int64
}

func (w *metaRevWatch) read(ctx context.Context, i int) (int64, error) {
	if i == 2 {
		return w.s.PolicyRevision(ctx)
	}
	return w.s.Revision(ctx, w.accts[i])
}

// check reads key i and fails if the value is below what a read finished
// before this one started returned.
func (w *metaRevWatch) check(ctx context.Context, i int) (int64, error) {
	floor := w.seen[i].Load()
	v, err := w.read(ctx, i)
	if err != nil {
		return 0, err
	}
	if v < floor {
		return v, fmt.Errorf("revision %d went backwards: read %d after %d", i, v, floor)
	}
	for {
		cur := w.seen[i].Load()
		if v <= cur || w.seen[i].CompareAndSwap(cur, v) {
			return v, nil
		}
	}
}

// write is writer n: each round it creates a profile in account n and adds
// a policy rule, checking each raises its revision, then rolls back a
// transaction doing both.
func (w *metaRevWatch) write(ctx context.Context, n, rounds int) error {
	acct := w.accts[n]
	for i := range rounds {
		before, err := w.check(ctx, n)
		if err != nil {
			return err
		}
		p := holdfast.Profile{AccountID: acct, Name: fmt.Sprintf("w%d-%d", n, i)}
		if err := w.s.CreateProfile(ctx, &p); err != nil {
			return err
		}
		if after, err := w.check(ctx, n); err != nil || after <= before {
			return fmt.Errorf("writer %d: revision %d after its write, want > %d (%v)", n, after, before, err)
		}
		policyBefore, err := w.check(ctx, 2)
		if err != nil {
			return err
		}
		if err := w.s.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{p.ID}}}); err != nil {
			return err
		}
		if after, err := w.check(ctx, 2); err != nil || after <= policyBefore {
			return fmt.Errorf("writer %d: policy revision %d after its write, want > %d (%v)", n, after, policyBefore, err)
		}
		// A rolled back write in between hands its numbers back.
		err = w.s.Tx(ctx, func(tx holdfast.MetaStore) error {
			p := holdfast.Profile{AccountID: acct, Name: fmt.Sprintf("w%d-%d rolled back", n, i)}
			if err := tx.CreateProfile(ctx, &p); err != nil {
				return err
			}
			if err := tx.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: "p", V: []string{"x"}}}); err != nil {
				return err
			}
			return errMetaRollback
		})
		if !errors.Is(err, errMetaRollback) {
			return fmt.Errorf("rolled back Tx: %v", err)
		}
	}
	return nil
}
