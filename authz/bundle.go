package authz

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
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

// accountData collects what the bundle's resolver needs, in the shapes the
// engine's resolver produces.
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
		out["account"] = map[string]any{"id": acct.ID, "edition": string(acct.Edition), "addons": nonNil(acct.Addons)}

		admins, err := tx.ListAdmins(ctx, accountID, holdfast.AdminFilter{})
		if err != nil {
			return err
		}
		adminMap, byEmail, roleCounts := map[string]any{}, map[string]any{}, map[string]int{}
		for _, a := range admins {
			adminMap[a.ID] = map[string]any{
				"id": a.ID, "email": a.Email, "name": a.Name, "state": string(a.State), "role": a.RoleID,
				"scopes": scopesObject(a.Scopes), "first_admin": a.CreatedBy == "",
			}
			byEmail[strings.ToLower(a.Email)] = a.ID
			roleCounts[a.RoleID]++
		}
		out["admins"], out["admins_by_email"], out["role_admin_counts"] = adminMap, byEmail, roleCounts

		roles := map[string]any{}
		for _, cr := range e.cat.RoleList() {
			if cr.ID == customRoleID {
				continue
			}
			ri, err := resolver{store: tx, cat: e.cat, g: g}.role(ctx, accountID, cr.ID)
			if err != nil {
				return err
			}
			roles[cr.ID] = ri.object()
		}
		stored, err := tx.ListRoles(ctx, accountID)
		if err != nil {
			return err
		}
		for _, s := range stored {
			if s.OverrideOf != "" {
				continue
			}
			ri, err := resolver{store: tx, cat: e.cat, g: g}.role(ctx, accountID, s.ID)
			if err != nil {
				return err
			}
			roles[s.ID] = ri.object()
		}
		out["roles"] = roles

		profiles, err := tx.ListProfiles(ctx, accountID)
		if err != nil {
			return err
		}
		pm := map[string]any{}
		for _, p := range profiles {
			pm[p.ID] = map[string]any{"id": p.ID, "name": p.Name, "workloads": nonNil(p.Workloads), "block_admin_access": p.BlockAdminAccess}
		}
		out["profiles"] = pm

		users, err := tx.ListUsers(ctx, accountID, holdfast.UserFilter{})
		if err != nil {
			return err
		}
		um := map[string]any{}
		for _, u := range users {
			um[u.ID] = map[string]any{"id": u.ID, "profile_id": u.ProfileID, "state": string(u.State)}
		}
		out["users"] = um

		devices, err := tx.ListDevices(ctx, accountID, "")
		if err != nil {
			return err
		}
		dm, userWorkloads := map[string]any{}, map[string][]string{}
		for _, d := range devices {
			dm[d.ID] = map[string]any{"id": d.ID, "user_id": d.UserID, "workload": d.Workload}
			userWorkloads[d.UserID] = append(userWorkloads[d.UserID], d.Workload)
		}
		out["devices"] = dm
		uw := map[string]any{}
		for id, w := range userWorkloads {
			slices.Sort(w)
			uw[id] = slices.Compact(w)
		}
		out["device_workloads"] = uw

		types, err := tx.ListHoldTypes(ctx, accountID)
		if err != nil {
			return err
		}
		tm := map[string]any{}
		for _, t := range types {
			tm[t.ID] = map[string]any{"id": t.ID, "name": t.Name, "predefined": t.Predefined}
		}
		out["hold_types"] = tm

		holds, err := tx.ListHolds(ctx, accountID)
		if err != nil {
			return err
		}
		hm, custodians := map[string]any{}, map[string][]string{}
		for _, h := range holds {
			hm[h.ID] = map[string]any{"id": h.ID, "name": h.Name, "type_id": h.TypeID}
			cs, err := tx.ListCustodians(ctx, accountID, h.ID)
			if err != nil {
				return err
			}
			for _, c := range cs {
				custodians[c.UserID] = append(custodians[c.UserID], h.ID)
			}
		}
		out["holds"] = hm
		cm := map[string]any{}
		for id, hs := range custodians {
			slices.Sort(hs)
			cm[id] = hs
		}
		out["custodians"] = cm
		return nil
	})
	return out, rev, err
}
