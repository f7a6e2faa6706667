package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/holdfast/holdfast"
)

// DefaultRepeatInterval is how long a firing alert waits before it is
// sent again (Alertmanager's default repeat_interval).
const DefaultRepeatInterval = 4 * time.Hour

// Tick runs one evaluation of every account: each source is looked at,
// alerts fire, repeat and resolve into the history, the history is
// gathered into each subscription's digest, and due deliveries are sent.
// An account's failure is logged and the others go on; Tick returns the
// first error.
func (s *Service) Tick(ctx context.Context) error {
	accts, err := s.store.ListAccounts(ctx)
	if err != nil {
		return err
	}
	var first error
	for _, a := range accts {
		if err := s.tickAccount(ctx, a.ID); err != nil {
			s.log.LogAttrs(ctx, errorLevel, "alert evaluation", attr("account_id", a.ID), attr("error", err.Error()))
			first = cmp(first, err)
		}
	}
	return first
}

func cmp(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

func (s *Service) tickAccount(ctx context.Context, accountID string) error {
	for _, src := range s.sources {
		if err := s.Evaluate(ctx, accountID, src); err != nil {
			return fmt.Errorf("source %s: %w", src.Kind(), err)
		}
	}
	if err := s.Digest(ctx, accountID); err != nil {
		return err
	}
	return s.Deliver(ctx, accountID)
}

// Run evaluates every interval of the service's clock (holdfast.Schedule)
// until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	sched := holdfast.Schedule{Clock: s.clock, Every: every}
	sched.Run(ctx, holdfast.SchedulePoll(every), func(ctx context.Context) { _ = s.Tick(ctx) })
}

// Evaluate looks at one source for one account in one transaction: its
// signals fire (or refresh) their alerts, alerts past their end or
// missing from a complete observation resolve, alerts firing for the
// repeat interval repeat, and the source's cursor moves on. A crash
// leaves either all of it or none.
func (s *Service) Evaluate(ctx context.Context, accountID string, src Source) error {
	now := s.now()
	return s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		name := "source:" + src.Kind()
		cursor, err := tx.GetAlertCursor(ctx, accountID, name)
		if err != nil {
			return err
		}
		obs, next, err := src.Observe(ctx, Query{AccountID: accountID, Now: now, Store: tx, Cursor: cursor})
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		for _, sig := range obs.Signals {
			seen[sig.ObjectType+"\x00"+sig.ObjectID] = true
			if err := s.fire(ctx, tx, accountID, src.Kind(), sig, now); err != nil {
				return err
			}
		}
		if err := s.sweep(ctx, tx, accountID, src.Kind(), now, func(a holdfast.Alert) bool {
			return obs.Complete && !seen[a.ObjectType+"\x00"+a.ObjectID]
		}); err != nil {
			return err
		}
		if next != cursor {
			return tx.PutAlertCursor(ctx, accountID, name, next)
		}
		return nil
	})
}

// fire raises the alert of sig, or refreshes it when it already fires
// (the dedup: no new event until it repeats or resolves).
func (s *Service) fire(ctx context.Context, tx holdfast.MetaStore, accountID, kind string, sig Signal, now time.Time) error {
	detail, err := json.Marshal(sig.Detail)
	if err != nil {
		return err
	}
	a, err := tx.GetAlertByKey(ctx, accountID, kind, sig.ObjectType, sig.ObjectID)
	switch {
	case errors.Is(err, holdfast.ErrNotFound):
		a = holdfast.Alert{AccountID: accountID, Kind: kind, ObjectType: sig.ObjectType, ObjectID: sig.ObjectID}
	case err != nil:
		return err
	}
	firing := a.State == holdfast.AlertStateFiring
	a.Summary, a.Detail, a.EndsAt, a.UpdatedAt = sig.Summary, detail, sig.EndsAt, now
	if firing {
		a.Count++
		return tx.PutAlert(ctx, &a)
	}
	a.State, a.Count, a.StartsAt, a.NotifiedAt, a.ResolvedAt = holdfast.AlertStateFiring, 1, now, now, nil
	if err := tx.PutAlert(ctx, &a); err != nil {
		return err
	}
	return appendEvent(ctx, tx, a, holdfast.AlertStateFiring, now)
}

// sweep walks the kind's firing alerts: those gone (per gone) or past
// their end resolve; those notified a repeat interval ago repeat.
func (s *Service) sweep(ctx context.Context, tx holdfast.MetaStore, accountID, kind string, now time.Time, gone func(holdfast.Alert) bool) error {
	var due []holdfast.Alert
	page := holdfast.Page{Limit: holdfast.MaxPageSize}
	for {
		got, err := tx.PageAlerts(ctx, accountID, holdfast.AlertFilter{Kind: kind, State: holdfast.AlertStateFiring}, page)
		if err != nil {
			return err
		}
		for _, a := range got.Items {
			if gone(a) || (a.EndsAt != nil && !now.Before(*a.EndsAt)) || now.Sub(a.NotifiedAt) >= s.repeat {
				due = append(due, a)
			}
		}
		if got.Next == "" {
			break
		}
		page.Cursor = got.Next
	}
	for _, a := range due {
		status := holdfast.AlertEventRepeat
		if gone(a) || (a.EndsAt != nil && !now.Before(*a.EndsAt)) {
			status, a.State, a.ResolvedAt = holdfast.AlertStateResolved, holdfast.AlertStateResolved, &now
		} else {
			a.NotifiedAt = now
		}
		a.UpdatedAt = now
		if err := tx.PutAlert(ctx, &a); err != nil {
			return err
		}
		if err := appendEvent(ctx, tx, a, status, now); err != nil {
			return err
		}
	}
	return nil
}

func appendEvent(ctx context.Context, tx holdfast.MetaStore, a holdfast.Alert, status string, now time.Time) error {
	e := holdfast.AlertEvent{AccountID: a.AccountID, AlertID: a.ID, Kind: a.Kind, ObjectType: a.ObjectType,
		ObjectID: a.ObjectID, Status: status, Summary: a.Summary, Detail: a.Detail, Time: now}
	return tx.AppendAlertEvent(ctx, &e)
}
