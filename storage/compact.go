package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/holdfast/holdfast"
)

// RetentionFunc returns the retention policy for a user's snapshots (the
// policy of the user's profile). A zero policy keeps everything; an error
// keeps everything of that user for this run.
type RetentionFunc func(ctx context.Context, accountID, userID string) (holdfast.Retention, error)

// CompactResult says what one compaction run did.
type CompactResult struct {
	Forgotten int // snapshots removed by retention
	Held      int // snapshots retention let go but a hold kept
	Skipped   int // users whose policy could not be read (kept whole)
	Prune     PruneResult
}

// Compact is the retention and compaction job: for every account and user
// with snapshots it applies the user's retention policy (Forget, which
// asks holds before each removal and keeps what a hold covers or a failed
// hold check might cover), then collects unreferenced chunks and rewrites
// sparse packs (Prune). It never deletes data of a held user. A failure
// for one user or account does not stop the others; the errors are joined.
func (s *Store) Compact(ctx context.Context, retention RetentionFunc, holds holdfast.HoldChecker) (CompactResult, error) {
	var res CompactResult
	if retention == nil || holds == nil {
		return res, fmt.Errorf("storage: compact: %w: a retention source and a hold checker are required", holdfast.ErrInvalid)
	}
	accounts, err := s.Accounts(ctx)
	if err != nil {
		return res, err
	}
	var errs []error
	for _, acct := range accounts {
		snaps, err := s.Snapshots(ctx, SnapshotFilter{AccountID: acct})
		if err != nil {
			errs = append(errs, fmt.Errorf("storage: compact %s: %w", acct, err))
			continue
		}
		users := map[string]bool{}
		for _, sn := range snaps {
			if users[sn.UserID] {
				continue
			}
			users[sn.UserID] = true
			if err := ctx.Err(); err != nil {
				return res, err
			}
			policy, err := retention(ctx, acct, sn.UserID)
			if err != nil {
				res.Skipped++
				continue
			}
			if policy == (holdfast.Retention{}) {
				continue
			}
			fr, err := s.Forget(ctx, SnapshotFilter{AccountID: acct, UserID: sn.UserID}, policy, holds)
			res.Forgotten += len(fr.Removed)
			res.Held += len(fr.Held)
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	pr, err := s.Prune(ctx, holds)
	res.Prune = pr
	if err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// HoldsReader is the part of the metadata store that knows holds.
type HoldsReader interface {
	HoldsForUser(ctx context.Context, accountID, userID string) ([]holdfast.LegalHold, error)
}

// MetaHolds is the hold checker backed by the metadata store's custodian
// records: a user is held while on any legal hold. The legal-hold service
// replaces it with one that knows hold scopes and date ranges.
type MetaHolds struct {
	Store HoldsReader
}

// HoldsFor implements holdfast.HoldChecker.
func (m MetaHolds) HoldsFor(ctx context.Context, accountID, userID string) ([]holdfast.LegalHold, error) {
	return m.Store.HoldsForUser(ctx, accountID, userID)
}

// RunCompaction runs Compact each time interval has passed on the store's
// clock (a holdfast.Schedule: a clock stepped back never makes it run
// early) until ctx ends, calling report with each run's result. It is what
// `holdfast serve` starts.
func (s *Store) RunCompaction(ctx context.Context, interval time.Duration, retention RetentionFunc, holds holdfast.HoldChecker, report func(CompactResult, error)) {
	poll := s.schedulePoll
	if poll <= 0 {
		poll = holdfast.SchedulePoll(interval)
	}
	sched := holdfast.Schedule{Clock: s.opts.Clock, Every: interval}
	sched.Run(ctx, poll, func(ctx context.Context) {
		res, err := s.Compact(ctx, retention, holds)
		if ctx.Err() == nil {
			report(res, err)
		}
	})
}
