package holdfast.authz_test

# target builds an administrator resource: an existing one (id set) or a
# new one (create), with extra attributes.
target(r, extra) := object.union(
	{
		"type": "administrator", "id": "adm_2", "exists": true, "self": false, "first_admin": false,
		"roles_requested": 1, "role": r, "scopes": all_scopes,
	},
	extra,
)

new_admin(r, scopes) := target(r, {"id": "", "exists": false, "scopes": scopes})

ca_role := role("cloud_admin", insync_rights)

dca_role := role("platform_admin", all_rights)

hd_role := role("help_desk_admin", hd_rights)

la_role := role("legal_admin", la_rights)

ew_org_role := role("ew_org_admin", ew_org_rights)

ew_cloud := subject(role("ew_cloud_admin", ew_cloud_rights), no_scopes)

ew_org1 := subject(ew_org_role, object.union(no_scopes, {"organizations": ["org_1"]}))

admin_in(subj, action, res) := req(elite, subj, action, res)

# Platform Administrators

test_platform_admin_creates_platform_admin if {
	allowed(admin_in(dca, "admins.create", new_admin(dca_role, no_scopes)))
}

test_cloud_admin_cannot_create_platform_admin if {
	denied_by(
		admin_in(ca, "admins.create", new_admin(dca_role, no_scopes)),
		"admins.platform_admin", "only a Platform Administrator can manage Platform Administrators",
	)
}

test_cloud_admin_cannot_touch_platform_admin if {
	every action in ["admins.edit", "admins.delete", "admins.reset_password"] {
		denied_by(
			admin_in(ca, action, target(dca_role, {})),
			"admins.platform_admin", "only a Platform Administrator can manage Platform Administrators",
		)
	}
}

test_cloud_admin_cannot_promote_to_platform_admin if {
	denied_by(
		admin_in(ca, "admins.edit", target(hd_role, {"new_role": dca_role})),
		"admins.platform_admin", "only a Platform Administrator can manage Platform Administrators",
	)
}

test_cloud_admin_views_platform_admin if {
	allowed(admin_in(ca, "admins.view", target(dca_role, {})))
}

test_platform_admin_resets_cloud_admin_password if {
	allowed(admin_in(dca, "admins.reset_password", target(ca_role, {})))
}

# inSync administrators

test_cloud_admin_creates_help_desk if {
	allowed(admin_in(ca, "admins.create", new_admin(hd_role, sales_endpoints)))
}

test_cloud_admin_creates_cloud_admin if {
	allowed(admin_in(ca, "admins.create", new_admin(ca_role, no_scopes)))
}

test_cloud_admin_resets_password if {
	allowed(admin_in(ca, "admins.reset_password", target(hd_role, {})))
}

test_help_desk_cannot_create_admins if {
	denied_by(
		admin_in(hd, "admins.create", new_admin(hd_role, sales_endpoints)),
		"authz.missing_right", "Help Desk Administrator cannot create administrators",
	)
}

test_help_desk_cannot_reset_passwords if {
	denied_by(
		admin_in(hd, "admins.reset_password", target(hd_role, {})),
		"authz.missing_right", "Help Desk Administrator cannot reset administrators' passwords",
	)
}

# Enterprise Workloads administrators

test_insync_cloud_admin_cannot_create_ew_admins if {
	denied_by(
		admin_in(ca, "admins.create", new_admin(ew_org_role, object.union(no_scopes, {"organizations": ["org_1"]}))),
		"authz.missing_right", "Cloud Administrator cannot create organization administrators",
	)
	denied_by(
		admin_in(ca, "admins.create", new_admin(role("ew_cloud_admin", ew_cloud_rights), no_scopes)),
		"authz.missing_right", "Cloud Administrator cannot create Enterprise Workloads cloud administrators",
	)
}

test_ew_cloud_admin_creates_ew_admins if {
	allowed(admin_in(ew_cloud, "admins.create", new_admin(role("ew_cloud_admin", ew_cloud_rights), no_scopes)))
	allowed(admin_in(ew_cloud, "admins.create", new_admin(ew_org_role, object.union(no_scopes, {"organizations": ["org_1"]}))))
	allowed(admin_in(ew_cloud, "admins.create", new_admin(role("ew_group_admin", ew_group_rights), no_scopes)))
}

test_ew_cloud_admin_cannot_create_insync_admins if {
	x := admin_in(ew_cloud, "admins.create", new_admin(hd_role, sales_endpoints))
	denied_by(x, "authz.missing_right", "Cloud Administrator (Enterprise Workloads) cannot create administrators")
	denied_by(x, "legalhold.ew_no_insync", "Enterprise Workloads administrators have no inSync access")
}

test_ew_org_admin_creates_org_and_group_admins if {
	allowed(admin_in(ew_org1, "admins.create", new_admin(ew_org_role, object.union(no_scopes, {"organizations": ["org_1"]}))))
	allowed(admin_in(ew_org1, "admins.create", new_admin(role("ew_group_admin", ew_group_rights), object.union(no_scopes, {"organizations": ["org_1"], "admin_groups": ["grp_1"]}))))
}

test_ew_org_admin_cannot_create_ew_cloud_admin if {
	denied_by(
		admin_in(ew_org1, "admins.create", new_admin(role("ew_cloud_admin", ew_cloud_rights), object.union(no_scopes, {"organizations": ["org_1"]}))),
		"authz.missing_right", "Organization Administrator cannot create Enterprise Workloads cloud administrators",
	)
}

test_platform_admin_creates_ew_admins if {
	allowed(admin_in(dca, "admins.create", new_admin(ew_org_role, object.union(no_scopes, {"organizations": ["org_1"]}))))
}

test_ew_group_admin_cannot_create_admins if {
	g := subject(role("ew_group_admin", ew_group_rights), object.union(no_scopes, {"admin_groups": ["grp_1"]}))
	denied_by(
		admin_in(g, "admins.create", new_admin(role("ew_group_admin", ew_group_rights), object.union(no_scopes, {"admin_groups": ["grp_1"]}))),
		"authz.missing_right", "Group Administrator cannot create group administrators",
	)
}

# Cloud Administrator minimum

test_delete_cloud_admin_with_two_others if {
	allowed(admin_in(ca, "admins.delete", target(ca_role, {"other_admins_with_role": 2})))
}

test_delete_cloud_admin_with_one_other if {
	denied_by(
		admin_in(ca, "admins.delete", target(ca_role, {"other_admins_with_role": 1})),
		"admins.cloud_admin_minimum", "a Cloud Administrator can be deleted only while at least 2 other Cloud Administrators exist",
	)
}

test_delete_cloud_admin_count_unknown if {
	denied_by(
		admin_in(dca, "admins.delete", target(ca_role, {})),
		"admins.cloud_admin_minimum", "a Cloud Administrator can be deleted only while at least 2 other Cloud Administrators exist",
	)
}

test_demote_cloud_admin_with_one_other if {
	denied_by(
		admin_in(ca, "admins.edit", target(ca_role, {"other_admins_with_role": 1, "new_role": hd_role, "new_scopes": sales_endpoints})),
		"admins.cloud_admin_minimum", "a Cloud Administrator's role can be changed only while at least 2 other Cloud Administrators exist",
	)
}

test_delete_help_desk_needs_no_minimum if {
	allowed(admin_in(ca, "admins.delete", target(hd_role, {})))
}

# Privilege escalation

test_no_escalation_through_target_role if {
	edited_hd := object.union(hd_role, {"rights": array.concat(hd_rights, ["users.delete"])})
	s := subject(object.union(ca_role, {"rights": [r | some r in insync_rights; r != "users.delete"]}), all_scopes)
	denied_by(
		admin_in(s, "admins.create", new_admin(edited_hd, sales_endpoints)),
		"admins.escalation", "Cloud Administrator cannot manage administrators with the role 'Help Desk Administrator', which holds rights it lacks: delete users",
	)
}

test_no_escalation_through_new_role if {
	s := subject(object.union(ca_role, {"rights": [r | some r in insync_rights; r != "legal_holds.delete"]}), all_scopes)
	denied_by(
		admin_in(s, "admins.edit", target(hd_role, {"new_role": la_role})),
		"admins.escalation", "Cloud Administrator cannot manage administrators with the role 'Legal Administrator', which holds rights it lacks: delete legal holds",
	)
}

test_escalation_lists_rights_sorted if {
	s := subject(object.union(ca_role, {"rights": [r | some r in insync_rights; not r in {"users.delete", "legal_holds.delete"}]}), all_scopes)
	denied_by(
		admin_in(s, "admins.delete", target(role("profile_admin", array.concat(pa_rights, ["legal_holds.delete"])), {})),
		"admins.escalation", "Cloud Administrator cannot manage administrators with the role 'Profile Administrator', which holds rights it lacks: delete legal holds, delete users",
	)
}

test_escalation_not_for_viewing if {
	s := subject(object.union(ca_role, {"rights": ["admins.view"]}), all_scopes)
	allowed(admin_in(s, "admins.view", target(ca_role, {})))
}

# Editions

test_new_role_unavailable_on_create if {
	denied_by(
		req(enterprise, ca, "admins.create", new_admin(la_role, all_scopes)),
		"admins.role_unavailable", "Legal Administrator is not available in the Enterprise edition",
	)
}

test_new_role_unavailable_on_edit if {
	denied_by(
		req(business, ca, "admins.edit", target(ca_role, {"other_admins_with_role": 3, "new_role": hd_role, "new_scopes": sales_endpoints})),
		"admins.role_unavailable", "Help Desk Administrator is not available in the Business edition",
	)
}

test_legal_admin_with_governance if {
	allowed(req(enterprise_gov, ca, "admins.create", new_admin(la_role, all_scopes)))
}

# Exactly one role

test_two_roles_requested if {
	denied_by(
		admin_in(ca, "admins.create", object.union(new_admin(hd_role, sales_endpoints), {"roles_requested": 2})),
		"admins.one_role", "an administrator has exactly one role",
	)
}

test_no_role_requested if {
	x := admin_in(ca, "admins.create", object.remove(object.union(new_admin(hd_role, sales_endpoints), {"roles_requested": 0}), ["role"]))
	denied_by(x, "admins.one_role", "an administrator has exactly one role")
	decide(x).reasons == ["an administrator has exactly one role"]
}

# Required scopes

test_workload_role_needs_a_workload if {
	denied_by(
		admin_in(ca, "admins.create", new_admin(role("workload_admin", wa_rights), object.union(no_scopes, {"all_profiles": true}))),
		"admins.workload_required", "Workload Administrator needs at least one workload",
	)
}

test_workload_role_with_all_workloads if {
	allowed(admin_in(ca, "admins.create", new_admin(role("workload_admin", wa_rights), object.union(no_scopes, {"all_profiles": true, "all_workloads": true}))))
}

test_workload_role_with_sub_app if {
	allowed(admin_in(ca, "admins.create", new_admin(role("workload_admin", wa_rights), object.union(no_scopes, {"all_profiles": true, "workloads": ["exchange_online"]}))))
}

test_unknown_workload if {
	denied_by(
		admin_in(ca, "admins.create", new_admin(hd_role, object.union(no_scopes, {"workloads": ["lotus_notes"]}))),
		"admins.unknown_workload", "unknown workload 'lotus_notes'",
	)
}

test_removing_every_workload_on_edit if {
	denied_by(
		admin_in(ca, "admins.edit", target(hd_role, {"scopes": sales_endpoints, "new_scopes": object.union(sales_endpoints, {"workloads": []})})),
		"admins.workload_required", "Help Desk Administrator needs at least one workload",
	)
}

test_cloud_admin_needs_no_workload if {
	allowed(admin_in(ca, "admins.create", new_admin(ca_role, no_scopes)))
}

test_legal_admin_needs_a_legal_hold_type if {
	denied_by(
		admin_in(ca, "admins.create", new_admin(la_role, object.union(all_scopes, {"all_legal_hold_types": false}))),
		"admins.legal_hold_type_required", "Legal Administrator needs at least one legal hold type",
	)
	allowed(admin_in(ca, "admins.create", new_admin(la_role, object.union(all_scopes, {"all_legal_hold_types": false, "legal_hold_types": ["lht_hr"]}))))
}

test_custom_role_with_legal_hold_rights_needs_a_type if {
	r := custom_role("role_1", "Investigators", ["users.view", "legal_holds.view"])
	denied_by(
		admin_in(ca, "admins.create", new_admin(r, object.union(no_scopes, {"all_profiles": true, "all_workloads": true}))),
		"admins.legal_hold_type_required", "Investigators needs at least one legal hold type",
	)
}

test_custom_role_without_legal_hold_rights_needs_no_type if {
	r := custom_role("role_1", "Auditors", ["users.view"])
	allowed(admin_in(ca, "admins.create", new_admin(r, object.union(no_scopes, {"all_profiles": true, "all_workloads": true}))))
}

# Locked profiles

test_legal_admin_profiles_locked if {
	la_scopes := object.union(all_scopes, {"all_profiles": false, "profiles": ["prof_1"]})
	denied_by(
		admin_in(ca, "admins.edit", target(la_role, {"scopes": la_scopes, "new_scopes": object.union(la_scopes, {"profiles": ["prof_1", "prof_2"]})})),
		"admins.profiles_locked", "the profiles of a Legal Administrator cannot be changed",
	)
}

test_cloud_admin_profiles_locked if {
	denied_by(
		admin_in(dca, "admins.edit", target(ca_role, {"scopes": all_scopes, "new_scopes": object.union(all_scopes, {"all_profiles": false, "profiles": ["prof_1"]})})),
		"admins.profiles_locked", "the profiles of a Cloud Administrator cannot be changed",
	)
}

test_legal_admin_types_still_editable if {
	allowed(admin_in(ca, "admins.edit", target(la_role, {"scopes": all_scopes, "new_scopes": object.union(all_scopes, {"all_legal_hold_types": false, "legal_hold_types": ["lht_hr"]})})))
}

test_help_desk_profiles_editable if {
	allowed(admin_in(ca, "admins.edit", target(hd_role, {"scopes": sales_endpoints, "new_scopes": object.union(sales_endpoints, {"profiles": ["prof_2"]})})))
}

# Self and the first administrator

test_cannot_delete_self if {
	denied_by(
		admin_in(dca, "admins.delete", target(dca_role, {"self": true})),
		"admins.self", "administrators cannot delete themselves",
	)
}

test_cannot_change_own_role if {
	denied_by(
		admin_in(ca, "admins.edit", target(ca_role, {"self": true, "other_admins_with_role": 5, "new_role": hd_role, "new_scopes": sales_endpoints})),
		"admins.self", "administrators cannot change their own role or scopes",
	)
}

test_cannot_change_own_scopes if {
	denied_by(
		admin_in(ca, "admins.edit", target(ca_role, {"self": true, "new_scopes": no_scopes})),
		"admins.self", "administrators cannot change their own role or scopes",
	)
}

test_can_edit_own_details if {
	allowed(admin_in(ca, "admins.edit", target(ca_role, {"self": true})))
	allowed(admin_in(ca, "admins.edit", target(ca_role, {"self": true, "new_role": ca_role, "new_scopes": all_scopes})))
}

test_first_admin_cannot_change_own_role if {
	denied_by(
		admin_in(dca, "admins.edit", target(dca_role, {"self": true, "first_admin": true, "new_role": ca_role})),
		"admins.first_admin", "the first administrator cannot change its own role",
	)
}

test_others_may_change_first_admin_role if {
	allowed(admin_in(dca, "admins.edit", target(hd_role, {"first_admin": true, "new_role": role("profile_admin", pa_rights)})))
}

test_admin_rules_ignore_other_resources if {
	allowed(req(elite, ca, "users.view", user_res))
	count({r | some r in rules_of(req(elite, hd, "admins.create", user_res)); startswith(r, "admins.")}) == 0
}
