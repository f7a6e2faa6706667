package authz

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/holdfast/holdfast"
)

// BundleQuery is the document stock OPA evaluates on an exported bundle:
// it takes a raw AuthZEN request as input and resolves it from the bundle's
// account data.
const BundleQuery = "data.holdfast.bundle.decision"

// WriteBundle writes an OPA bundle (gzipped tar) for one account: the
// production policies, the catalog at data.holdfast.catalog and the
// account's data at data.holdfast.account, with each role's effective
// rights as Casbin answers them. Stock OPA gives, at BundleQuery, the
// decisions the engine gives.
func (e *Engine) WriteBundle(ctx context.Context, accountID string, w io.Writer) error {
	g, err := e.currentGrants(ctx)
	if err != nil {
		return err
	}
	data, rev, err := e.accountData(ctx, g, accountID)
	if err != nil {
		return err
	}
	manifest := map[string]any{
		"revision":     fmt.Sprintf("%s.p%d.d%d", e.policyHash, g.rev, rev),
		"roots":        []string{"holdfast"},
		"rego_version": 1,
		"metadata":     map[string]any{"account": accountID, "generated_at": time.Now().UTC().Format(time.RFC3339)},
	}
	files := []bundleFile{}
	add := func(name string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("authz: bundle %s: %w", name, err)
		}
		files = append(files, bundleFile{name, b})
		return nil
	}
	if err := add(".manifest", manifest); err != nil {
		return err
	}
	if err := add("holdfast/catalog/data.json", e.cat.RegoData()); err != nil {
		return err
	}
	if err := add("holdfast/account/data.json", data); err != nil {
		return err
	}
	for _, name := range sortedKeys(e.modules) {
		files = append(files, bundleFile{"policies/" + strings.TrimPrefix(name, "/"), []byte(e.modules[name])})
	}
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		hdr := &tar.Header{Name: "/" + f.name, Mode: 0o644, Size: int64(len(f.data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("authz: bundle: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return fmt.Errorf("authz: bundle: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("authz: bundle: %w", err)
	}
	return gz.Close()
}

type bundleFile struct {
	name string
	data []byte
}

// accountData resolves, with the engine's own attribute builders
// (attrs.go), every subject and resource of the account a request can
// name, keyed by id, for the bundle: policies/bundle.rego only looks them
// up. Document: policies/README.md ("The exported bundle").
func (e *Engine) accountData(ctx context.Context, g *grantTable, accountID string) (map[string]any, int64, error) {
	var (
		out = map[string]any{}
		rev int64
	)
	err := e.store.Tx(ctx, func(tx holdfast.MetaStore) error {
		acct, err := tx.GetAccount(ctx, accountID)
		if err != nil {
			return err
		}
		if rev, err = tx.Revision(ctx, accountID); err != nil {
			return err
		}
		out["account"] = accountAttrs(acct)
		r := exporter{resolver{store: tx, cat: e.cat, g: g}, tx}
		roles, err := r.accountRoles(ctx, accountID)
		if err != nil {
			return err
		}
		if err := r.adminData(ctx, accountID, roles, out); err != nil {
			return err
		}
		return r.memberData(ctx, accountID, out)
	})
	return out, rev, err
}

// exporter resolves a whole account inside one store transaction.
type exporter struct {
	resolver
	tx holdfast.MetaStore
}

// accountRoles resolves every role of the account by id: the catalog's
// (with the account's edits) and its custom roles.
func (r exporter) accountRoles(ctx context.Context, accountID string) (map[string]roleInfo, error) {
	roles := map[string]roleInfo{}
	for _, cr := range r.cat.RoleList() {
		if cr.ID == customRoleID {
			continue
		}
		ri, err := r.role(ctx, accountID, cr.ID)
		if err != nil {
			return nil, err
		}
		roles[cr.ID] = ri
	}
	stored, err := r.tx.ListRoles(ctx, accountID)
	if err != nil {
		return nil, err
	}
	for _, s := range stored {
		if s.OverrideOf != "" {
			continue
		}
		ri, err := r.role(ctx, accountID, s.ID)
		if err != nil {
			return nil, err
		}
		roles[s.ID] = ri
	}
	return roles, nil
}

// adminData fills the administrators as subjects and as resources, the
// roles as resources, and what an administrator created with each role
// would be.
func (r exporter) adminData(ctx context.Context, accountID string, roles map[string]roleInfo, out map[string]any) error {
	admins, err := r.tx.ListAdmins(ctx, accountID, holdfast.AdminFilter{})
	if err != nil {
		return err
	}
	holders := map[string]int{}
	for _, a := range admins {
		holders[a.RoleID]++
	}
	roleObjects, roleTargets, assignments := map[string]any{}, map[string]any{}, map[string]any{}
	for id, ri := range roles {
		roleObjects[id] = ri.object()
		roleTargets[id] = roleTargetAttrs(ri, holders[id])
		assignments[id] = r.assignmentAttrs(ri, holders[id])
	}
	subjects, byEmail, targets := map[string]any{}, map[string]any{}, map[string]any{}
	for _, a := range admins {
		subject := map[string]any{"role_id": a.RoleID}
		target := map[string]any{"role_id": a.RoleID}
		var assignment map[string]any
		if ri, ok := roles[a.RoleID]; ok {
			subject["attrs"] = subjectAttrs(a, ri)
			assignment = r.assignmentAttrs(ri, holders[a.RoleID]-1) // the target is not another holder
		}
		target["attrs"] = adminTargetAttrs(a, assignment)
		subjects[a.ID], targets[a.ID] = subject, target
		byEmail[strings.ToLower(a.Email)] = a.ID
	}
	out["roles"], out["role_targets"], out["assignments"] = roleObjects, roleTargets, assignments
	out["subjects"], out["subjects_by_email"], out["admin_targets"] = subjects, byEmail, targets
	return nil
}

// memberData fills the profiles, users, devices, hold types and holds.
func (r exporter) memberData(ctx context.Context, accountID string, out map[string]any) error {
	profiles, err := r.tx.ListProfiles(ctx, accountID)
	if err != nil {
		return err
	}
	byID, pm, npm := map[string]holdfast.Profile{}, map[string]any{}, map[string]any{}
	for _, p := range profiles {
		byID[p.ID], pm[p.ID], npm[p.ID] = p, profileAttrs(p), newMemberProfileAttrs(p)
	}
	out["profiles"], out["new_member_profiles"] = pm, npm
	holdsOf, err := r.holdData(ctx, accountID, out)
	if err != nil {
		return err
	}
	users, err := r.tx.ListUsers(ctx, accountID, holdfast.UserFilter{})
	if err != nil {
		return err
	}
	devices, err := r.tx.ListDevices(ctx, accountID, "")
	if err != nil {
		return err
	}
	deviceWorkloads := map[string][]string{}
	for _, d := range devices {
		deviceWorkloads[d.UserID] = append(deviceWorkloads[d.UserID], d.Workload)
	}
	um, userByID := map[string]any{}, map[string]holdfast.User{}
	for _, u := range users {
		userByID[u.ID] = u
		um[u.ID] = memberAttrs(u, byID[u.ProfileID], deviceWorkloads[u.ID], holdsOf[u.ID], "")
	}
	dm := map[string]any{}
	for _, d := range devices {
		u, ok := userByID[d.UserID]
		if !ok {
			continue
		}
		attrs := memberAttrs(u, byID[u.ProfileID], nil, holdsOf[u.ID], d.Workload)
		attrs["user_id"] = u.ID
		dm[d.ID] = attrs
	}
	out["users"], out["devices"] = um, dm
	return nil
}

// holdData fills the hold types and holds, and returns each custodian's holds.
func (r exporter) holdData(ctx context.Context, accountID string, out map[string]any) (map[string][]holdfast.LegalHold, error) {
	types, err := r.tx.ListHoldTypes(ctx, accountID)
	if err != nil {
		return nil, err
	}
	tm := map[string]any{}
	for _, t := range types {
		tm[t.ID] = true
	}
	holds, err := r.tx.ListHolds(ctx, accountID)
	if err != nil {
		return nil, err
	}
	hm, holdsOf := map[string]any{}, map[string][]holdfast.LegalHold{}
	for _, h := range holds {
		hm[h.ID] = holdAttrs(h)
		cs, err := r.tx.ListCustodians(ctx, accountID, h.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			holdsOf[c.UserID] = append(holdsOf[c.UserID], h)
		}
	}
	out["hold_types"], out["holds"] = tm, hm
	return holdsOf, nil
}
