# Legal holds (rights-and-roles.md section 7) and the product boundary of
# Enterprise Workloads administrators. Legal hold rights are scoped by type
# in scope.rego.
package holdfast.authz

import data.holdfast.catalog

resource_holds := object.get(input.resource, "holds", [])

hold_name(h) := h.name if {
	is_string(h.name)
	h.name != ""
} else := object.get(h, "id", "")

# A user (or a device of a user) on hold is never deleted; every hold the
# administrator may see (its type is in scope) is named, the others only
# counted as such.
deny contains {"rule": "legalhold.on_hold", "reason": sprintf("user is on legal hold '%s'", [hold_name(h)])} if {
	input.action.name in {"users.delete", "workloads.delete"}
	some h in resource_holds
	lh_type_covered(object.get(h, "type_id", ""))
}

deny contains {"rule": "legalhold.on_hold", "reason": "user is on a legal hold outside the administrator's legal hold types"} if {
	input.action.name in {"users.delete", "workloads.delete"}
	some h in resource_holds
	not lh_type_covered(object.get(h, "type_id", ""))
}

# The user's profile may block administrators from its data; administrators
# who view legal holds still reach the data of a user on a hold of a type in
# their scope (W33, C18).
deny contains {"rule": "legalhold.privacy", "reason": "the user's profile blocks administrator access to user data"} if {
	input.action.name == "user_data.download"
	input.resource.privacy_blocks_admins == true
	not privacy_bypass
}

privacy_bypass if {
	"legal_holds.view" in subject_rights
	some h in resource_holds
	lh_type_covered(object.get(h, "type_id", ""))
}

deny contains {"rule": "legalhold.ew_no_insync", "reason": "Enterprise Workloads administrators have no inSync access"} if {
	subject_role.product == "enterprise_workloads"
	some r in required_rights
	catalog.rights[r].product != "enterprise_workloads"
}
