# Administrator management (rights-and-roles.md section 5): who may view,
# create, edit, delete or reset the password of which administrator.
package holdfast.authz

import data.holdfast.catalog

admin_actions := {"admins.view", "admins.create", "admins.edit", "admins.delete", "admins.reset_password"}

admin_request if {
	input.action.name in admin_actions
	input.resource.type == "administrator"
}

# A change is every administrator action but viewing.
admin_change if {
	admin_request
	input.action.name != "admins.view"
}

# The target's roles: current (requested on create) and new.
target_roles contains role if {
	admin_request
	role := input.resource.role
}

target_roles contains role if {
	admin_request
	role := input.resource.new_role
}

# Enterprise Workloads targets need the ew.admins.* right of their role
# instead of admins.*; other targets need the action itself.
admin_required_rights contains right if {
	some role in target_roles
	right := admin_right_for(role)
}

admin_right_for(role) := catalog.rules.ew_admin_rights[role_base(role)] if {
	catalog.rules.ew_admin_rights[role_base(role)]
} else := input.action.name

role_change if {
	admin_request
	input.resource.new_role.id != object.get(object.get(input.resource, "role", {}), "id", "")
}

scope_change if {
	admin_request
	input.resource.new_scopes != object.get(input.resource, "scopes", {})
}

# The role and scopes the target has after a create or an edit.
after_role := input.resource.new_role if {
	input.resource.new_role
} else := input.resource.role

after_scopes := input.resource.new_scopes if {
	input.resource.new_scopes
} else := object.get(input.resource, "scopes", {})

assigns if {
	admin_request
	input.action.name == "admins.create"
}

assigns if {
	admin_request
	input.action.name == "admins.edit"
	role_change
}

assigns if {
	admin_request
	input.action.name == "admins.edit"
	scope_change
}

deny contains {"rule": "admins.platform_admin", "reason": "only a Platform Administrator can manage Platform Administrators"} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_change
	some role in target_roles
	role_base(role) == "platform_admin"
	not catalog.rules.platform_admin_right in subject_rights
}

# No privilege escalation: the target's roles hold no right the subject lacks.
deny contains {"rule": "admins.escalation", "reason": reason} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_change
	some role in target_roles
	missing := {r | some r in object.get(role, "rights", []); not r in subject_rights}
	count(missing) > 0
	reason := sprintf(
		"%s cannot manage administrators with the role '%s', which holds rights it lacks: %s",
		[role_name(subject_role), role_name(role), right_labels(missing)],
	)
}

deny contains {"rule": "admins.role_unavailable", "reason": unavailable_reason(role)} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.create"
	role := input.resource.role
	not role_available(role_base(role))
}

deny contains {"rule": "admins.role_unavailable", "reason": unavailable_reason(role)} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.edit"
	role := input.resource.new_role
	not role_available(role_base(role))
}

deny contains {"rule": "admins.one_role", "reason": "an administrator has exactly one role"} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name in {"admins.create", "admins.edit"}
	object.get(input.resource, "roles_requested", catalog.rules.roles_per_admin) != catalog.rules.roles_per_admin
}

deny contains {"rule": "admins.one_role", "reason": "an administrator has exactly one role"} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.create"
	not input.resource.role
}

deny contains {"rule": "admins.workload_required", "reason": sprintf("%s needs at least one workload", [role_name(after_role)])} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	assigns
	"workload" in role_scope_kinds(after_role)
	not after_scopes.all_workloads == true
	count(object.get(after_scopes, "workloads", [])) == 0
}

deny contains {"rule": "admins.unknown_workload", "reason": sprintf("unknown workload '%s'", [w])} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	assigns
	some w in object.get(after_scopes, "workloads", [])
	not catalog.workloads[w]
}

deny contains {"rule": "admins.legal_hold_type_required", "reason": sprintf("%s needs at least one legal hold type", [role_name(after_role)])} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	assigns
	"legal_hold_type" in role_scope_kinds(after_role)
	some r in object.get(after_role, "rights", [])
	legal_hold_right(r)
	not after_scopes.all_legal_hold_types == true
	count(object.get(after_scopes, "legal_hold_types", [])) == 0
}

profile_selection(s) := {"all": object.get(s, "all_profiles", false), "profiles": sort(object.get(s, "profiles", []))}

deny contains {"rule": "admins.profiles_locked", "reason": sprintf("the profiles of a %s cannot be changed", [role_name(input.resource.role)])} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.edit"
	role_base(input.resource.role) in catalog.rules.profiles_locked_for_roles
	not role_change
	profile_selection(input.resource.new_scopes) != profile_selection(object.get(input.resource, "scopes", {}))
}

# Roles with a minimum (rules.min_other_admins_with_role: Cloud Administrator)
# keep that many other holders: the resolver counts them as
# resource.other_admins_with_role for exactly those roles.
deny contains {"rule": "admins.cloud_admin_minimum", "reason": reason} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.delete"
	minimum := catalog.rules.min_other_admins_with_role[role_base(input.resource.role)]
	object.get(input.resource, "other_admins_with_role", 0) < minimum
	name := role_name(input.resource.role)
	reason := sprintf("a %s can be deleted only while at least %d other %ss exist", [name, minimum, name])
}

# Moving the role away removes one holder just the same.
deny contains {"rule": "admins.cloud_admin_minimum", "reason": reason} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.edit"
	base := role_base(input.resource.role)
	minimum := catalog.rules.min_other_admins_with_role[base]
	role_change
	role_base(input.resource.new_role) != base
	object.get(input.resource, "other_admins_with_role", 0) < minimum
	name := role_name(input.resource.role)
	reason := sprintf("a %s's role can be changed only while at least %d other %ss exist", [name, minimum, name])
}

deny contains {"rule": "admins.self", "reason": "administrators cannot delete themselves"} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.delete"
	input.resource.self == true
}

deny contains {"rule": "admins.self", "reason": "administrators cannot change their own role or scopes"} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.edit"
	input.resource.self == true
	own_assignment_change
}

own_assignment_change if role_change

own_assignment_change if scope_change

deny contains {"rule": "admins.first_admin", "reason": "the first administrator cannot change its own role"} if {
	input.resource.type == "administrator" # lets the rule index skip this rule for other resources
	admin_request
	input.action.name == "admins.edit"
	input.resource.self == true
	input.resource.first_admin == true
	role_change
	not catalog.rules.first_admin_can_change_own_role
}
