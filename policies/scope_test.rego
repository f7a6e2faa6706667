package holdfast.authz_test

import data.holdfast.authz

device(workload) := {
	"type": "device", "id": "dev_1", "exists": true, "user_id": "usr_1", "profile_id": "prof_1",
	"profile_name": "Sales", "state": "active", "workload": workload, "workloads": [workload],
	"holds": [], "privacy_blocks_admins": false,
}

hold(type_id) := {"type": "legal_hold", "id": "lh_1", "exists": true, "type_id": type_id, "name": "Q3 audit"}

scoped(r, scopes) := subject(r, object.union(no_scopes, scopes))

# Profiles

test_profile_in_scope if {
	allowed(req(elite, hd, "users.manage", user_res))
}

test_profile_outside_scope if {
	other := object.union(user_res, {"profile_id": "prof_2", "profile_name": "Engineering"})
	denied_by(req(elite, hd, "users.manage", other), "scope.profile", "the profile is outside the administrator's profiles")
}

test_profile_without_name_uses_id if {
	other := object.union(user_res, {"profile_id": "prof_2", "profile_name": ""})
	denied_by(req(elite, hd, "users.manage", other), "scope.profile", "the profile is outside the administrator's profiles")
}

test_all_profiles if {
	s := scoped(role("help_desk_admin", hd_rights), {"all_profiles": true, "workloads": ["endpoints"]})
	allowed(req(elite, s, "users.manage", object.union(user_res, {"profile_id": "prof_9"})))
}

test_profile_admin_manages_own_profile if {
	allowed(req(elite, pa, "profiles.manage", {"type": "profile", "id": "prof_1", "profile_id": "prof_1", "profile_name": "Sales"}))
}

test_profile_admin_other_profile if {
	denied_by(
		req(elite, pa, "profiles.manage", {"type": "profile", "id": "prof_2", "profile_id": "prof_2", "profile_name": "Eng"}),
		"scope.profile", "the profile is outside the administrator's profiles",
	)
}

test_report_of_other_profile if {
	denied_by(
		req(elite, vo, "reports.view", {"type": "report", "id": "", "profile_id": "prof_2", "profile_name": "Eng"}),
		"scope.profile", "the profile is outside the administrator's profiles",
	)
}

test_account_wide_report_for_profile_scoped if {
	allowed(req(elite, vo, "reports.view", {"type": "report", "id": ""}))
}

test_cloud_admin_not_profile_scoped if {
	s := subject(role("cloud_admin", insync_rights), no_scopes)
	allowed(req(elite, s, "users.manage", object.union(user_res, {"profile_id": "prof_9"})))
}

test_new_user_in_profile if {
	allowed(req(elite, pa, "users.create_import", {"type": "user", "id": "", "exists": false, "profile_id": "prof_1", "profile_name": "Sales", "holds": []}))
	denied_by(
		req(elite, pa, "users.create_import", {"type": "user", "id": "", "exists": false, "profile_id": "prof_2", "profile_name": "Eng", "holds": []}),
		"scope.profile", "the profile is outside the administrator's profiles",
	)
}

# Workloads

wa_m365 := scoped(role("workload_admin", wa_rights), {"all_profiles": true, "workloads": ["microsoft_365"]})

wa_exchange := scoped(role("workload_admin", wa_rights), {"all_profiles": true, "workloads": ["exchange_online"]})

test_parent_workload_covers_sub_apps if {
	every w in ["exchange_online", "onedrive", "sharepoint", "teams", "microsoft_365"] {
		allowed(req(elite, wa_m365, "workloads.manage", device(w)))
	}
}

test_parent_workload_not_other_suite if {
	denied_by(req(elite, wa_m365, "workloads.manage", device("gmail")), "scope.workload", "workload 'Gmail' is outside the administrator's workloads")
}

test_sub_app_covers_itself if {
	allowed(req(elite, wa_exchange, "workloads.manage", device("exchange_online")))
}

test_sub_app_not_sibling if {
	denied_by(req(elite, wa_exchange, "workloads.manage", device("onedrive")), "scope.workload", "workload 'OneDrive' is outside the administrator's workloads")
}

test_sub_app_not_parent if {
	denied_by(req(elite, wa_exchange, "workloads.manage", device("microsoft_365")), "scope.workload", "workload 'Microsoft 365' is outside the administrator's workloads")
}

test_endpoints_only if {
	allowed(req(elite, hd, "backups.perform", device("endpoints")))
	denied_by(req(elite, hd, "backups.perform", device("slack")), "scope.workload", "workload 'Slack' is outside the administrator's workloads")
}

test_all_workloads if {
	s := scoped(role("workload_admin", wa_rights), {"all_profiles": true, "all_workloads": true})
	allowed(req(elite, s, "workloads.manage", device("box")))
}

test_user_reachable_through_one_workload if {
	u := object.union(user_res, {"workloads": ["endpoints", "onedrive"]})
	allowed(req(elite, hd, "users.manage", u))
}

test_user_with_no_workload_in_scope if {
	u := object.union(user_res, {"workloads": ["onedrive", "gmail"]})
	denied_by(req(elite, hd, "users.manage", u), "scope.workload", "none of the user's workloads (Gmail, OneDrive) is in the administrator's workloads")
}

test_user_delete_needs_every_workload if {
	u := object.union(user_res, {"workloads": ["endpoints", "onedrive"]})
	denied_by(req(elite, pa, "users.delete", u), "scope.workload", "workload 'OneDrive' is outside the administrator's workloads")
	allowed(req(elite, pa, "users.delete", user_res))
}

test_user_without_workloads if {
	allowed(req(elite, hd, "users.manage", object.union(user_res, {"workloads": []})))
}

test_cloud_admin_not_workload_scoped if {
	allowed(req(elite, ca, "workloads.manage", device("salesforce")))
}

# Legal hold types

test_legal_admin_type_in_scope if {
	allowed(req(elite, la_hr, "legal_holds.view", hold("lht_hr")))
}

test_legal_admin_type_outside_scope if {
	denied_by(
		req(elite, la_hr, "legal_holds.delete", hold("lht_legal")),
		"scope.legal_hold_type", "the type of the legal hold is outside the administrator's legal hold types",
	)
}

test_untyped_hold_needs_all_types if {
	denied_by(
		req(elite, la_hr, "legal_holds.view", hold("")),
		"scope.legal_hold_type", "the legal hold has no type; only administrators with all legal hold types can reach it",
	)
	allowed(req(elite, la_all, "legal_holds.view", hold("")))
}

test_untyped_hold_for_cloud_admin if {
	allowed(req(elite, ca, "legal_holds.view", hold("")))
}

test_create_hold_of_other_type if {
	denied_by(
		req(elite, la_hr, "legal_holds.create_manage", {"type": "legal_hold", "id": "", "exists": false, "type_id": "lht_legal"}),
		"scope.legal_hold_type", "the type of the legal hold is outside the administrator's legal hold types",
	)
}

test_move_hold_to_other_type if {
	moved := object.union(hold("lht_hr"), {"new_type_id": "lht_legal"})
	denied_by(
		req(elite, la_hr, "legal_holds.create_manage", moved),
		"scope.legal_hold_type", "the new legal hold type is outside the administrator's legal hold types",
	)
	allowed(req(elite, la_all, "legal_holds.create_manage", moved))
}

test_legal_hold_type_resource if {
	denied_by(
		req(elite, la_hr, "legal_hold_types.manage", {"type": "legal_hold_type", "id": "lht_legal"}),
		"scope.legal_hold_type", "the legal hold type is outside the administrator's legal hold types",
	)
	allowed(req(elite, la_hr, "legal_hold_types.manage", {"type": "legal_hold_type", "id": "lht_hr"}))
	allowed(req(elite, la_hr, "legal_hold_types.manage", {"type": "legal_hold_type", "id": ""}))
}

test_custom_role_with_legal_hold_rights_is_type_scoped if {
	s := subject(custom_role("role_1", "Investigators", ["users.view", "legal_holds.view"]), object.union(all_scopes, {"all_legal_hold_types": false, "legal_hold_types": ["lht_hr"]}))
	allowed(req(elite, s, "legal_holds.view", hold("lht_hr")))
	denied_by(req(elite, s, "legal_holds.view", hold("lht_legal")), "scope.legal_hold_type", "the type of the legal hold is outside the administrator's legal hold types")
}

test_edited_help_desk_with_legal_hold_rights_is_type_scoped if {
	edited := object.union(role("help_desk_admin", hd_rights), {"rights": array.concat(hd_rights, ["legal_holds.view"])})
	s := subject(edited, sales_endpoints)
	denied_by(req(elite, s, "legal_holds.view", hold("lht_hr")), "scope.legal_hold_type", "the type of the legal hold is outside the administrator's legal hold types")
}

test_role_scope_kinds if {
	authz.role_scope_kinds(role("help_desk_admin", hd_rights)) == {"profile", "workload"}
	authz.role_scope_kinds(role("help_desk_admin", ["legal_holds.view"])) == {"profile", "workload", "legal_hold_type"}
	authz.role_scope_kinds(role("cloud_admin", insync_rights)) == {"product_account"}
	authz.role_scope_kinds(role("legal_admin", la_rights)) == {"legal_hold_type", "profile", "workload"}
}

# Enterprise Workloads organizations and groups

ew_org := scoped(role("ew_org_admin", ew_org_rights), {"organizations": ["org_1", "org_2"]})

ew_admin_target(role_id, rights, scopes) := {
	"type": "administrator", "id": "", "exists": false, "self": false, "first_admin": false,
	"roles_requested": 1, "role": role(role_id, rights), "scopes": object.union(no_scopes, scopes),
}

test_org_admin_creates_org_admin_in_own_org if {
	allowed(req(elite, ew_org, "admins.create", ew_admin_target("ew_org_admin", ew_org_rights, {"organizations": ["org_1"]})))
}

test_org_admin_cannot_create_in_other_org if {
	denied_by(
		req(elite, ew_org, "admins.create", ew_admin_target("ew_org_admin", ew_org_rights, {"organizations": ["org_1", "org_3"]})),
		"scope.organization", "organization 'org_3' is outside the administrator's organizations",
	)
}

test_org_admin_target_without_org if {
	denied_by(
		req(elite, ew_org, "admins.create", ew_admin_target("ew_group_admin", ew_group_rights, {"admin_groups": ["grp_1"]})),
		"scope.organization", "the target administrator is in none of the administrator's organizations",
	)
}

test_org_admin_creates_group_admin_in_own_org if {
	allowed(req(elite, ew_org, "admins.create", ew_admin_target("ew_group_admin", ew_group_rights, {"organizations": ["org_2"], "admin_groups": ["grp_1"]})))
}

test_org_admin_cannot_move_admin_to_other_org if {
	t := object.union(ew_admin_target("ew_group_admin", ew_group_rights, {"organizations": ["org_1"]}), {
		"id": "adm_9", "exists": true,
		"new_scopes": object.union(no_scopes, {"organizations": ["org_7"]}),
	})
	denied_by(req(elite, ew_org, "admins.edit", t), "scope.organization", "organization 'org_7' is outside the administrator's organizations")
}

test_group_scoped_subject if {
	s := scoped(custom_role("role_g", "Group managers", ["ew.admins.create_group_admin"]), {"admin_groups": ["grp_1"]})
	g := object.union(s, {"role": object.union(s.role, {"scope": ["admin_group"], "product": "enterprise_workloads"})})
	denied_by(
		req(elite, g, "admins.create", ew_admin_target("ew_group_admin", ["ew.servers.manage_in_groups"], {"admin_groups": ["grp_2"]})),
		"scope.admin_group", "admin group 'grp_2' is outside the administrator's admin groups",
	)
}

test_ew_cloud_admin_not_org_scoped if {
	s := subject(role("ew_cloud_admin", ew_cloud_rights), no_scopes)
	allowed(req(elite, s, "admins.create", ew_admin_target("ew_org_admin", ew_org_rights, {"organizations": ["org_9"]})))
}
