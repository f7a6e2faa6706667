// Package audit proves an account's audit trail was not touched, and
// keeps it as long as the account's retention setting says.
//
// # Design
//
// Every record carries an HMAC-SHA256 of its content and of the previous
// record's MAC (holdfast.AuditRecord.ComputeMAC), under a key that lives
// outside the database (a key file of the data directory, or the
// environment). Whoever can write the database but lacks the key can
// neither change a record nor re-chain the records after it.
//
// A MAC chain alone cannot show that its newest records were deleted, or
// the whole table. So [Service] writes checkpoints, (account, seq, MAC)
// signed with an Ed25519 key that also lives outside the database, to a
// store outside the database ([Checkpoints]): at an interval, at shutdown,
// and when retention prunes. [Service.Verify] walks the chain and checks
// it against every checkpoint: a trail that ends before its newest
// checkpoint has lost its tail.
//
// Retention removes records older than the account's setting behind a
// prune checkpoint that names the record at the cut, so the chain verifies
// from there. The newest record is never removed.
//
// Trails written before keyed chains carry unkeyed SHA-256 hashes. They are
// not re-chained (that would rewrite history with no proof it was not
// changed first): on the first start with an empty checkpoint store,
// [Service.Migrate] verifies each account's version 1 chain and signs a
// cut-over checkpoint at its newest record. Records up to the cut-over
// verify with the old hash, and the signed MAC at the cut-over pins them
// all; later records verify with the key.
package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/holdfast/holdfast"
)

// Options configures a Service.
type Options struct {
	Store holdfast.MetaStore // required
	// Key is the MAC key the store chains records with. Required.
	Key []byte
	// Signer signs checkpoints; its public key verifies them. Required.
	Signer      ed25519.PrivateKey
	Checkpoints *Checkpoints // required
	Logger      *slog.Logger // nil: discard
	// Clock dates checkpoints, decides retention cut-offs and schedules
	// Run (default the wall clock).
	Clock holdfast.Clock
	// SchedulePoll is how often Run looks at its schedules (default
	// holdfast.SchedulePoll of the shorter interval).
	SchedulePoll time.Duration
	// Now is the clock as a function, used when Clock is nil.
	//
	// Deprecated: set Clock, the one injectable clock of the project.
	Now func() time.Time
}

// Service writes checkpoints, prunes and verifies audit trails. It is safe
// for concurrent use.
type Service struct {
	store  holdfast.MetaStore
	key    []byte
	signer ed25519.PrivateKey
	cps    *Checkpoints
	log    *slog.Logger
	clock  holdfast.Clock
	poll   time.Duration // Options.SchedulePoll

	mu   sync.Mutex
	last map[string]int64 // account → Seq of the last checkpoint written; guarded by mu
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil || len(opts.Key) == 0 || len(opts.Signer) != ed25519.PrivateKeySize || opts.Checkpoints == nil {
		return nil, errors.New("audit: store, key, signer and checkpoints are required")
	}
	s := &Service{store: opts.Store, key: opts.Key, signer: opts.Signer, cps: opts.Checkpoints,
		log: opts.Logger, clock: holdfast.ClockOrSystem(opts.Clock), poll: opts.SchedulePoll, last: map[string]int64{}}
	if opts.Clock == nil && opts.Now != nil {
		s.clock = nowFunc(opts.Now)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Report is the result of verifying one account's trail.
type Report struct {
	AccountID string `json:"account_id"`
	OK        bool   `json:"ok"`
	// Records is how many records verified (before the break, if any).
	Records int64 `json:"records"`
	// LastSeq is the newest record's Seq; CheckpointSeq is the newest
	// checkpoint's.
	LastSeq       int64 `json:"last_seq"`
	CheckpointSeq int64 `json:"checkpoint_seq"`
	// Break is the first record that does not verify, or the missing
	// tail (Seq: the first missing record).
	Break *holdfast.AuditBreak `json:"break,omitempty"`
}

// pageSize is how many records a walk reads at a time.
const pageSize = 1000

// anchors is what an account's checkpoints say about its trail.
type anchors struct {
	base, legacy int64
	baseMAC      string
	head         Checkpoint           // newest, by Seq
	macs         map[int64]string     // Seq → MAC of every checkpoint
	bad          *holdfast.AuditBreak // a checkpoint that does not verify
}

func (s *Service) anchorsOf(cps []Checkpoint) anchors {
	a := anchors{macs: map[int64]string{}}
	pub := s.signer.Public().(ed25519.PublicKey)
	for _, c := range cps {
		if !c.verify(pub) {
			a.bad = &holdfast.AuditBreak{Seq: c.Seq, Reason: fmt.Sprintf("checkpoint at seq %d (%s) has a bad signature", c.Seq, c.Reason)}
			return a
		}
		if c.BaseSeq > a.base {
			a.base, a.baseMAC = c.BaseSeq, c.BaseMAC
		}
		a.legacy = max(a.legacy, c.LegacyThrough)
		if c.Seq >= a.head.Seq {
			a.head = c
		}
		if prev, ok := a.macs[c.Seq]; ok && prev != c.MAC {
			a.bad = &holdfast.AuditBreak{Seq: c.Seq, Reason: fmt.Sprintf("two checkpoints at seq %d disagree", c.Seq)}
			return a
		}
		a.macs[c.Seq] = c.MAC
	}
	return a
}

// Verify walks the account's trail from the newest retention cut and
// checks every link and every checkpoint. A report that is not OK names
// the first bad record, or the missing tail.
func (s *Service) Verify(ctx context.Context, accountID string) (Report, error) {
	all, err := s.cps.All(ctx)
	if err != nil {
		return Report{}, err
	}
	return s.verify(ctx, accountID, s.anchorsOf(all[accountID]), nil)
}

// VerifyAll verifies every account the store or the checkpoints know, so
// that an account whose rows are gone altogether is reported too.
func (s *Service) VerifyAll(ctx context.Context) ([]Report, error) {
	all, err := s.cps.All(ctx)
	if err != nil {
		return nil, err
	}
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(accounts)+len(all))
	for _, a := range accounts {
		ids = append(ids, a.ID)
	}
	for id := range all {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	reports := make([]Report, 0, len(ids))
	for _, id := range ids {
		r, err := s.verify(ctx, id, s.anchorsOf(all[id]), nil)
		if err != nil {
			return nil, err
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// verify walks the trail; visit, when set, sees every verified record.
func (s *Service) verify(ctx context.Context, accountID string, a anchors, visit func(holdfast.AuditRecord)) (Report, error) {
	rep := Report{AccountID: accountID, OK: true, CheckpointSeq: a.head.Seq}
	if a.bad != nil {
		rep.OK, rep.Break = false, a.bad
		return rep, nil
	}
	chain := holdfast.AuditChain{Key: s.key, PrevSeq: a.base, PrevHash: a.baseMAC, LegacyThrough: a.legacy}
	rep.LastSeq = a.base
	for {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		page, err := s.store.ListAudit(ctx, accountID, holdfast.AuditFilter{AfterSeq: chain.PrevSeq, Limit: pageSize})
		if err != nil {
			return rep, err
		}
		if len(page) == 0 {
			break
		}
		for _, r := range page {
			if b := chain.Verify([]holdfast.AuditRecord{r}); b != nil {
				rep.OK, rep.Break = false, b
				return rep, nil
			}
			if mac, ok := a.macs[r.Seq]; ok && mac != r.Hash {
				rep.OK, rep.Break = false, &holdfast.AuditBreak{Seq: r.Seq,
					Reason: "record differs from the checkpoint at its seq: the trail was rewritten from here"}
				return rep, nil
			}
			rep.Records++
			rep.LastSeq = r.Seq
			if visit != nil {
				visit(r)
			}
		}
	}
	if rep.LastSeq < a.head.Seq {
		rep.OK = false
		rep.Break = &holdfast.AuditBreak{Seq: rep.LastSeq + 1, Reason: fmt.Sprintf(
			"missing tail: the newest checkpoint covers seq %d, the last record is seq %d", a.head.Seq, rep.LastSeq)}
	}
	return rep, nil
}

// head returns the account's newest record; none: Seq 0.
func (s *Service) head(ctx context.Context, accountID string) (holdfast.AuditRecord, error) {
	recs, err := s.store.ListAudit(ctx, accountID, holdfast.AuditFilter{Newest: true, Limit: 1})
	if err != nil || len(recs) == 0 {
		return holdfast.AuditRecord{}, err
	}
	return recs[0], nil
}

// put signs and stores c, and remembers its Seq.
func (s *Service) put(ctx context.Context, c Checkpoint) error {
	c.Time = s.now().UTC()
	c.sign(s.signer)
	if err := s.cps.Put(ctx, c); err != nil {
		return err
	}
	s.mu.Lock()
	s.last[c.AccountID] = max(s.last[c.AccountID], c.Seq)
	s.mu.Unlock()
	return nil
}

// Checkpoint writes a checkpoint, for reason, of every account whose trail
// grew since this Service last wrote one.
func (s *Service) Checkpoint(ctx context.Context, reason string) error {
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, a := range accounts {
		h, err := s.head(ctx, a.ID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.mu.Lock()
		done := h.Seq == 0 || s.last[a.ID] >= h.Seq
		s.mu.Unlock()
		if done {
			continue
		}
		if err := s.put(ctx, Checkpoint{AccountID: a.ID, Seq: h.Seq, MAC: h.Hash, Reason: reason}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Prune removes, in every account with a retention setting, the records
// older than it, behind a prune checkpoint. A trail that does not verify
// is left alone (pruning must not erase the evidence) and reported.
func (s *Service) Prune(ctx context.Context) error {
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	all, err := s.cps.All(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, acct := range accounts {
		if days := acct.Settings.AuditRetentionDays; days > 0 {
			cutoff := s.now().Add(-time.Duration(days) * 24 * time.Hour)
			if err := s.prune(ctx, acct.ID, s.anchorsOf(all[acct.ID]), cutoff); err != nil {
				errs = append(errs, fmt.Errorf("audit retention of account %s: %w", acct.ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

func (s *Service) prune(ctx context.Context, accountID string, a anchors, cutoff time.Time) error {
	var (
		cut     holdfast.AuditRecord
		old     = true
		newest  holdfast.AuditRecord
		records int64
	)
	rep, err := s.verify(ctx, accountID, a, func(r holdfast.AuditRecord) {
		// Only the leading run of old records goes: a record is cut only
		// when every one before it goes too.
		if old && r.Time.Before(cutoff) {
			cut = r
		} else {
			old = false
		}
		newest = r
		records++
	})
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("not pruned: the trail does not verify at seq %d: %s", rep.Break.Seq, rep.Break.Reason)
	}
	if cut.Seq == newest.Seq {
		// The chain continues from the newest record: keep it.
		cut = holdfast.AuditRecord{}
		if records > 1 {
			recs, err := s.store.ListAudit(ctx, accountID, holdfast.AuditFilter{AfterSeq: newest.Seq - 2, Limit: 1})
			if err != nil {
				return err
			}
			cut = recs[0]
		}
	}
	if cut.Seq == 0 {
		return nil
	}
	c := Checkpoint{AccountID: accountID, Seq: newest.Seq, MAC: newest.Hash, Reason: ReasonPrune,
		BaseSeq: cut.Seq, BaseMAC: cut.Hash, LegacyThrough: a.legacy}
	if err := s.put(ctx, c); err != nil {
		return err
	}
	n, err := s.store.PruneAudit(ctx, accountID, cut.Seq)
	if err != nil {
		return err
	}
	s.log.Info("audit records pruned", "account_id", accountID, "through_seq", cut.Seq, "removed", n)
	return nil
}

// Migrate signs a cut-over checkpoint for every account whose trail is a
// version 1 (unkeyed SHA-256) chain, when the checkpoint store is empty:
// the first start with keyed chains. It must run before anything appends
// to the trail. An account whose trail does not verify as version 1 gets
// no cut-over, and its verification reports it.
func (s *Service) Migrate(ctx context.Context) error {
	all, err := s.cps.All(ctx)
	if err != nil || len(all) > 0 {
		return err
	}
	accounts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	for _, acct := range accounts {
		a := anchors{legacy: math.MaxInt64, macs: map[int64]string{}}
		rep, err := s.verify(ctx, acct.ID, a, nil)
		if err != nil {
			return err
		}
		if rep.LastSeq == 0 {
			continue
		}
		if !rep.OK {
			s.log.Warn("audit trail is not a version 1 chain: no cut-over", "account_id", acct.ID,
				"seq", rep.Break.Seq, "reason", rep.Break.Reason)
			continue
		}
		h, err := s.head(ctx, acct.ID)
		if err != nil {
			return err
		}
		c := Checkpoint{AccountID: acct.ID, Seq: h.Seq, MAC: h.Hash, Reason: ReasonCutover, LegacyThrough: h.Seq}
		if err := s.put(ctx, c); err != nil {
			return err
		}
		s.log.Info("audit trail cut over to keyed chains", "account_id", acct.ID, "legacy_through", h.Seq)
	}
	return nil
}

// Run checkpoints every interval and prunes every pruneEvery, both on the
// service's clock (a holdfast.Schedule: a clock stepped back never makes
// either run early), until ctx ends, then writes a last checkpoint
// (reason shutdown). Failures are logged and retried when next due.
func (s *Service) Run(ctx context.Context, every, pruneEvery time.Duration) {
	poll := s.poll
	if poll <= 0 {
		poll = holdfast.SchedulePoll(min(every, pruneEvery))
	}
	checkpoints := holdfast.Schedule{Clock: s.clock, Every: every}
	retention := holdfast.Schedule{Clock: s.clock, Every: pruneEvery}
	checkpoints.Due() // the first looks start the intervals
	retention.Due()
	tick := time.NewTicker(poll)
	defer tick.Stop()
	s.logErr(ctx, "audit checkpoint", s.Checkpoint(ctx, ReasonInterval))
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			s.logErr(sctx, "audit checkpoint", s.Checkpoint(sctx, ReasonShutdown))
			cancel()
			return
		case <-tick.C:
		}
		if checkpoints.Due() {
			s.logErr(ctx, "audit checkpoint", s.Checkpoint(ctx, ReasonInterval))
		}
		if retention.Due() {
			s.logErr(ctx, "audit retention", s.Prune(ctx))
		}
	}
}

func (s *Service) now() time.Time { return s.clock.Now() }

// nowFunc adapts the deprecated Options.Now to a holdfast.Clock.
type nowFunc func() time.Time

func (f nowFunc) Now() time.Time { return f() }

func (s *Service) logErr(ctx context.Context, msg string, err error) {
	if err != nil && ctx.Err() == nil {
		s.log.Error(msg, "err", err)
	}
}
