# Scopes: which profiles, workloads, legal hold types, organizations and
# admin groups the subject reaches. A check applies only when the subject's
# role is bound to that scope kind (role_scope_kinds).
package holdfast.authz

import data.holdfast.catalog

broad_scopes := {"platform", "product_account"}

# role_scope_kinds are the scope kinds of a role object. A role holding
# Legal Hold Management rights that is not account-wide is bound to legal
# hold types as well, so rights added to an edited or custom role reach only
# the types its administrators are given (R4.8, R4.9).
role_scope_kinds(role) := declared | implied if {
	declared := {k | some k in object.get(role, "scope", [])}
	implied := {"legal_hold_type" |
		count(declared & broad_scopes) == 0
		holds_legal_hold_right(object.get(role, "rights", []))
	}
}

# holds_legal_hold_right is true when rights (an array or set) holds a
# Legal Hold Management right; it stops at the first.
holds_legal_hold_right(rights) if {
	some r in rights
	catalog.legal_hold_rights[r]
}

subject_scope_kinds := role_scope_kinds(subject_role)

# Profiles.

profile_covered(_) if subject_scopes.all_profiles == true

profile_covered(p) if p in object.get(subject_scopes, "profiles", [])

deny contains {"rule": "scope.profile", "reason": "the profile is outside the administrator's profiles"} if {
	"profile" in subject_scope_kinds
	p := object.get(input.resource, "profile_id", "")
	p != ""
	not profile_covered(p)
}

# Workloads. A scope naming a parent workload (microsoft_365) covers its
# sub-apps (exchange_online); a sub-app covers only itself.

subject_workloads := {w | some w in object.get(subject_scopes, "workloads", [])}

workload_covered(_) if subject_scopes.all_workloads == true

workload_covered(w) if w in subject_workloads

workload_covered(w) if catalog.workloads[w].parent in subject_workloads

workload_name(w) := catalog.workloads[w].name if {
	catalog.workloads[w]
} else := w

resource_workload := object.get(input.resource, "workload", "")

resource_workloads := {w | some w in object.get(input.resource, "workloads", [])}

# A device (or anything with one workload) must be in scope.
deny contains {"rule": "scope.workload", "reason": sprintf("workload '%s' is outside the administrator's workloads", [workload_name(resource_workload)])} if {
	"workload" in subject_scope_kinds
	resource_workload != ""
	not workload_covered(resource_workload)
}

# A user is reachable through any of its workloads in scope...
deny contains {"rule": "scope.workload", "reason": sprintf("none of the user's workloads (%s) is in the administrator's workloads", [names])} if {
	"workload" in subject_scope_kinds
	resource_workload == ""
	input.action.name != "users.delete"
	count(resource_workloads) > 0
	count({w | some w in resource_workloads; workload_covered(w)}) == 0
	names := concat(", ", sort({workload_name(w) | some w in resource_workloads}))
}

# ...but deleting a user deletes the data of every workload: all must be in scope.
deny contains {"rule": "scope.workload", "reason": sprintf("workload '%s' is outside the administrator's workloads", [workload_name(w)])} if {
	"workload" in subject_scope_kinds
	resource_workload == ""
	input.action.name == "users.delete"
	some w in resource_workloads
	not workload_covered(w)
}

# Legal hold types. An untyped hold ("") is reachable only with all types.

lh_type_scoped if "legal_hold_type" in subject_scope_kinds

lh_type_covered(_) if not lh_type_scoped

lh_type_covered(_) if subject_scopes.all_legal_hold_types == true

lh_type_covered(t) if {
	t != ""
	t in object.get(subject_scopes, "legal_hold_types", [])
}

# A refusal never names what it keeps from the administrator: the hold
# (or profile) outside the scope is not shown, so neither is its name.

deny contains {"rule": "scope.legal_hold_type", "reason": "the legal hold has no type; only administrators with all legal hold types can reach it"} if {
	input.resource.type == "legal_hold"
	object.get(input.resource, "type_id", "") == ""
	not lh_type_covered("")
}

deny contains {"rule": "scope.legal_hold_type", "reason": "the type of the legal hold is outside the administrator's legal hold types"} if {
	input.resource.type == "legal_hold"
	t := object.get(input.resource, "type_id", "")
	t != ""
	not lh_type_covered(t)
}

deny contains {"rule": "scope.legal_hold_type", "reason": "the new legal hold type is outside the administrator's legal hold types"} if {
	input.resource.type == "legal_hold"
	t := input.resource.new_type_id
	not lh_type_covered(t)
}

deny contains {"rule": "scope.legal_hold_type", "reason": "the legal hold type is outside the administrator's legal hold types"} if {
	input.resource.type == "legal_hold_type"
	t := object.get(input.resource, "id", "")
	t != ""
	not lh_type_covered(t)
}

# Enterprise Workloads organizations and admin groups bound the
# administrators an EW administrator manages: every organization (group) of
# the target, before and after the change, must be one of the subject's.

target_scope_sets contains s if {
	input.resource.type == "administrator"
	s := object.get(input.resource, "scopes", {})
}

target_scope_sets contains s if {
	input.resource.type == "administrator"
	s := input.resource.new_scopes
}

deny contains {"rule": "scope.organization", "reason": reason} if {
	"organization" in subject_scope_kinds
	some s in target_scope_sets
	some reason in outside_reasons(s, "organizations", "organization")
}

deny contains {"rule": "scope.admin_group", "reason": reason} if {
	"admin_group" in subject_scope_kinds
	some s in target_scope_sets
	some reason in outside_reasons(s, "admin_groups", "admin group")
}

# outside_reasons explains which of the target scopes' ids (under key) the
# subject's scopes lack; an empty list is outside too.
outside_reasons(s, key, noun) := {sprintf("the target administrator is in none of the administrator's %ss", [noun])} if {
	count(object.get(s, key, [])) == 0
} else := {sprintf("%s '%s' is outside the administrator's %ss", [noun, id, noun]) |
	some id in s[key]
	not id in object.get(subject_scopes, key, [])
}
