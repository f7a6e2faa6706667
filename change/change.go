// Package change runs the writes of the domain services the one way every
// change must run: the engine decides each check first (a refusal is
// audited as denied and changes nothing), then the mutation and its
// success audit record share one metadata transaction, so a change whose
// record cannot be written is not made (audit-or-refuse, 503).
//
// The domain services (legalhold, snapshots, ...) and the server's own
// handlers use one Runner, so there is one implementation of the rule.
package change

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/holdfast/holdfast"
)

// auditTimeout bounds the write of an audit record for a refused change,
// which must land even when the client has gone.
const auditTimeout = 5 * time.Second

// Check is one question to the engine: may the principal use Right on
// Resource? Op is the action's "operation" property ("" for none).
type Check struct {
	Right    string
	Op       string
	Resource holdfast.Entity
}

// Change is a write the engine must allow first: every check must pass.
// Its audit record names Action, ResourceType and the changed resource
// (ResourceID, or the id the mutation reports for a new one).
type Change struct {
	Action       string
	ResourceType string
	ResourceID   string
	Checks       []Check
}

// Mutation runs inside the change's transaction. It returns the id of the
// resource it changed (for a new one) and the audit detail, which must
// never hold a secret.
type Mutation func(tx holdfast.MetaStore) (id string, detail any, err error)

// Options configure a Runner.
type Options struct {
	Store      holdfast.MetaStore  // required
	Authorizer holdfast.Authorizer // required
	Clock      holdfast.Clock      // nil: the system clock
	Logger     *slog.Logger        // nil discards
	// RequestID returns the request id carried by ctx, for the audit
	// record; nil records none.
	RequestID func(ctx context.Context) string
}

// Runner decides, audits and applies changes. It is safe for concurrent
// use.
type Runner struct {
	store     holdfast.MetaStore
	authz     holdfast.Authorizer
	clock     holdfast.Clock
	log       *slog.Logger
	requestID func(context.Context) string
}

// New returns a Runner over opts.
func New(opts Options) *Runner {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rid := opts.RequestID
	if rid == nil {
		rid = func(context.Context) string { return "" }
	}
	return &Runner{store: opts.Store, authz: opts.Authorizer, clock: holdfast.ClockOrSystem(opts.Clock), log: log, requestID: rid}
}

// Store is the metadata store the Runner writes to.
func (r *Runner) Store() holdfast.MetaStore { return r.store }

// Now is the Runner's clock at the stores' precision (UTC microseconds).
func (r *Runner) Now() time.Time { return r.clock.Now().UTC().Truncate(time.Microsecond) }

// Decide asks the engine whether p may perform c. A refusal is a
// *holdfast.DeniedError carrying the decision; an engine failure a plain
// error (the engine could not decide, so nothing is allowed).
func (r *Runner) Decide(ctx context.Context, p holdfast.Principal, c Check) (holdfast.Decision, error) {
	req := holdfast.DecisionRequest{
		AccountID: p.AccountID,
		Subject:   holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: p.AdminID},
		Action:    holdfast.Action{Name: c.Right},
		Resource:  c.Resource,
	}
	if c.Op != "" {
		req.Action.Properties = map[string]any{"operation": c.Op}
	}
	d, err := r.authz.Decide(ctx, req)
	if err != nil {
		return d, fmt.Errorf("decide %s on %s %q: %w", c.Right, c.Resource.Type, c.Resource.ID, err)
	}
	if !d.Allow {
		return d, &holdfast.DeniedError{Decision: d}
	}
	return d, nil
}

// Allowed reports whether the engine allows c; a refusal is (false, nil).
func (r *Runner) Allowed(ctx context.Context, p holdfast.Principal, c Check) (bool, error) {
	_, err := r.Decide(ctx, p, c)
	if IsDenied(err) {
		return false, nil
	}
	return err == nil, err
}

// AnyOf decides c under each right in turn and returns nil at the first
// allowed one; without any it returns the first refusal.
func (r *Runner) AnyOf(ctx context.Context, p holdfast.Principal, resource holdfast.Entity, rights ...string) error {
	var first error
	for _, right := range rights {
		_, err := r.Decide(ctx, p, Check{Right: right, Resource: resource})
		if err == nil {
			return nil
		}
		if !IsDenied(err) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// IsDenied reports whether err is a refusal by the engine.
func IsDenied(err error) bool {
	var denied *holdfast.DeniedError
	return errors.As(err, &denied)
}

// Apply decides every check of c for p; a refusal is audited as denied
// and returned, and nothing changes. Then fn runs in one transaction
// together with the success audit record; a record that cannot be written
// rolls fn back (ErrUnavailable). It returns the id fn reported.
func (r *Runner) Apply(ctx context.Context, p holdfast.Principal, c Change, fn Mutation) (string, error) {
	var first holdfast.Decision
	for i, ck := range c.Checks {
		d, err := r.Decide(ctx, p, ck)
		if IsDenied(err) {
			r.auditDenied(ctx, p, c, d)
		}
		if err != nil {
			return "", HeldRefusal(err)
		}
		if i == 0 {
			first = d
		}
	}
	var id string
	err := r.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		var (
			detail any
			err    error
		)
		if id, detail, err = fn(tx); err != nil {
			return err
		}
		if id == "" {
			id = c.ResourceID
		}
		return r.Append(ctx, tx, p, Record{Action: c.Action, ResourceType: c.ResourceType, ResourceID: id,
			Decision: first, Outcome: holdfast.OutcomeSuccess, Detail: detail})
	})
	return id, err
}

// Record is what an audit record says besides who and when.
type Record struct {
	Action       string
	ResourceType string
	ResourceID   string
	Decision     holdfast.Decision
	Outcome      string
	Detail       any
}

// Append writes rec, made by p, through tx (the change's transaction). A
// record that cannot be written is logged and returned as ErrUnavailable
// without the driver's detail, so the caller's change is refused.
func (r *Runner) Append(ctx context.Context, tx holdfast.MetaStore, p holdfast.Principal, rec Record) error {
	ar, err := r.NewRecord(ctx, p, rec)
	if err != nil {
		return err
	}
	if err := tx.AppendAudit(ctx, &ar); err != nil {
		return r.Unwritable(ctx, rec.Action, err)
	}
	return nil
}

// Unwritable logs why the audit record of action could not be written and
// returns the error the caller answers with: the change is refused, 503,
// and the message says so without the driver's detail.
func (r *Runner) Unwritable(ctx context.Context, action string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	r.log.LogAttrs(ctx, slog.LevelError, "audit record not written; change refused",
		slog.String("request_id", r.requestID(ctx)), slog.String("action", action), slog.String("error", err.Error()))
	return fmt.Errorf("%w: the audit trail cannot be written, so nothing was changed", holdfast.ErrUnavailable)
}

// Log records rec outside any transaction, for operations already done
// (a download) or refused; a record that cannot be written is logged.
func (r *Runner) Log(ctx context.Context, p holdfast.Principal, rec Record) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	ar, err := r.NewRecord(ctx, p, rec)
	if err == nil {
		err = r.store.AppendAudit(ctx, &ar)
	}
	if err != nil {
		r.log.LogAttrs(ctx, slog.LevelError, "audit record not written",
			slog.String("request_id", r.requestID(ctx)), slog.String("action", rec.Action),
			slog.String("outcome", rec.Outcome), slog.String("error", err.Error()))
	}
}

// auditDenied records a refused change outside any transaction; the
// refusal stands even when the record cannot be written (it is logged).
func (r *Runner) auditDenied(ctx context.Context, p holdfast.Principal, c Change, d holdfast.Decision) {
	r.Log(ctx, p, Record{Action: c.Action, ResourceType: c.ResourceType, ResourceID: c.ResourceID,
		Decision: d, Outcome: holdfast.OutcomeDenied, Detail: map[string]any{"reasons": d.Reasons}})
}

// NewRecord builds the audit record of rec made by p, at the Runner's
// clock, with the request id of ctx.
func (r *Runner) NewRecord(ctx context.Context, p holdfast.Principal, rec Record) (holdfast.AuditRecord, error) {
	ar := holdfast.AuditRecord{
		AccountID:    p.AccountID,
		Time:         r.Now(),
		ActorID:      p.AdminID,
		ActorEmail:   p.Email,
		Action:       rec.Action,
		ResourceType: rec.ResourceType,
		ResourceID:   rec.ResourceID,
		DecisionID:   rec.Decision.ID,
		Outcome:      rec.Outcome,
		RequestID:    r.requestID(ctx),
	}
	if rec.Detail != nil {
		b, err := json.Marshal(rec.Detail)
		if err != nil {
			return ar, fmt.Errorf("audit detail of %s: %w", rec.Action, err)
		}
		ar.Detail = b
	}
	return ar, nil
}

// HeldRefusal turns a refusal whose only reason is a legal hold into
// ErrHeld (409 naming the hold): the data is kept because of the hold, not
// because the caller lacks a right.
func HeldRefusal(err error) error {
	var denied *holdfast.DeniedError
	if !errors.As(err, &denied) || len(denied.Decision.Rules) == 0 {
		return err
	}
	for _, rule := range denied.Decision.Rules {
		if rule != "legalhold.on_hold" {
			return err
		}
	}
	return fmt.Errorf("%w: %s", holdfast.ErrHeld, denied.Error())
}
