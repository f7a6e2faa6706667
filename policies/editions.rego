# Editions and add-ons: which roles and rights an account's licence offers
# (rights-and-roles.md section 1 and C7).
package holdfast.authz

import data.holdfast.catalog

edition_name(e) := catalog.editions[e].name if {
	catalog.editions[e]
} else := e

# role_available holds when the catalog role (a role_base) exists in the
# account's edition, directly or through one of its add-ons.
role_available(base) if input.account.edition in catalog.roles[base].editions

role_available(base) if {
	some addon in account_addons
	input.account.edition in object.get(catalog.roles[base].addon_editions, addon, [])
}

unavailable_reason(role) := sprintf("custom roles are not available in the %s edition", [edition_name(input.account.edition)]) if {
	role_base(role) == "custom"
} else := sprintf("%s is not available in the %s edition", [role_name(role), edition_name(input.account.edition)])

# Legal Hold Management exists on the legal-hold editions, elsewhere only
# with the Governance add-on.
legal_hold_available if input.account.edition in catalog.rules.legal_hold_editions

legal_hold_available if catalog.rules.legal_hold_addon in account_addons

legal_hold_unavailable_reason := sprintf(
	"Legal Hold Management is not available in the %s edition without the %s add-on",
	[edition_name(input.account.edition), catalog.addons[catalog.rules.legal_hold_addon].name],
)

# Sensitive Data Governance exists on its editions (Elite Plus), elsewhere
# only with its add-on.
sdg_available if input.account.edition in catalog.rules.sdg_editions

sdg_available if catalog.rules.sdg_addon in account_addons

sdg_unavailable_reason := sprintf(
	"Sensitive Data Governance is not available in the %s edition without the %s add-on",
	[edition_name(input.account.edition), catalog.addons[catalog.rules.sdg_addon].name],
)

deny contains {"rule": "editions.sdg", "reason": sdg_unavailable_reason} if {
	some r in required_rights
	catalog.sdg_rights[r]
	not sdg_available
}

deny contains {"rule": "editions.role_unavailable", "reason": unavailable_reason(subject_role)} if {
	not role_available(role_base(subject_role))
}

deny contains {"rule": "editions.legal_hold", "reason": legal_hold_unavailable_reason} if {
	some r in required_rights
	legal_hold_right(r)
	not legal_hold_available
}

# Business has no custom roles; nor can an account edit a predefined role
# its edition does not offer.
deny contains {"rule": "editions.custom_roles", "reason": unavailable_reason({"base": "custom"})} if {
	role_request
	role_operation == "create"
	not role_available("custom")
}

deny contains {"rule": "editions.custom_roles", "reason": unavailable_reason(input.resource.role)} if {
	role_request
	role_operation == "edit"
	not role_available(role_base(input.resource.role))
}
