package holdfast.bundle_test

import data.holdfast.bundle

account := {
	"account": {"id": "acct_1", "edition": "elite", "addons": []},
	"admins": {"adm_1": {
		"id": "adm_1", "email": "ann@x.test", "name": "Ann", "state": "active", "role": "help_desk_admin",
		"first_admin": false,
		"scopes": {
			"all_profiles": false, "profiles": ["prof_1"], "all_workloads": true, "workloads": [],
			"all_legal_hold_types": false, "legal_hold_types": [], "organizations": [], "admin_groups": [],
		},
	}},
	"admins_by_email": {"ann@x.test": "adm_1"},
	"role_admin_counts": {"help_desk_admin": 1},
	"roles": {"help_desk_admin": {
		"id": "help_desk_admin", "name": "Help Desk Administrator", "product": "insync",
		"scope": ["profile", "workload"], "predefined": true, "base": "help_desk_admin", "rights": ["users.view"],
	}},
	"profiles": {"prof_1": {"id": "prof_1", "name": "Eng", "workloads": ["endpoints"], "block_admin_access": false}},
	"users": {"usr_1": {"id": "usr_1", "profile_id": "prof_1", "state": "active"}},
	"devices": {"dev_1": {"id": "dev_1", "user_id": "usr_1", "workload": "exchange_online"}},
	"device_workloads": {"usr_1": ["exchange_online"]},
	"hold_types": {"lht_1": {"id": "lht_1", "name": "Legal", "predefined": true}},
	"holds": {"hold_1": {"id": "hold_1", "name": "Q3 audit", "type_id": "lht_1"}},
	"custodians": {"usr_1": ["hold_1"]},
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

test_user_resolved_with_holds_and_workloads if {
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
