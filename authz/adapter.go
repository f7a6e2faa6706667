package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/holdfast/holdfast"
)

// Adapter is a Casbin adapter over the metadata store. It loads the
// catalog's default grants (policies/casbin/policy.csv, read-only) followed
// by the rules the store keeps for custom roles and role edits, and writes
// rule changes through to the store, so every replica sees them.
//
// It implements persist.ContextAdapter; the context-free methods of
// persist.Adapter exist only because Casbin requires them and refuse to work.
type Adapter struct {
	store   holdfast.MetaStore
	builtin string // CSV lines of the catalog's grants
}

var (
	_ persist.ContextAdapter = (*Adapter)(nil)
	_ persist.Adapter        = (*Adapter)(nil)
)

// NewAdapter returns an adapter over store with the catalog grants builtin.
func NewAdapter(store holdfast.MetaStore, builtin string) *Adapter {
	return &Adapter{store: store, builtin: builtin}
}

var errNeedsContext = errors.New("authz: the store adapter needs a context; use the *Ctx methods")

// LoadPolicyCtx loads the builtin grants, then the stored rules.
func (a *Adapter) LoadPolicyCtx(ctx context.Context, m model.Model) error {
	for _, line := range strings.Split(a.builtin, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := persist.LoadPolicyLine(line, m); err != nil {
			return fmt.Errorf("authz: builtin policy line %q: %w", line, err)
		}
	}
	rules, err := a.store.ListPolicyRules(ctx)
	if err != nil {
		return fmt.Errorf("authz: load stored policy: %w", err)
	}
	for _, r := range rules {
		if err := persist.LoadPolicyArray(append([]string{r.PType}, r.V...), m); err != nil {
			return fmt.Errorf("authz: stored policy rule %v: %w", r, err)
		}
	}
	return nil
}

// SavePolicyCtx is refused: rules are written one change at a time, and the
// builtin grants are never stored.
func (a *Adapter) SavePolicyCtx(context.Context, model.Model) error {
	return errors.New("authz: saving the whole policy is not supported")
}

// AddPolicyCtx stores one rule.
func (a *Adapter) AddPolicyCtx(ctx context.Context, _ string, ptype string, rule []string) error {
	return a.store.AddPolicyRules(ctx, []holdfast.PolicyRule{{PType: ptype, V: rule}})
}

// RemovePolicyCtx removes one stored rule.
func (a *Adapter) RemovePolicyCtx(ctx context.Context, _ string, ptype string, rule []string) error {
	return a.store.RemovePolicyRules(ctx, []holdfast.PolicyRule{{PType: ptype, V: rule}})
}

// RemoveFilteredPolicyCtx removes the stored rules matching the filter.
func (a *Adapter) RemoveFilteredPolicyCtx(ctx context.Context, _ string, ptype string, fieldIndex int, fieldValues ...string) error {
	return a.store.RemoveFilteredPolicyRules(ctx, ptype, fieldIndex, fieldValues...)
}

// LoadPolicy implements persist.Adapter; use LoadPolicyCtx.
func (a *Adapter) LoadPolicy(model.Model) error { return errNeedsContext }

// SavePolicy implements persist.Adapter; it is refused.
func (a *Adapter) SavePolicy(model.Model) error { return errNeedsContext }

// AddPolicy implements persist.Adapter; use AddPolicyCtx.
func (a *Adapter) AddPolicy(string, string, []string) error { return errNeedsContext }

// RemovePolicy implements persist.Adapter; use RemovePolicyCtx.
func (a *Adapter) RemovePolicy(string, string, []string) error { return errNeedsContext }

// RemoveFilteredPolicy implements persist.Adapter; use RemoveFilteredPolicyCtx.
func (a *Adapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errNeedsContext
}
