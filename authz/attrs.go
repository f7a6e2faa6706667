package authz

import (
	"maps"
	"slices"
	"strings"

	"github.com/holdfast/holdfast"
)

// The attribute builders: the one place that turns stored things into the
// attributes the policies read. The resolver calls them on what it reads
// for one request; the exported bundle calls them on the whole account and
// ships the results as data, so stock OPA only looks them up
// (policies/bundle.rego). Each returns a fresh map.

// subjectAttrs is input.subject for administrator a holding role.
func subjectAttrs(a holdfast.Administrator, role roleInfo) map[string]any {
	return map[string]any{
		"type":        holdfast.PrincipalAdmin,
		"id":          a.ID,
		"email":       a.Email,
		"name":        a.Name,
		"state":       string(a.State),
		"first_admin": a.CreatedBy == "",
		"role":        role.object(),
		"scopes":      scopesObject(a.Scopes),
	}
}

// memberAttrs are the attributes of user u in profile p, or of one of its
// devices when workload (the device's own) is set: profile, state,
// privacy, workloads (the profile's and deviceWorkloads', for a user) and
// the holds it is a custodian of, by id.
func memberAttrs(u holdfast.User, p holdfast.Profile, deviceWorkloads []string, holds []holdfast.LegalHold, workload string) map[string]any {
	out := map[string]any{
		"profile_id":            p.ID,
		"profile_name":          p.Name,
		"state":                 string(u.State),
		"privacy_blocks_admins": p.BlockAdminAccess,
	}
	if workload != "" {
		maps.Copy(out, workloadAttrs(workload))
	} else {
		w := append(slices.Clone(p.Workloads), deviceWorkloads...)
		slices.Sort(w)
		out["workloads"] = nonNil(slices.Compact(w))
	}
	holds = slices.Clone(holds) // the slice may be shared through the attribute cache
	slices.SortFunc(holds, func(a, b holdfast.LegalHold) int { return strings.Compare(a.ID, b.ID) })
	list := make([]any, 0, len(holds))
	for _, h := range holds {
		list = append(list, map[string]any{"id": h.ID, "name": h.Name, "type_id": h.TypeID})
	}
	out["holds"] = list
	return out
}

// workloadAttrs narrow a member to one workload (a device's).
func workloadAttrs(workload string) map[string]any {
	return map[string]any{"workload": workload, "workloads": []string{workload}}
}

// profileAttrs are the attributes of a resource that is, or is limited to,
// profile p.
func profileAttrs(p holdfast.Profile) map[string]any {
	return map[string]any{"profile_id": p.ID, "profile_name": p.Name}
}

// newMemberProfileAttrs are what a user or device about to be created in
// profile p takes from it.
func newMemberProfileAttrs(p holdfast.Profile) map[string]any {
	out := profileAttrs(p)
	out["privacy_blocks_admins"] = p.BlockAdminAccess
	out["workloads"] = nonNil(p.Workloads)
	return out
}

// holdAttrs are the attributes of legal hold h.
func holdAttrs(h holdfast.LegalHold) map[string]any {
	return map[string]any{"type_id": h.TypeID, "name": h.Name}
}

// counted reports whether the policies need the number of administrators
// holding role (catalog rules.min_other_admins_with_role).
func (r resolver) counted(role roleInfo) bool {
	_, ok := r.cat.Rules.MinOtherAdminsWithRole[role.base]
	return ok
}

// assignmentAttrs are the attributes of an administrator holding role:
// the role object and, for a role with a minimum number of holders, how
// many other administrators hold it.
func (r resolver) assignmentAttrs(role roleInfo, otherHolders int) map[string]any {
	out := map[string]any{"role": role.object()}
	if r.counted(role) {
		out["other_admins_with_role"] = otherHolders
	}
	return out
}

// adminTargetAttrs are the stored attributes of administrator a as a
// resource (assignment from assignmentAttrs, nil when its role is gone).
func adminTargetAttrs(a holdfast.Administrator, assignment map[string]any) map[string]any {
	out := map[string]any{"scopes": scopesObject(a.Scopes), "first_admin": a.CreatedBy == ""}
	maps.Copy(out, assignment)
	return out
}

// roleTargetAttrs are the attributes of an existing role as a resource.
func roleTargetAttrs(role roleInfo, assigned int) map[string]any {
	return map[string]any{"role": role.object(), "assigned_admins": assigned}
}
