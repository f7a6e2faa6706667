# Package holdfast.bundle is the entry point of an exported OPA bundle. It
# takes a raw AuthZEN request as input, looks the subject and resource up in
# the account data the bundle carries (data.holdfast.account) and evaluates
# the engine's decision document (data.holdfast.authz.decision) on the
# result.
#
# It resolves nothing itself: every attribute of a stored administrator,
# role, user, device, profile or hold was computed by the engine's Go
# resolver (authz/attrs.go) when the bundle was written, keyed by id. What
# is left here is reading the raw request: the refusals the engine makes
# for malformed or unknown names (same rules, same reasons, same order),
# and the caller's own properties (new resources, requested changes) put
# beside the looked-up attributes. The differential test against stock OPA
# (authz/bundle_test.go) holds both to the same answers.
package holdfast.bundle

acct := data.holdfast.account

default decision := {"allow": false, "reasons": ["no rule allows this"], "rules": ["authz.default_deny"]}

decision := {"allow": false, "reasons": [refusal.reason], "rules": [refusal.rule]} if refusal

decision := d if {
	not refusal
	d := data.holdfast.authz.decision with input as resolved
}

# Requests refused before any policy runs, in the engine's order.
refusal := {"rule": "subject.type", "reason": sprintf("subject type %q is not supported; use %q", [subject_type, "administrator"])} if {
	subject_type != "administrator"
} else := {"rule": "action.missing", "reason": "no action named"} if {
	action_name == ""
} else := {"rule": "subject.unknown", "reason": "unknown administrator"} if {
	not subject_entry
} else := {"rule": "subject.role_unknown", "reason": sprintf("role %q of the administrator does not exist", [subject_entry.role_id])} if {
	not subject_entry.attrs
} else := resource_refusal if {
	resource_refusal
}

subject_type := object.get(object_or_empty(object.get(input, "subject", {})), "type", "")

action_name := object.get(input_action, "name", "")

input_action := object_or_empty(object.get(input, "action", {}))

object_or_empty(x) := x if is_object(x)

else := {}

string_or_empty(x) := x if is_string(x)

else := ""

subject_id := acct.subjects_by_email[lower(input.subject.id)] if contains(input.subject.id, "@")

subject_id := input.subject.id if {
	not contains(input.subject.id, "@")
	acct.subjects[input.subject.id]
}

subject_entry := acct.subjects[subject_id]

subject := subject_entry.attrs

resolved := {
	"account": acct.account,
	"subject": subject,
	"action": {"name": action_name, "properties": object_or_empty(object.get(input_action, "properties", {}))},
	"resource": resource,
	"context": object_or_empty(object.get(input, "context", {})),
}

# The request's resource.
res := object_or_empty(object.get(input, "resource", {}))

rtype := string_or_empty(object.get(res, "type", ""))

rid := string_or_empty(object.get(res, "id", ""))

props := object_or_empty(object.get(res, "properties", {}))

base := {"type": rtype, "id": rid, "exists": rid != ""}

not_found(kind, id) := {"rule": "resource.not_found", "reason": sprintf("%s %q not found", [kind, id])}

invalid(reason) := {"rule": "request.invalid", "reason": reason}

bad_string(key) if {
	v := props[key]
	v != null
	not is_string(v)
}

prop(key) := v if {
	v := props[key]
	is_string(v)
} else := ""

# resource_refusal is the first problem the engine's resolver reports.
resource_refusal := r if {
	rtype in {"user", "device"}
	rid == ""
	r := member_refusal
} else := not_found("user", rid) if {
	rtype == "user"
	rid != ""
	not acct.users[rid]
} else := not_found("device", rid) if {
	rtype == "device"
	rid != ""
	not acct.devices[rid]
} else := not_found("profile", rid) if {
	rtype == "profile"
	rid != ""
	not acct.profiles[rid]
} else := r if {
	rtype == "legal_hold"
	r := hold_refusal
} else := not_found("legal hold type", rid) if {
	rtype == "legal_hold_type"
	rid != ""
	not acct.hold_types[rid]
} else := r if {
	rtype == "administrator"
	r := admin_refusal
} else := r if {
	rtype == "role"
	r := role_refusal
} else := r if {
	rtype in {"report", "settings", "account"}
	r := other_refusal
} else := invalid(sprintf("unknown resource type %q", [rtype])) if {
	not rtype in {"user", "device", "profile", "legal_hold", "legal_hold_type", "administrator", "role", "report", "settings", "account"}
}

member_refusal := invalid("resource property profile_id must be a string") if {
	bad_string("profile_id")
} else := invalid("resource property workload must be a string") if {
	bad_string("workload")
} else := invalid("resource property user_id must be a string") if {
	bad_string("user_id")
} else := not_found("user", prop("user_id")) if {
	prop("user_id") != ""
	not acct.users[prop("user_id")]
} else := not_found("profile", prop("profile_id")) if {
	prop("user_id") == ""
	prop("profile_id") != ""
	not acct.profiles[prop("profile_id")]
}

hold_refusal := invalid("resource property type_id must be a string") if {
	rid == ""
	bad_string("type_id")
} else := not_found("legal hold type", prop("type_id")) if {
	rid == ""
	prop("type_id") != ""
	not acct.hold_types[prop("type_id")]
} else := not_found("legal hold", rid) if {
	rid != ""
	not acct.holds[rid]
} else := invalid("resource property new_type_id must be a string") if {
	rid != ""
	"new_type_id" in object.keys(props)
	not is_string(props.new_type_id)
} else := not_found("legal hold type", props.new_type_id) if {
	rid != ""
	is_string(props.new_type_id)
	props.new_type_id != ""
	not acct.hold_types[props.new_type_id]
}

other_refusal := not_found("account", rid) if {
	rtype == "account"
	rid != ""
	rid != acct.account.id
} else := invalid("resource property profile_id must be a string") if {
	bad_string("profile_id")
} else := not_found("profile", prop("profile_id")) if {
	prop("profile_id") != ""
	not acct.profiles[prop("profile_id")]
}

# Administrators.
admin_target := acct.admin_targets[rid] if rid != ""

roles_prop_invalid if {
	"roles" in object.keys(props)
	not is_array(props.roles)
}

roles_prop_invalid if {
	is_array(props.roles)
	count(props.roles) >= 1
	not is_string(props.roles[0])
}

admin_role_id := admin_target.role_id if rid != ""

else := props.roles[0] if {
	is_array(props.roles)
	count(props.roles) >= 1
}

else := prop("role")

admin_refusal := not_found("administrator", rid) if {
	rid != ""
	not acct.admin_targets[rid]
} else := invalid("resource property role must be a string") if {
	rid == ""
	bad_string("role")
} else := invalid("resource property roles must be a list of role ids") if {
	rid == ""
	roles_prop_invalid
} else := invalid("resource property scopes must be a scopes object") if {
	rid == ""
	not valid_scopes(object.get(props, "scopes", null))
} else := not_found("role", admin_role_id) if {
	admin_role_id != ""
	not acct.roles[admin_role_id]
} else := invalid("resource property new_role must be a string") if {
	rid != ""
	bad_string("new_role")
} else := not_found("role", prop("new_role")) if {
	rid != ""
	prop("new_role") != ""
	not acct.roles[prop("new_role")]
} else := invalid("resource property new_scopes must be a scopes object") if {
	rid != ""
	"new_scopes" in object.keys(props)
	not valid_scopes(props.new_scopes)
}

scope_bools := {"all_profiles", "all_workloads", "all_legal_hold_types"}

scope_lists := {"profiles", "workloads", "legal_hold_types", "organizations", "admin_groups"}

valid_scopes(null)

valid_scopes(s) if {
	is_object(s)
	every k, v in s {
		scope_value_ok(k, v)
	}
}

scope_value_ok(k, v) if {
	k in scope_bools
	is_boolean(v)
}

scope_value_ok(k, null) if k in (scope_bools | scope_lists)

scope_value_ok(k, v) if {
	k in scope_lists
	is_array(v)
	every x in v {
		is_string(x)
	}
}

normal_scopes(s) := {
	"all_profiles": object.get(o, "all_profiles", false) == true,
	"profiles": list_or_empty(object.get(o, "profiles", [])),
	"all_workloads": object.get(o, "all_workloads", false) == true,
	"workloads": list_or_empty(object.get(o, "workloads", [])),
	"all_legal_hold_types": object.get(o, "all_legal_hold_types", false) == true,
	"legal_hold_types": list_or_empty(object.get(o, "legal_hold_types", [])),
	"organizations": list_or_empty(object.get(o, "organizations", [])),
	"admin_groups": list_or_empty(object.get(o, "admin_groups", [])),
} if {
	o := object_or_empty(s)
}

list_or_empty(x) := x if is_array(x)

else := []

roles_requested := count(props.roles) if is_array(props.roles)

else := 0 if prop("role") == ""

else := 1

# An existing administrator: its stored attributes and the requested
# changes; a new one: what the request names, and what holding the
# requested role means (acct.assignments).
admin_attrs := object.union_n([
	base,
	{"self": rid == subject.id, "roles_requested": 1},
	admin_target.attrs,
	new_role_attrs,
	new_scopes_attrs,
]) if {
	rid != ""
} else := object.union_n([
	base,
	{
		"self": false,
		"first_admin": false,
		"roles_requested": roles_requested,
		"scopes": normal_scopes(object.get(props, "scopes", null)),
	},
	new_assignment_attrs,
])

new_assignment_attrs := acct.assignments[admin_role_id] if admin_role_id != ""

else := {}

new_role_attrs := {"new_role": acct.roles[prop("new_role")]} if {
	rid != ""
	prop("new_role") != ""
}

else := {}

new_scopes_attrs := {"new_scopes": normal_scopes(props.new_scopes)} if {
	rid != ""
	"new_scopes" in object.keys(props)
}

else := {}

# Roles.
import_ids := [] if {
	not "import_from" in object.keys(props)
} else := [] if {
	props.import_from == null
} else := [] if {
	props.import_from == ""
} else := [props.import_from] if {
	is_string(props.import_from)
} else := props.import_from if {
	is_array(props.import_from)
}

import_invalid if {
	"import_from" in object.keys(props)
	v := props.import_from
	v != null
	not is_string(v)
	not is_array(v)
}

import_invalid if {
	is_array(props.import_from)
	some x in props.import_from
	not is_string(x)
}

missing_imports := [x | some x in import_ids; not acct.roles[x]]

role_refusal := not_found("role", rid) if {
	rid != ""
	not acct.roles[rid]
} else := invalid("resource property import_from must be a role id or a list of role ids") if {
	import_invalid
} else := not_found("role", missing_imports[0]) if {
	count(missing_imports) > 0
} else := invalid("resource property rights must be a list of right ids") if {
	"rights" in object.keys(props)
	not string_list(props.rights)
}

string_list(x) if {
	is_array(x)
	every v in x {
		is_string(v)
	}
}

role_attrs := object.union_n([
	base,
	existing_role_attrs,
	{"import_from": [acct.roles[x] | some x in import_ids]},
	rights_attrs,
])

existing_role_attrs := acct.role_targets[rid] if rid != ""

else := {}

rights_attrs := {"rights": props.rights} if "rights" in object.keys(props)

else := {}

# Users and devices. A new device of an existing user takes the user's
# attributes and its own workload.
member_attrs := object.union_n([base, {"user_id": uid}, acct.users[uid], new_workload_attrs]) if {
	uid := prop("user_id")
	uid != ""
} else := object.union_n([
	base,
	object.get(acct.new_member_profiles, prop("profile_id"), {}),
	new_workload_attrs,
	{"holds": []},
])

new_workload_attrs := {"workload": prop("workload"), "workloads": [prop("workload")]} if prop("workload") != ""

else := {}

hold_attrs := object.union(base, {"type_id": prop("type_id")}) if rid == ""

else := object.union_n([base, acct.holds[rid], new_type_attrs])

new_type_attrs := {"new_type_id": props.new_type_id} if "new_type_id" in object.keys(props)

else := {}

other_attrs := object.union(base, acct.profiles[prop("profile_id")]) if prop("profile_id") != ""

else := base

# resource is the resolved resource, by type.
resource := member_attrs if {
	rtype in {"user", "device"}
	rid == ""
} else := object.union(base, acct.users[rid]) if {
	rtype == "user"
} else := object.union(base, acct.devices[rid]) if {
	rtype == "device"
} else := object.union(base, acct.profiles[rid]) if {
	rtype == "profile"
	rid != ""
} else := hold_attrs if {
	rtype == "legal_hold"
} else := admin_attrs if {
	rtype == "administrator"
} else := role_attrs if {
	rtype == "role"
} else := other_attrs if {
	rtype in {"report", "settings", "account"}
} else := base

# batch decides each raw request of input.evaluations, in order: the same
# decisions as asking one by one, in one round trip (what AuthZEN's
# /access/v1/evaluations gives, for a sidecar).
batch := [d | some item in input.evaluations; d := decision with input as item]
