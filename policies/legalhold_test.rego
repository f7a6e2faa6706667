package holdfast.authz_test

q3 := {"id": "lh_1", "name": "Q3 audit", "type_id": "lht_hr"}

merger := {"id": "lh_2", "name": "Merger", "type_id": "lht_legal"}

untyped := {"id": "lh_3", "name": "Old matter", "type_id": ""}

held_user(holds) := object.union(user_res, {"holds": holds})

test_user_on_hold_not_deleted if {
	denied_by(req(elite, ca, "users.delete", held_user([q3])), "legalhold.on_hold", "user is on legal hold 'Q3 audit'")
}

test_every_hold_named if {
	d := decide(req(elite, dca, "users.delete", held_user([q3, merger])))
	d.allow == false
	d.reasons == ["user is on legal hold 'Merger'", "user is on legal hold 'Q3 audit'"]
	d.rules == ["legalhold.on_hold"]
}

test_hold_without_name_uses_id if {
	denied_by(req(elite, ca, "users.delete", held_user([{"id": "lh_9", "type_id": ""}])), "legalhold.on_hold", "user is on legal hold 'lh_9'")
}

test_user_not_on_hold_deleted if {
	allowed(req(elite, ca, "users.delete", user_res))
}

test_device_of_held_user_not_deleted if {
	dev := {
		"type": "device", "id": "dev_1", "user_id": "usr_1", "profile_id": "prof_1", "profile_name": "Sales",
		"workload": "endpoints", "workloads": ["endpoints"], "holds": [q3], "privacy_blocks_admins": false,
	}
	denied_by(req(elite, ca, "workloads.delete", dev), "legalhold.on_hold", "user is on legal hold 'Q3 audit'")
	allowed(req(elite, ca, "workloads.delete", object.union(dev, {"holds": []})))
}

test_held_user_still_managed if {
	allowed(req(elite, ca, "users.manage", held_user([q3])))
	allowed(req(elite, ca, "backups.perform", held_user([q3])))
}

# Privacy

private_user(holds) := object.union(user_res, {"holds": holds, "privacy_blocks_admins": true})

test_privacy_blocks_help_desk if {
	denied_by(
		req(elite, hd, "user_data.download", private_user([])),
		"legalhold.privacy", "the user's profile blocks administrator access to user data",
	)
}

test_privacy_blocks_cloud_admin_without_hold if {
	denied_by(
		req(elite, ca, "user_data.download", private_user([])),
		"legalhold.privacy", "the user's profile blocks administrator access to user data",
	)
}

test_privacy_off if {
	allowed(req(elite, hd, "user_data.download", user_res))
}

test_legal_admin_reads_held_private_user if {
	allowed(req(elite, la_hr, "user_data.download", private_user([q3])))
}

test_legal_admin_hold_of_other_type if {
	denied_by(
		req(elite, la_hr, "user_data.download", private_user([merger])),
		"legalhold.privacy", "the user's profile blocks administrator access to user data",
	)
}

test_legal_admin_one_hold_in_scope_is_enough if {
	allowed(req(elite, la_hr, "user_data.download", private_user([merger, q3])))
}

test_untyped_hold_needs_all_types if {
	denied_by(
		req(elite, la_hr, "user_data.download", private_user([untyped])),
		"legalhold.privacy", "the user's profile blocks administrator access to user data",
	)
	allowed(req(elite, la_all, "user_data.download", private_user([untyped])))
}

test_help_desk_on_hold_still_blocked if {
	denied_by(
		req(elite, hd, "user_data.download", private_user([q3])),
		"legalhold.privacy", "the user's profile blocks administrator access to user data",
	)
}

test_cloud_admin_reads_held_private_user if {
	allowed(req(elite_plus, ca, "user_data.download", private_user([untyped])))
}

test_privacy_only_for_download if {
	allowed(req(elite, hd, "users.manage", private_user([])))
}

# Enterprise Workloads administrators

test_ew_cloud_admin_has_no_insync_access if {
	s := subject(role("ew_cloud_admin", array.concat(ew_cloud_rights, ["users.view"])), no_scopes)
	denied_by(req(elite, s, "users.view", user_res), "legalhold.ew_no_insync", "Enterprise Workloads administrators have no inSync access")
}

test_ew_org_admin_has_no_insync_access if {
	s := subject(role("ew_org_admin", ew_org_rights), no_scopes)
	x := req(elite, s, "legal_holds.view", {"type": "legal_hold", "id": "lh_1", "type_id": "lht_hr", "name": "Q3 audit"})
	denied_by(x, "legalhold.ew_no_insync", "Enterprise Workloads administrators have no inSync access")
	denied_by(x, "authz.missing_right", "Organization Administrator cannot view legal holds")
}

test_ew_admin_no_platform_rights if {
	s := subject(role("ew_cloud_admin", ew_cloud_rights), no_scopes)
	denied_by(req(elite, s, "account.sso.manage", {"type": "account", "id": "acct_1"}), "legalhold.ew_no_insync", "Enterprise Workloads administrators have no inSync access")
}

test_ew_admin_uses_ew_rights if {
	s := subject(role("ew_org_admin", ew_org_rights), no_scopes)
	allowed(req(elite, s, "ew.servers.register", {"type": "account", "id": "acct_1"}))
}

test_platform_admin_uses_both_products if {
	allowed(req(elite, dca, "ew.servers.register", {"type": "account", "id": "acct_1"}))
	allowed(req(elite, dca, "users.view", user_res))
}

test_hold_outside_types_not_named if {
	s := subject(
		custom_role("role_1", "Investigators", ["users.view", "users.delete", "legal_holds.view"]),
		object.union(all_scopes, {"all_legal_hold_types": false, "legal_hold_types": ["lht_hr"]}),
	)
	d := decide(req(elite, s, "users.delete", held_user([q3, merger, untyped])))
	d.allow == false
	d.reasons == ["user is on a legal hold outside the administrator's legal hold types", "user is on legal hold 'Q3 audit'"]
}
