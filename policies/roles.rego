# Custom roles and edits of predefined roles (rights-and-roles.md section 4):
# action roles.manage on a role resource, with
# action.properties.operation create, edit or delete.
package holdfast.authz

import data.holdfast.catalog

role_request if {
	input.action.name == "roles.manage"
	input.resource.type == "role"
}

role_operation := object.get(object.get(input.action, "properties", {}), "operation", "")

role_writes if {
	role_request
	role_operation in {"create", "edit"}
}

import_roles := object.get(input.resource, "import_from", [])

requested_rights := {r | some r in input.resource.rights}

imported_rights := {r | some role in import_roles; some r in object.get(role, "rights", [])}

# The rights the role holds afterwards: the requested ones, or (nothing
# requested) those of the imported role (R4.2).
final_rights := requested_rights if {
	"rights" in object.keys(input.resource)
} else := imported_rights

right_assignable(r) if {
	catalog.rights[r].assignable == true
	catalog.categories[catalog.rights[r].category].assignable == true
}

role_importable(role) if {
	base := role_base(role)
	not base in catalog.rules.non_importable
	catalog.roles[base].importable == true
}

role_editable(role) if role_base(role) == "custom"

role_editable(role) if {
	base := role_base(role)
	not base in catalog.rules.non_editable
	catalog.roles[base].editable == true
}

role_deletable(role) if role_base(role) == "custom"

role_deletable(role) if {
	base := role_base(role)
	not base in catalog.rules.non_deletable
	catalog.roles[base].deletable == true
}

deny contains {"rule": "roles.operation", "reason": "the role operation must be create, edit or delete"} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_request
	not role_operation in {"create", "edit", "delete"}
}

deny contains {"rule": "roles.unknown_role", "reason": sprintf("the role to %s is unknown", [role_operation])} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_request
	role_operation in {"edit", "delete"}
	not input.resource.role
}

deny contains {"rule": "roles.import_count", "reason": "a role can import the rights of at most one role"} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_writes
	count(import_roles) > catalog.rules.max_import_sources
}

deny contains {"rule": "roles.not_importable", "reason": sprintf("rights cannot be imported from %s", [role_name(role)])} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_writes
	some role in import_roles
	not role_importable(role)
}

deny contains {"rule": "roles.not_editable", "reason": sprintf("%s cannot be edited", [role_name(input.resource.role)])} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_request
	role_operation == "edit"
	not role_editable(input.resource.role)
}

deny contains {"rule": "roles.not_deletable", "reason": sprintf("%s cannot be deleted", [role_name(input.resource.role)])} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_request
	role_operation == "delete"
	not role_deletable(input.resource.role)
}

deny contains {"rule": "roles.assigned", "reason": reason} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_request
	role_operation == "delete"
	n := object.get(input.resource, "assigned_admins", 0)
	n > 0
	reason := sprintf("role '%s' is assigned to %s; reassign them first", [role_name(input.resource.role), count_noun(n, "administrator")])
}

deny contains {"rule": "roles.unknown_right", "reason": sprintf("unknown right '%s'", [r])} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_writes
	some r in requested_rights
	not catalog.rights[r]
}

deny contains {"rule": "roles.not_assignable", "reason": sprintf("the right to %s cannot be assigned to a role", [right_label(r)])} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_writes
	some r in final_rights
	catalog.rights[r]
	not right_assignable(r)
}

deny contains {"rule": "roles.legal_hold_rights", "reason": legal_hold_unavailable_reason} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_writes
	some r in final_rights
	legal_hold_right(r)
	not legal_hold_available
}

# Nobody creates or edits a role holding a right they do not hold: neither
# through the requested rights, nor the imported role, nor (edit) the role
# as it stands.
escalating_rights contains r if {
	some r in (requested_rights | imported_rights)
	catalog.rights[r]
	not r in subject_rights
}

escalating_rights contains r if {
	role_operation == "edit"
	some r in object.get(object.get(input.resource, "role", {}), "rights", [])
	not r in subject_rights
}

deny contains {"rule": "roles.escalation", "reason": reason} if {
	input.resource.type == "role" # lets the rule index skip this rule for other resources
	role_writes
	count(escalating_rights) > 0
	reason := sprintf(
		"%s cannot create or edit a role with rights it does not hold: %s",
		[role_name(subject_role), right_labels(escalating_rights)],
	)
}

count_noun(1, noun) := sprintf("1 %s", [noun])

count_noun(n, noun) := sprintf("%d %ss", [n, noun]) if n != 1
