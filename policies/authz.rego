# The decision document: data.holdfast.authz.decision.
#
# A request is allowed only when the subject's role holds every right the
# action requires and no deny rule fires. Every deny rule, in any file of
# this package, adds {"rule": "<file>.<name>", "reason": "<sentence>"} to
# `deny`; the decision lists the reasons and rule ids sorted and without
# duplicates. The input schema is in README.md.
package holdfast.authz

import data.holdfast.catalog

subject_role := object.get(input.subject, "role", {})

subject_rights := {r | some r in object.get(subject_role, "rights", [])}

subject_scopes := object.get(input.subject, "scopes", {})

account_addons := {a | some a in object.get(input.account, "addons", [])}

# The rights the action requires: the action itself, except for
# administrator actions on Enterprise Workloads targets (admins.rego).
required_rights := admin_required_rights if {
	count(admin_required_rights) > 0
} else := {input.action.name}

default allow := false

allow if {
	count(deny) == 0
	every r in required_rights {
		r in subject_rights
	}
}

decision := {"allow": true, "reasons": [], "rules": []} if {
	allow
} else := {
	"allow": false,
	"reasons": sort({d.reason | some d in deny}),
	"rules": sort({d.rule | some d in deny}),
} if {
	count(deny) > 0
} else := {"allow": false, "reasons": ["no rule allows this"], "rules": ["authz.default_deny"]}

deny contains {"rule": "authz.unknown_right", "reason": sprintf("unknown right '%s'", [input.action.name])} if {
	not catalog.rights[input.action.name]
}

deny contains {"rule": "authz.unknown_edition", "reason": sprintf("unknown edition '%v'", [edition])} if {
	edition := object.get(object.get(input, "account", {}), "edition", "")
	not catalog.editions[edition]
}

deny contains {"rule": "authz.subject_type", "reason": "only administrators can be authorized"} if {
	object.get(input.subject, "type", "") != "administrator"
}

deny contains {"rule": "authz.disabled", "reason": "the administrator is disabled"} if {
	input.subject.state == "disabled"
}

deny contains {"rule": "authz.missing_right", "reason": sprintf("%s cannot %s", [role_name(subject_role), right_label(r)])} if {
	some r in required_rights
	catalog.rights[r]
	not r in subject_rights
}

# role_name is the display name of a role object.
role_name(role) := role.name if {
	is_string(role.name)
	role.name != ""
} else := catalog.roles[role.id].name if {
	catalog.roles[role.id]
} else := "this administrator"

# role_base is the catalog role of a role object: itself for predefined
# roles and their edits, "custom" for custom roles.
role_base(role) := role.base if {
	is_string(role.base)
	role.base != ""
} else := role.id

# right_label is the verb phrase of a right ("view legal holds").
right_label(r) := catalog.rights[r].label if {
	catalog.rights[r]
} else := r

# right_labels lists the labels of rights, sorted.
right_labels(rights) := concat(", ", sort({right_label(r) | some r in rights}))

legal_hold_right(r) if catalog.legal_hold_rights[r]
