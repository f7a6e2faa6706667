package holdfast.bundle_test

import data.holdfast.bundle

hd_role := {
	"id": "help_desk_admin", "name": "Help Desk Administrator", "product": "insync",
	"scope": ["profile", "workload"], "predefined": true, "base": "help_desk_admin", "rights": ["users.view"],
}

ann_scopes := {
	"all_profiles": false, "profiles": ["prof_1"], "all_workloads": true, "workloads": [],
	"all_legal_hold_types": false, "legal_hold_types": [], "organizations": [], "admin_groups": [],
}

held_user := {
	"profile_id": "prof_1", "profile_name": "Eng", "state": "active", "privacy_blocks_admins": false,
	"workloads": ["endpoints", "exchange_online"],
	"holds": [{"id": "hold_1", "name": "Q3 audit", "type_id": "lht_1"}],
}

# The account data as the engine writes it (authz/bundle.go): every
# attribute already resolved, keyed by id.
account := {
	"account": {"id": "acct_1", "edition": "elite", "addons": []},
	"subjects": {
		"adm_1": {"role_id": "help_desk_admin", "attrs": {
			"type": "administrator", "id": "adm_1", "email": "ann@x.test", "name": "Ann", "state": "active",
			"first_admin": false, "role": hd_role, "scopes": ann_scopes,
		}},
		"adm_orphan": {"role_id": "role_gone"},
	},
	"subjects_by_email": {"ann@x.test": "adm_1"},
	"admin_targets": {"adm_1": {"role_id": "help_desk_admin", "attrs": {"role": hd_role, "scopes": ann_scopes, "first_admin": false}}},
	"roles": {"help_desk_admin": hd_role},
	"role_targets": {"help_desk_admin": {"role": hd_role, "assigned_admins": 1}},
	"assignments": {"help_desk_admin": {"role": hd_role}},
	"profiles": {"prof_1": {"profile_id": "prof_1", "profile_name": "Eng"}},
	"new_member_profiles": {"prof_1": {"profile_id": "prof_1", "profile_name": "Eng", "privacy_blocks_admins": false, "workloads": ["endpoints"]}},
	"users": {"usr_1": held_user},
	"devices": {"dev_1": object.union(held_user, {"user_id": "usr_1", "workload": "exchange_online", "workloads": ["exchange_online"]})},
	"hold_types": {"lht_1": true},
	"holds": {"hold_1": {"name": "Q3 audit", "type_id": "lht_1"}},
}

req(subject, resource) := {
	"subject": {"type": "administrator", "id": subject},
	"action": {"name": "users.view"},
	"resource": resource,
}

test_unknown_subject_refused if {
	d := bundle.decision with data.holdfast.account as account
		with input as req("nobody@x.test", {"type": "user", "id": "usr_1"})
	d == {"allow": false, "reasons": ["unknown administrator"], "rules": ["subject.unknown"]}
}

test_wrong_subject_type_refused if {
	d := bundle.decision with data.holdfast.account as account
		with input as {"subject": {"type": "user", "id": "x"}, "action": {"name": "users.view"}, "resource": {"type": "account"}}
	d.rules == ["subject.type"]
}

test_missing_action_refused if {
	d := bundle.decision with data.holdfast.account as account
		with input as {"subject": {"type": "administrator", "id": "adm_1"}, "resource": {"type": "account"}}
	d.rules == ["action.missing"]
}

test_unknown_resource_refused if {
	d := bundle.decision with data.holdfast.account as account
		with input as req("adm_1", {"type": "user", "id": "usr_missing"})
	d.reasons == [`user "usr_missing" not found`]
}

test_subject_by_email_case_insensitive if {
	s := bundle.subject with data.holdfast.account as account
		with input as req("ANN@x.test", {"type": "user", "id": "usr_1"})
	s.id == "adm_1"
}

test_user_attributes_looked_up if {
	r := bundle.resource with data.holdfast.account as account
		with input as req("adm_1", {"type": "user", "id": "usr_1"})
	r.profile_id == "prof_1"
	r.profile_name == "Eng"
	r.workloads == ["endpoints", "exchange_online"]
	r.holds == [{"id": "hold_1", "name": "Q3 audit", "type_id": "lht_1"}]
}

test_device_takes_its_own_workload if {
	r := bundle.resource with data.holdfast.account as account
		with input as req("adm_1", {"type": "device", "id": "dev_1"})
	r.user_id == "usr_1"
	r.workloads == ["exchange_online"]
}

test_new_device_of_user_takes_requested_workload if {
	r := bundle.resource with data.holdfast.account as account
		with input as req("adm_1", {"type": "device", "properties": {"user_id": "usr_1", "workload": "endpoints"}})
	r.user_id == "usr_1"
	r.workload == "endpoints"
	r.workloads == ["endpoints"]
	r.holds == held_user.holds
	r.exists == false
}

test_new_user_takes_profile_attributes if {
	r := bundle.resource with data.holdfast.account as account
		with input as req("adm_1", {"type": "user", "properties": {"profile_id": "prof_1"}})
	r.workloads == ["endpoints"]
	r.holds == []
	r.profile_name == "Eng"
}

test_subject_with_unknown_role_refused if {
	d := bundle.decision with data.holdfast.account as account
		with input as req("adm_orphan", {"type": "user", "id": "usr_1"})
	d.rules == ["subject.role_unknown"]
	d.reasons == [`role "role_gone" of the administrator does not exist`]
}

test_existing_admin_is_self if {
	r := bundle.resource with data.holdfast.account as account
		with input as req("adm_1", {"type": "administrator", "id": "adm_1", "properties": {"new_role": "help_desk_admin"}})
	r.self == true
	r.roles_requested == 1
	r.new_role == hd_role
	r.scopes == ann_scopes
}

test_existing_role_looked_up if {
	r := bundle.resource with data.holdfast.account as account
		with input as req("adm_1", {"type": "role", "id": "help_desk_admin", "properties": {"import_from": "help_desk_admin"}})
	r.assigned_admins == 1
	r.import_from == [hd_role]
}

test_caller_properties_do_not_override_stored if {
	r := bundle.resource with data.holdfast.account as account
		with input as req("adm_1", {"type": "user", "id": "usr_1", "properties": {"profile_id": "prof_other"}})
	r.profile_id == "prof_1"
}

test_new_admin_counts_requested_roles if {
	r := bundle.resource with data.holdfast.account as account
		with input as req("adm_1", {"type": "administrator", "properties": {"roles": ["help_desk_admin", "help_desk_admin"]}})
	r.roles_requested == 2
	r.role.id == "help_desk_admin"
}

test_bad_scopes_refused if {
	d := bundle.decision with data.holdfast.account as account
		with input as req("adm_1", {"type": "administrator", "properties": {"role": "help_desk_admin", "scopes": {"profiles": "prof_1"}}})
	d.rules == ["request.invalid"]
}

test_resolved_input_reaches_policy if {
	d := bundle.decision with data.holdfast.account as account
		with input as req("adm_1", {"type": "user", "id": "usr_1"})
		with data.holdfast.authz.decision as {"allow": true, "reasons": [], "rules": []}
	d.allow
}

test_new_user_in_known_profile_not_refused if {
	not bundle.refusal with data.holdfast.account as account
		with input as req("adm_1", {"type": "user", "properties": {"profile_id": "prof_1"}})
}

test_batch_keeps_order if {
	ds := bundle.batch with data.holdfast.account as account
		with input as {"evaluations": [
			req("nobody@x.test", {"type": "user", "id": "usr_1"}),
			req("adm_1", {"type": "user", "id": "usr_1"}),
		]}
		with data.holdfast.authz.decision as {"allow": true, "reasons": [], "rules": []}
	[d.allow | some d in ds] == [false, true]
}
