package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
	"github.com/holdfast/holdfast/idp"
)

// Signal is one condition a source sees about one object: the alert of
// (Kind, ObjectType, ObjectID) fires, or keeps firing.
type Signal struct {
	ObjectType string
	ObjectID   string
	Summary    string
	Detail     map[string]any
	// EndsAt, when set, resolves the alert at that time unless the
	// condition is seen again (an event that ends by itself).
	EndsAt *time.Time
}

// Observation is what one look of a source found.
type Observation struct {
	Signals []Signal
	// Complete says Signals are every object in the condition now: a
	// firing alert of the kind not among them resolves. A source that
	// reads events (audit records since its cursor) is not complete; its
	// alerts resolve by EndsAt.
	Complete bool
}

// Query is what a source looks at: one account, now, through the store
// (inside the evaluation's transaction), from its cursor.
type Query struct {
	AccountID string
	Now       time.Time
	Store     holdfast.MetaStore
	// Cursor is the source's own position (for example the last audit
	// record it read); it returns the new one.
	Cursor int64
}

// Source observes one alert kind. New signal sources (backup status,
// quotas, decommissioned devices) implement it and are passed in
// Options.Sources; the engine needs no change. Observe must not write.
type Source interface {
	Kind() string
	Observe(ctx context.Context, q Query) (Observation, int64, error)
}

// auditBatch bounds the audit records one look reads; the rest wait for
// the next evaluation.
const auditBatch = 1000

// AuditSource turns audit records, read after its cursor, into signals:
// Match returns the signal of a record and whether it is one.
type AuditSource struct {
	AlertKind string
	Match     func(ctx context.Context, q Query, r holdfast.AuditRecord) (Signal, bool, error)
}

// Kind is the source's alert kind.
func (a AuditSource) Kind() string { return a.AlertKind }

// Observe reads at most auditBatch records after its position. Its cursor
// is the position plus one, so 0 is the first look, which starts at the
// newest record: the past is not news.
func (a AuditSource) Observe(ctx context.Context, q Query) (Observation, int64, error) {
	var obs Observation
	if q.Cursor == 0 {
		last, err := q.Store.ListAudit(ctx, q.AccountID, holdfast.AuditFilter{Newest: true, Limit: 1})
		if err != nil || len(last) == 0 {
			return obs, 1, err
		}
		return obs, last[0].Seq + 1, nil
	}
	recs, err := q.Store.ListAudit(ctx, q.AccountID, holdfast.AuditFilter{AfterSeq: q.Cursor - 1, Limit: auditBatch})
	if err != nil {
		return obs, q.Cursor, err
	}
	cursor := q.Cursor
	for _, r := range recs {
		cursor = r.Seq + 1
		sig, ok, err := a.Match(ctx, q, r)
		if err != nil {
			return obs, q.Cursor, err
		}
		if ok {
			obs.Signals = append(obs.Signals, sig)
		}
	}
	return obs, cursor, nil
}

// EventWindow is how long an event alert (a legal hold change) stays
// firing after its last occurrence, unless configured otherwise.
const EventWindow = 24 * time.Hour

// auditEvent is an event kind read from the audit trail: each successful
// record about objectType whose action is one of the kind's fires the
// object's alert, which resolves window after its last occurrence.
func auditEvent(kind, objectType string, isAction func(string) bool, window time.Duration) Source {
	return AuditSource{AlertKind: kind, Match: func(_ context.Context, _ Query, r holdfast.AuditRecord) (Signal, bool, error) {
		if r.ResourceType != objectType || r.Outcome != holdfast.OutcomeSuccess || !isAction(r.Action) || r.ResourceID == "" {
			return Signal{}, false, nil
		}
		var detail map[string]any
		_ = json.Unmarshal(r.Detail, &detail) // a record without detail has none
		ends := r.Time.Add(window)
		return Signal{ObjectType: objectType, ObjectID: r.ResourceID,
			Summary: objectType + " " + r.ResourceID + ": " + r.Action + " by " + actor(r),
			Detail: map[string]any{"action": r.Action, "actor_email": r.ActorEmail, "audit_seq": r.Seq, "at": r.Time,
				"change": detail},
			EndsAt: &ends}, true, nil
	}}
}

// LegalHoldChanged fires on every successful change of a legal hold (its
// settings, custodians or WebDAV access, its creation and deletion), read
// from the audit trail; the alert resolves window after the last change.
func LegalHoldChanged(window time.Duration) Source {
	return auditEvent(holdfast.AlertLegalHoldChanged, holdfast.ResourceLegalHold,
		func(a string) bool { return strings.HasPrefix(a, "legal_hold.") }, window)
}

// DeviceDecommissioned fires when a device is decommissioned (with or
// without a remote wipe), read from the audit trail; the alert resolves
// window later.
func DeviceDecommissioned(window time.Duration) Source {
	return auditEvent(holdfast.AlertDeviceDecommissioned, holdfast.ResourceDevice,
		func(a string) bool { return a == "device.decommission" }, window)
}

func actor(r holdfast.AuditRecord) string {
	if r.ActorEmail == "" {
		return "the system"
	}
	return r.ActorEmail
}

// AdministratorLockedOut fires when a sign-in record says the
// administrator is locked out (the attempt that locked them, or one made
// while locked) and resolves when the lockout ends, as their credentials
// say.
func AdministratorLockedOut() Source {
	return AuditSource{AlertKind: holdfast.AlertAdministratorLocked, Match: matchLockout}
}

func matchLockout(ctx context.Context, q Query, r holdfast.AuditRecord) (Signal, bool, error) {
	if r.Action != "auth.sign_in" || r.Outcome != holdfast.OutcomeFailed || r.ResourceID == "" {
		return Signal{}, false, nil
	}
	var d struct {
		Reason string `json:"reason"`
		Method string `json:"method"`
	}
	if json.Unmarshal(r.Detail, &d) != nil || (d.Reason != "locked" && !strings.HasSuffix(d.Reason, ", locked")) {
		return Signal{}, false, nil
	}
	creds, err := q.Store.GetCredentials(ctx, q.AccountID, r.ResourceID)
	if errors.Is(err, holdfast.ErrNotFound) {
		return Signal{}, false, nil
	}
	if err != nil {
		return Signal{}, false, err
	}
	ends := r.Time.Add(idp.LockoutDuration)
	if creds.LockedUntil != nil {
		ends = *creds.LockedUntil
	}
	return Signal{ObjectType: holdfast.ResourceAdministrator, ObjectID: r.ResourceID,
		Summary: "administrator " + r.ActorEmail + " is locked out until " + ends.UTC().Format(time.RFC3339),
		Detail:  map[string]any{"email": r.ActorEmail, "method": d.Method, "locked_until": ends, "audit_seq": r.Seq},
		EndsAt:  &ends}, true, nil
}

// DefaultSources are the sources whose data exists today.
func DefaultSources() []Source {
	return []Source{LegalHoldChanged(EventWindow), DeviceDecommissioned(EventWindow), AdministratorLockedOut()}
}
