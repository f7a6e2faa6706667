package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/holdfast/holdfast"
)

// auditTimeout bounds the write of an audit record for a refused change,
// which must land even when the client has gone.
const auditTimeout = 5 * time.Second

// check is one question to the engine: may the caller do right to resource?
type check struct {
	right    string
	op       string // action property "operation" (roles.manage), "" for none
	resource holdfast.Entity
}

// decide asks the engine whether the caller in ctx may perform c. A
// refusal is returned as a *holdfast.DeniedError with the decision; an
// engine failure as a plain error (500: the engine could not decide, so
// nothing is allowed).
func (s *Server) decide(ctx context.Context, c check) (holdfast.Decision, error) {
	p := principal(ctx)
	req := holdfast.DecisionRequest{
		AccountID: p.AccountID,
		Subject:   holdfast.Entity{Type: holdfast.PrincipalAdmin, ID: p.AdminID},
		Action:    holdfast.Action{Name: c.right},
		Resource:  c.resource,
	}
	if c.op != "" {
		req.Action.Properties = map[string]any{"operation": c.op}
	}
	d, err := s.engine.Decide(ctx, req)
	if err != nil {
		return d, fmt.Errorf("decide %s on %s %q: %w", c.right, c.resource.Type, c.resource.ID, err)
	}
	s.metrics.decided(d.Allow)
	if !d.Allow {
		return d, &holdfast.DeniedError{Decision: d}
	}
	return d, nil
}

// allowed reports whether the engine allows c; a refusal is (false, nil).
func (s *Server) allowed(ctx context.Context, c check) (bool, error) {
	_, err := s.decide(ctx, c)
	if isDenied(err) {
		return false, nil
	}
	return err == nil, err
}

// isDenied reports whether err is a refusal by the engine.
func isDenied(err error) bool {
	var denied *holdfast.DeniedError
	return errors.As(err, &denied)
}

// change is a write the engine must allow first: every check must pass.
// The audit record names action, resourceType and the changed resource.
type change struct {
	action       string // audit action, e.g. "administrator.create"
	resourceType string
	resourceID   string // "" when the resource is being created
	checks       []check
}

// mutation runs inside the change's transaction. It returns the id of the
// resource it changed (for a new one) and the audit detail, which must
// never hold a secret.
type mutation func(tx holdfast.MetaStore) (id string, detail any, err error)

// apply decides every check of c; a refusal is audited as denied and
// returned, and nothing changes. Then fn runs in one transaction together
// with the success audit record. It returns the id fn reported.
func (s *Server) apply(ctx context.Context, c change, fn mutation) (string, error) {
	var first holdfast.Decision
	for i, ck := range c.checks {
		d, err := s.decide(ctx, ck)
		if isDenied(err) {
			s.auditDenied(ctx, c, d)
		}
		if err != nil {
			return "", heldRefusal(err)
		}
		if i == 0 {
			first = d
		}
	}
	var id string
	err := s.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		var (
			detail any
			err    error
		)
		if id, detail, err = fn(tx); err != nil {
			return err
		}
		if id == "" {
			id = c.resourceID
		}
		rec, err := s.auditRecord(ctx, c, id, first, holdfast.OutcomeSuccess, detail)
		if err != nil {
			return err
		}
		if err := tx.AppendAudit(ctx, &rec); err != nil {
			return s.auditUnwritable(ctx, c.action, err)
		}
		return nil
	})
	return id, err
}

// auditUnwritable logs why the audit record of action could not be
// written and returns the error the caller answers with: the change is
// refused (its transaction rolls back), 503, and the message says so
// without the driver's detail.
func (s *Server) auditUnwritable(ctx context.Context, action string, err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	s.log.LogAttrs(ctx, slog.LevelError, "audit record not written; change refused",
		slog.String("request_id", requestIDFrom(ctx)), slog.String("action", action), slog.String("error", err.Error()))
	return fmt.Errorf("%w: the audit trail cannot be written, so nothing was changed", holdfast.ErrUnavailable)
}

// auditDenied records a refused change outside any transaction; the
// refusal stands even when the record cannot be written (it is logged).
func (s *Server) auditDenied(ctx context.Context, c change, d holdfast.Decision) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	rec, err := s.auditRecord(ctx, c, c.resourceID, d, holdfast.OutcomeDenied, map[string]any{"reasons": d.Reasons})
	if err == nil {
		err = s.store.AppendAudit(ctx, &rec)
	}
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "audit denied change",
			slog.String("request_id", requestIDFrom(ctx)), slog.String("action", c.action),
			slog.String("error", err.Error()))
	}
}

// auditRecord builds the audit record of c made by the caller in ctx.
func (s *Server) auditRecord(ctx context.Context, c change, id string, d holdfast.Decision, outcome string, detail any) (holdfast.AuditRecord, error) {
	p := principal(ctx)
	rec := holdfast.AuditRecord{
		AccountID:    p.AccountID,
		Time:         s.now().UTC().Truncate(time.Microsecond),
		ActorID:      p.AdminID,
		ActorEmail:   p.Email,
		Action:       c.action,
		ResourceType: c.resourceType,
		ResourceID:   id,
		DecisionID:   d.ID,
		Outcome:      outcome,
		RequestID:    requestIDFrom(ctx),
	}
	if detail != nil {
		b, err := json.Marshal(detail)
		if err != nil {
			return rec, fmt.Errorf("audit detail of %s: %w", c.action, err)
		}
		rec.Detail = b
	}
	return rec, nil
}

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b[:])
}

// Paging limits of list endpoints.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// pageParams reads ?limit= (1 to maxLimit, default defaultLimit) and
// ?offset= (0 or more).
func pageParams(q url.Values) (limit, offset int, err error) {
	limit, offset = defaultLimit, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return 0, 0, fmt.Errorf("%w: limit must be a whole number from 1 to %d", errBadRequest, maxLimit)
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("%w: offset must be a whole number, 0 or more", errBadRequest)
		}
		offset = n
	}
	return limit, offset, nil
}

// boolParam reads a true/false query parameter; absent is false.
func boolParam(q url.Values, name string) (bool, error) {
	v := q.Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%w: %s must be true or false", errBadRequest, name)
	}
	return b, nil
}

// accountEntity is the caller's account as a decision resource, for
// questions about a collection rather than one item.
func accountEntity(ctx context.Context) holdfast.Entity {
	return holdfast.Entity{Type: holdfast.ResourceAccount, ID: principal(ctx).AccountID}
}

// noContent writes 204.
func noContent(w http.ResponseWriter) error {
	w.WriteHeader(http.StatusNoContent)
	return nil
}
