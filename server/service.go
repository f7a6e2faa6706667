package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/holdfast/holdfast"
	chg "github.com/holdfast/holdfast/change"
	"github.com/holdfast/holdfast/directory"
)

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
	return s.changes.Decide(ctx, principal(ctx), c.toCheck())
}

func (c check) toCheck() chg.Check {
	return chg.Check{Right: c.right, Op: c.op, Resource: c.resource}
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
type mutation = chg.Mutation

// apply decides every check of c; a refusal is audited as denied and
// returned, and nothing changes. Then fn runs in one transaction together
// with the success audit record (chg.Runner.Apply). It returns the id
// fn reported.
func (s *Server) apply(ctx context.Context, c change, fn mutation) (string, error) {
	checks := make([]chg.Check, len(c.checks))
	for i, ck := range c.checks {
		checks[i] = ck.toCheck()
	}
	return s.changes.Apply(ctx, principal(ctx), chg.Change{Action: c.action, ResourceType: c.resourceType,
		ResourceID: c.resourceID, Checks: checks}, fn)
}

// meteredAuthorizer counts every decision the engine makes for the server
// and the domain services.
type meteredAuthorizer struct {
	holdfast.Authorizer
	m *metrics
}

func (a meteredAuthorizer) Decide(ctx context.Context, req holdfast.DecisionRequest) (holdfast.Decision, error) {
	d, err := a.Authorizer.Decide(ctx, req)
	if err == nil {
		a.m.decided(d.Allow)
	}
	return d, err
}

// clockFunc adapts the server's clock to holdfast.Clock.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// newID returns prefix followed by 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return prefix + hex.EncodeToString(b[:])
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

// newDirectory is the directory service over the server's change runner
// and the engine's catalog.
func newDirectory(s *Server) *directory.Service {
	var workloads []directory.Workload
	for _, w := range s.engine.Catalog().Workloads {
		workloads = append(workloads, directory.Workload{ID: w.ID, Parent: w.Parent})
	}
	return directory.New(directory.Options{Runner: s.changes, Roles: s.engine, Workloads: workloads})
}
