package holdfast.authz_test

# role_in builds a roles.manage request.
role_in(account, subj, operation, res) := object.union(
	req(account, subj, "roles.manage", object.union({"type": "role", "id": ""}, res)),
	{"action": {"name": "roles.manage", "properties": {"operation": operation}}},
)

create_role(subj, imports, rights) := role_in(elite, subj, "create", {"import_from": imports, "rights": rights})

auditors := custom_role("role_1", "Auditors", ["users.view", "reports.view"])

test_create_from_scratch if {
	allowed(create_role(ca, [], ["users.view", "reports.view"]))
}

test_create_importing_help_desk if {
	allowed(create_role(ca, [role("help_desk_admin", hd_rights)], array.concat(hd_rights, ["reports.view"])))
}

test_create_importing_without_rights_takes_imported if {
	allowed(role_in(elite, ca, "create", {"import_from": [role("view_only_admin", vo_rights)]}))
}

test_create_importing_custom_role if {
	allowed(create_role(ca, [auditors], ["users.view"]))
}

test_import_from_two_roles if {
	denied_by(
		create_role(ca, [role("help_desk_admin", hd_rights), role("view_only_admin", vo_rights)], ["users.view"]),
		"roles.import_count", "a role can import the rights of at most one role",
	)
}

test_cannot_import_reserved_roles if {
	denied_by(create_role(dca, [role("cloud_admin", insync_rights)], ["users.view"]), "roles.not_importable", "rights cannot be imported from Cloud Administrator")
	denied_by(create_role(dca, [role("legal_admin", la_rights)], ["users.view"]), "roles.not_importable", "rights cannot be imported from Legal Administrator")
	denied_by(create_role(dca, [role("platform_admin", all_rights)], ["users.view"]), "roles.not_importable", "rights cannot be imported from Platform Administrator")
}

test_edit_cannot_import_reserved_roles if {
	denied_by(
		role_in(elite, ca, "edit", {"id": "role_1", "role": auditors, "import_from": [role("legal_admin", la_rights)], "rights": ["users.view"]}),
		"roles.not_importable", "rights cannot be imported from Legal Administrator",
	)
}

test_edit_custom_role if {
	allowed(role_in(elite, ca, "edit", {"id": "role_1", "role": auditors, "import_from": [], "rights": ["users.view"]}))
}

test_edit_editable_predefined_role if {
	r := role("help_desk_admin", hd_rights)
	allowed(role_in(elite, ca, "edit", {"id": "help_desk_admin", "role": r, "import_from": [], "rights": array.concat(hd_rights, ["legal_holds.view"])}))
}

test_reserved_roles_not_editable if {
	every id in ["platform_admin", "cloud_admin", "legal_admin"] {
		denied_by(
			role_in(elite, dca, "edit", {"id": id, "role": role(id, []), "import_from": [], "rights": []}),
			"roles.not_editable", sprintf("%s cannot be edited", [cat.roles[id].name]),
		)
	}
}

test_ew_roles_not_editable if {
	denied_by(
		role_in(elite, dca, "edit", {"id": "ew_org_admin", "role": role("ew_org_admin", ew_org_rights), "import_from": [], "rights": []}),
		"roles.not_editable", "Organization Administrator cannot be edited",
	)
}

test_reserved_roles_not_deletable if {
	every id in ["platform_admin", "cloud_admin", "legal_admin", "ew_cloud_admin", "ew_group_admin_view_only"] {
		denied_by(
			role_in(elite, dca, "delete", {"id": id, "role": role(id, []), "assigned_admins": 0}),
			"roles.not_deletable", sprintf("%s cannot be deleted", [cat.roles[id].name]),
		)
	}
}

test_delete_unassigned_custom_role if {
	allowed(role_in(elite, ca, "delete", {"id": "role_1", "role": auditors, "assigned_admins": 0}))
}

test_delete_editable_predefined_role if {
	allowed(role_in(elite, ca, "delete", {"id": "view_only_admin", "role": role("view_only_admin", vo_rights), "assigned_admins": 0}))
}

test_delete_assigned_role if {
	denied_by(
		role_in(elite, ca, "delete", {"id": "role_1", "role": auditors, "assigned_admins": 3}),
		"roles.assigned", "role 'Auditors' is assigned to 3 administrators; reassign them first",
	)
	denied_by(
		role_in(elite, ca, "delete", {"id": "role_1", "role": auditors, "assigned_admins": 1}),
		"roles.assigned", "role 'Auditors' is assigned to 1 administrator; reassign them first",
	)
}

test_unknown_operation if {
	denied_by(role_in(elite, ca, "rename", {"id": "role_1", "role": auditors}), "roles.operation", "the role operation must be create, edit or delete")
	denied_by(req(elite, ca, "roles.manage", {"type": "role", "id": "role_1", "role": auditors}), "roles.operation", "the role operation must be create, edit or delete")
}

test_edit_without_role if {
	denied_by(role_in(elite, ca, "edit", {"id": "role_x", "rights": []}), "roles.unknown_role", "the role to edit is unknown")
}

test_unknown_right_in_role if {
	denied_by(create_role(ca, [], ["users.view", "users.fly"]), "roles.unknown_right", "unknown right 'users.fly'")
}

test_reserved_rights_not_assignable if {
	denied_by(create_role(ca, [], ["users.view", "admins.create"]), "roles.not_assignable", "the right to create administrators cannot be assigned to a role")
	denied_by(create_role(ca, [], ["settings.manage"]), "roles.not_assignable", "the right to change settings cannot be assigned to a role")
	denied_by(create_role(ca, [], ["api_tokens.manage"]), "roles.not_assignable", "the right to manage API tokens cannot be assigned to a role")
	denied_by(create_role(dca, [], ["account.sso.manage"]), "roles.not_assignable", "the right to configure single sign-on cannot be assigned to a role")
	denied_by(create_role(dca, [], ["ew.servers.register"]), "roles.not_assignable", "the right to register servers cannot be assigned to a role")
}

test_settings_view_assignable if {
	allowed(create_role(ca, [], ["settings.view", "storage.view"]))
}

test_import_from_ew_role_brings_reserved_rights if {
	x := role_in(elite, dca, "create", {"import_from": [role("ew_group_admin", ew_group_rights)]})
	denied_by(x, "roles.not_assignable", "the right to manage servers of administrative groups cannot be assigned to a role")
	not "the right to register servers cannot be assigned to a role" in decide(x).reasons
}

test_legal_hold_rights_assignable_to_any_role if {
	allowed(create_role(ca, [role("help_desk_admin", hd_rights)], array.concat(hd_rights, ["legal_holds.view", "legal_holds.create_manage"])))
}

test_legal_hold_rights_need_governance_on_enterprise if {
	x := role_in(enterprise, ca, "create", {"import_from": [], "rights": ["users.view", "legal_holds.view"]})
	denied_by(x, "roles.legal_hold_rights", "Legal Hold Management is not available in the Enterprise edition without the Governance add-on")
	allowed(object.union(x, {"account": enterprise_gov}))
}

test_no_escalation_through_requested_rights if {
	denied_by(
		create_role(hd, [], ["users.view", "users.delete"]),
		"roles.escalation", "Help Desk Administrator cannot create or edit a role with rights it does not hold: delete users",
	)
}

test_no_escalation_through_import if {
	s := subject(object.union(role("cloud_admin", insync_rights), {"rights": [r | some r in insync_rights; r != "users.delete"]}), all_scopes)
	denied_by(
		create_role(s, [role("profile_admin", pa_rights)], ["users.view"]),
		"roles.escalation", "Cloud Administrator cannot create or edit a role with rights it does not hold: delete users",
	)
}

test_no_escalation_through_existing_role if {
	s := subject(object.union(role("cloud_admin", insync_rights), {"rights": [r | some r in insync_rights; r != "privacy.manage"]}), all_scopes)
	x := role_in(elite, s, "edit", {"id": "data_protection_officer", "role": role("data_protection_officer", ["users.view", "profiles.view", "privacy.manage"]), "import_from": [], "rights": ["users.view"]})
	denied_by(x, "roles.escalation", "Cloud Administrator cannot create or edit a role with rights it does not hold: manage data privacy settings")
}

test_escalation_lists_every_right if {
	denied_by(
		create_role(hd, [], ["users.delete", "legal_holds.view", "users.view"]),
		"roles.escalation", "Help Desk Administrator cannot create or edit a role with rights it does not hold: delete users, view legal holds",
	)
}

test_roles_manage_needs_the_right if {
	denied_by(create_role(hd, [], ["users.view"]), "authz.missing_right", "Help Desk Administrator cannot manage roles")
}
