package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/holdfast/holdfast"
)

// ForgetResult says what Forget did.
type ForgetResult struct {
	// Removed are the snapshots deleted.
	Removed []Snapshot
	// Held are snapshots the policy let go but Forget kept, because their
	// user is on hold or the hold check failed.
	Held []Snapshot
}

// isHeld asks the hold checker; an error means held.
func isHeld(ctx context.Context, holds holdfast.HoldChecker, account, user string) bool {
	hs, err := holds.HoldsFor(ctx, account, user)
	return err != nil || len(hs) > 0
}

// Forget deletes the snapshots matching f that policy does not keep, except
// those of users on hold. The policy applies to each series (same user,
// source and device) separately. Every removal asks holds right before it
// deletes, so a hold placed while Forget runs protects what is left.
// A zero policy (it would keep nothing) or a nil checker is ErrInvalid.
// Forget deletes only snapshot manifests; Prune then collects the chunks.
func (s *Store) Forget(ctx context.Context, f SnapshotFilter, policy holdfast.Retention, holds holdfast.HoldChecker) (ForgetResult, error) {
	var res ForgetResult
	if policy == (holdfast.Retention{}) {
		return res, fmt.Errorf("storage: forget: %w: an empty retention policy would keep nothing", holdfast.ErrInvalid)
	}
	if holds == nil {
		return res, fmt.Errorf("storage: forget: %w: no hold checker", holdfast.ErrInvalid)
	}
	snaps, err := s.Snapshots(ctx, f)
	if err != nil || len(snaps) == 0 {
		return res, err
	}
	a, err := s.account(ctx, f.AccountID, false)
	if err != nil {
		return res, err
	}
	type series struct {
		user, device string
		source       Source
	}
	groups := map[series][]Snapshot{}
	for _, sn := range snaps {
		k := series{sn.UserID, sn.Device, sn.Source}
		groups[k] = append(groups[k], sn)
	}
	now := s.now()
	var errs []error
	for _, group := range groups {
		slices.Reverse(group) // newest first
		keep := keepSet(group, policy, now)
		for i, sn := range group {
			if keep[i] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return res, err
			}
			if isHeld(ctx, holds, sn.AccountID, sn.UserID) {
				res.Held = append(res.Held, sn)
				continue
			}
			if err := s.blobs.Delete(ctx, snapName(a.id, sn.ID)); err != nil {
				errs = append(errs, fmt.Errorf("storage: forget %s: %w", sn.ID, err))
				continue
			}
			a.snapMu.Lock()
			delete(a.snaps, sn.ID)
			a.snapMu.Unlock()
			res.Removed = append(res.Removed, sn)
			if err := s.hook("forget.snapshot-deleted"); err != nil {
				return res, err
			}
		}
	}
	return res, errors.Join(errs...)
}

// keepSet returns which snapshots of one series (newest first) the policy
// keeps: the last KeepLast; the newest of each of the last KeepDaily days,
// KeepWeekly ISO weeks and KeepMonthly months that have snapshots (UTC);
// and every one newer than KeepWithinDays before now.
func keepSet(snaps []Snapshot, p holdfast.Retention, now time.Time) map[int]bool {
	keep := map[int]bool{}
	for i := range min(p.KeepLast, len(snaps)) {
		keep[i] = true
	}
	bucketed := func(n int, bucket func(time.Time) string) {
		seen := map[string]bool{}
		for i, sn := range snaps {
			if len(seen) >= n {
				return
			}
			b := bucket(sn.Time.UTC())
			if !seen[b] {
				seen[b] = true
				keep[i] = true
			}
		}
	}
	bucketed(p.KeepDaily, func(t time.Time) string { return t.Format(time.DateOnly) })
	bucketed(p.KeepWeekly, func(t time.Time) string {
		y, w := t.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	})
	bucketed(p.KeepMonthly, func(t time.Time) string { return t.Format("2006-01") })
	if p.KeepWithinDays > 0 {
		cutoff := now.Add(-time.Duration(p.KeepWithinDays) * 24 * time.Hour)
		for i, sn := range snaps {
			if sn.Time.After(cutoff) {
				keep[i] = true
			}
		}
	}
	return keep
}
