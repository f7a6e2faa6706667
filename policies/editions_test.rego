package holdfast.authz_test

import data.holdfast.authz

la_in(account) := req(account, la_all, "legal_holds.view", {"type": "legal_hold", "id": "lh_1", "type_id": "lht_hr", "name": "Q3 audit"})

test_legal_admin_on_elite if {
	allowed(la_in(elite))
}

test_legal_admin_on_elite_plus if {
	allowed(la_in(elite_plus))
}

test_legal_admin_not_on_enterprise if {
	denied_by(la_in(enterprise), "editions.role_unavailable", "Legal Administrator is not available in the Enterprise edition")
}

test_legal_admin_on_enterprise_with_governance if {
	allowed(la_in(enterprise_gov))
}

test_legal_admin_not_on_business if {
	denied_by(la_in(business), "editions.role_unavailable", "Legal Administrator is not available in the Business edition")
}

test_help_desk_not_on_business if {
	denied_by(
		req(business, hd, "users.view", user_res),
		"editions.role_unavailable", "Help Desk Administrator is not available in the Business edition",
	)
}

test_cloud_admin_on_business if {
	allowed(req(business, ca, "users.view", user_res))
}

test_sdg_admin_needs_add_on_outside_elite_plus if {
	s := subject(role("sensitive_data_governance_admin", ["sdg.dashboard.view"]), no_scopes)
	x := req(elite, s, "sdg.dashboard.view", {"type": "settings", "id": ""})
	denied_by(x, "editions.role_unavailable", "Sensitive Data Governance Administrator is not available in the Elite edition")
	allowed(object.union(x, {"account": {"id": "acct_1", "edition": "elite", "addons": ["addon_sensitive_data_governance"]}}))
	allowed(object.union(x, {"account": elite_plus}))
}

test_custom_role_not_on_business if {
	s := subject(custom_role("role_1", "Auditors", ["users.view"]), all_scopes)
	denied_by(req(business, s, "users.view", user_res), "editions.role_unavailable", "custom roles are not available in the Business edition")
}

test_ew_roles_on_every_edition if {
	s := subject(role("ew_cloud_admin", ew_cloud_rights), no_scopes)
	every a in [elite_plus, elite, enterprise, business] {
		allowed(req(a, s, "ew.organizations.create", {"type": "account", "id": "acct_1"}))
	}
}

test_cloud_admin_legal_holds_not_on_enterprise if {
	denied_by(
		req(enterprise, ca, "legal_holds.view", {"type": "legal_hold", "id": "lh_1", "type_id": "lht_hr", "name": "Q3 audit"}),
		"editions.legal_hold", "Legal Hold Management is not available in the Enterprise edition without the Governance add-on",
	)
}

test_cloud_admin_legal_holds_on_enterprise_with_governance if {
	allowed(req(enterprise_gov, ca, "legal_holds.view", {"type": "legal_hold", "id": "lh_1", "type_id": "lht_hr", "name": "Q3 audit"}))
}

test_cloud_admin_legal_hold_types_not_on_business if {
	denied_by(
		req(business, ca, "legal_hold_types.manage", {"type": "legal_hold_type", "id": ""}),
		"editions.legal_hold", "Legal Hold Management is not available in the Business edition without the Governance add-on",
	)
}

test_cloud_admin_legal_holds_on_business_with_governance if {
	allowed(req(business_gov, ca, "legal_holds.create_manage", {"type": "legal_hold", "id": "", "type_id": ""}))
}

test_non_legal_hold_rights_everywhere if {
	allowed(req(enterprise, ca, "users.delete", user_res))
}

create_role_in(account) := object.union(req(account, ca, "roles.manage", {"type": "role", "id": "", "import_from": [], "rights": ["users.view"]}), {"action": {"name": "roles.manage", "properties": {"operation": "create"}}})

test_business_has_no_custom_roles if {
	denied_by(create_role_in(business), "editions.custom_roles", "custom roles are not available in the Business edition")
}

test_business_with_governance_has_no_custom_roles if {
	denied_by(create_role_in(business_gov), "editions.custom_roles", "custom roles are not available in the Business edition")
}

test_enterprise_has_custom_roles if {
	allowed(create_role_in(enterprise))
}

test_edit_unavailable_predefined_role if {
	x := object.union(req(business, ca, "roles.manage", {"type": "role", "id": "help_desk_admin", "role": role("help_desk_admin", hd_rights), "import_from": [], "rights": hd_rights}), {"action": {"name": "roles.manage", "properties": {"operation": "edit"}}})
	denied_by(x, "editions.custom_roles", "Help Desk Administrator is not available in the Business edition")
}

test_role_available_function if {
	authz.role_available("legal_admin") with input as {"account": enterprise_gov}
	not authz.role_available("legal_admin") with input as {"account": enterprise}
	not authz.role_available("nobody") with input as {"account": elite}
	authz.role_available("custom") with input as {"account": elite}
}

enterprise_sdg := {"id": "acct_1", "edition": "enterprise", "addons": ["addon_sensitive_data_governance"]}

test_cloud_admin_sdg_not_without_the_addon if {
	every a in [elite, enterprise, enterprise_gov, business] {
		denied_by(
			req(a, ca, "sdg.dashboard.view", {"type": "account", "id": "acct_1"}),
			"editions.sdg", sprintf("Sensitive Data Governance is not available in the %s edition without the Sensitive Data Governance add-on", [authz.edition_name(a.edition)]),
		)
	}
}

test_cloud_admin_sdg_with_the_addon if {
	allowed(req(enterprise_sdg, ca, "sdg.compliance_policies.manage", {"type": "account", "id": "acct_1"}))
	allowed(req(elite_plus, ca, "sdg.templates.manage", {"type": "account", "id": "acct_1"}))
}
