package authz

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// grantTable is the Casbin enforcer loaded at one policy revision. It is
// never modified after loading; a new revision builds a new table.
type grantTable struct {
	rev int64
	mu  sync.Mutex // guards e (Casbin's Enforcer is not safe for concurrent use) and rights
	e   *casbin.Enforcer
	// bySubject indexes the loaded p rows by subject, so answering for one
	// role does not scan the rows of every custom role of every account.
	bySubject map[string][][]string
	// rights caches rightsFor answers by subject and domain.
	rights map[[2]string][]string
}

// loadGrants builds the enforcer from the catalog's model and the adapter.
func loadGrants(ctx context.Context, modelText string, a *Adapter, rev int64) (*grantTable, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("authz: casbin model: %w", err)
	}
	if err := a.LoadPolicyCtx(ctx, m); err != nil {
		return nil, err
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("authz: casbin enforcer: %w", err)
	}
	if err := e.BuildRoleLinks(); err != nil {
		return nil, fmt.Errorf("authz: casbin role links: %w", err)
	}
	rows, err := e.GetPolicy()
	if err != nil {
		return nil, fmt.Errorf("authz: casbin policy: %w", err)
	}
	by := make(map[string][][]string)
	for _, row := range rows {
		if len(row) == 3 {
			by[row[0]] = append(by[row[0]], row)
		}
	}
	return &grantTable{rev: rev, e: e, bySubject: by, rights: make(map[[2]string][]string)}, nil
}

// rightsFor returns the rights Casbin grants subject (a role's Casbin
// subject) in the account domain, inherited ones included, sorted.
func (g *grantTable) rightsFor(subject, domain string) ([]string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := [2]string{subject, domain}
	if r, ok := g.rights[key]; ok {
		return r, nil
	}
	roles, err := g.e.GetImplicitRolesForUser(subject)
	if err != nil {
		return nil, fmt.Errorf("authz: roles of %s: %w", subject, err)
	}
	var rights []string
	for _, s := range append([]string{subject}, roles...) {
		for _, row := range g.bySubject[s] {
			if row[1] == "*" || row[1] == domain {
				rights = append(rights, row[2])
			}
		}
	}
	slices.Sort(rights)
	rights = slices.Compact(rights)
	g.rights[key] = rights
	return rights, nil
}
