# Tests of authz.rego, and the helpers every *_test.rego of this package uses.
# The catalog is the real one, at data.holdfast.catalog.
package holdfast.authz_test

import data.holdfast.authz

cat := data.holdfast.catalog

# Rights of the predefined roles, as Casbin answers them by default.
all_rights := [r | some r, _ in cat.rights]

insync_rights := [r | some r, x in cat.rights; x.product == "insync"]

hd_rights := [
	"users.view", "users.manage", "users.download_auth_keys", "profiles.view", "backups.configure",
	"backups.perform", "restores.view", "restores.manage", "user_data.download",
]

la_rights := [
	"user_data.download", "legal_holds.create_manage", "legal_holds.view", "legal_holds.delete",
	"legal_hold_types.manage", "legal_hold_clients.manage", "reports.view", "sdg.templates.manage",
]

pa_rights := [
	"users.view", "users.create_import", "users.manage", "users.delete", "users.download_auth_keys",
	"profiles.view", "profiles.manage", "workloads.manage", "workloads.delete", "devices.decommission",
	"devices.upgrade_client", "devices.manage_mappings", "backups.configure", "backups.perform",
	"restores.view", "restores.manage", "user_data.download", "reports.view", "sdg.noncompliance_reports.view",
]

wa_rights := [
	"users.view", "profiles.view", "workloads.manage", "workloads.delete", "devices.decommission",
	"devices.upgrade_client", "devices.manage_mappings", "backups.configure", "backups.perform",
	"restores.view", "restores.manage",
]

vo_rights := ["users.view", "reports.view", "settings.view"]

ew_cloud_rights := [
	"ew.organizations.create", "ew.organizations.view_all", "ew.servers.register",
	"ew.servers.configure_backup_restore", "ew.servers.manage_in_groups", "ew.dashboards_reports.view",
	"ew.admins.create_cloud_admin", "ew.admins.create_org_admin", "ew.admins.create_group_admin",
	"ew.admins.change_group_assignment", "ew.audit_alerts_reports.configure",
]

ew_org_rights := [
	"ew.servers.register", "ew.servers.configure_backup_restore", "ew.servers.manage_in_groups",
	"ew.dashboards_reports.view", "ew.admins.create_org_admin", "ew.admins.create_group_admin",
	"ew.admins.change_group_assignment",
]

ew_group_rights := ["ew.servers.configure_backup_restore", "ew.servers.manage_in_groups", "ew.dashboards_reports.view"]

# role is a resolved predefined role object.
role(id, rights) := {
	"id": id, "name": cat.roles[id].name, "product": cat.roles[id].product,
	"scope": cat.roles[id].scope, "predefined": true, "base": id, "rights": rights,
}

custom_role(id, name, rights) := {
	"id": id, "name": name, "product": "insync", "scope": cat.custom_role.scope,
	"predefined": false, "base": "custom", "rights": rights,
}

no_scopes := {
	"all_profiles": false, "profiles": [], "all_workloads": false, "workloads": [],
	"all_legal_hold_types": false, "legal_hold_types": [], "organizations": [], "admin_groups": [],
}

all_scopes := object.union(no_scopes, {"all_profiles": true, "all_workloads": true, "all_legal_hold_types": true})

sales_endpoints := object.union(no_scopes, {"profiles": ["prof_1"], "workloads": ["endpoints"]})

subject(r, scopes) := {
	"type": "administrator", "id": "adm_1", "email": "ann@example.com", "name": "Ann",
	"state": "active", "first_admin": false, "role": r, "scopes": scopes,
}

dca := subject(role("platform_admin", all_rights), all_scopes)

ca := subject(role("cloud_admin", insync_rights), all_scopes)

hd := subject(role("help_desk_admin", hd_rights), sales_endpoints)

pa := subject(role("profile_admin", pa_rights), sales_endpoints)

vo := subject(role("view_only_admin", vo_rights), sales_endpoints)

la_all := subject(role("legal_admin", la_rights), all_scopes)

la_hr := subject(role("legal_admin", la_rights), object.union(all_scopes, {"all_legal_hold_types": false, "legal_hold_types": ["lht_hr"]}))

elite := {"id": "acct_1", "edition": "elite", "addons": []}

elite_plus := {"id": "acct_1", "edition": "elite_plus", "addons": []}

enterprise := {"id": "acct_1", "edition": "enterprise", "addons": []}

enterprise_gov := {"id": "acct_1", "edition": "enterprise", "addons": ["addon_governance"]}

business := {"id": "acct_1", "edition": "business", "addons": []}

business_gov := {"id": "acct_1", "edition": "business", "addons": ["addon_governance"]}

user_res := {
	"type": "user", "id": "usr_1", "exists": true, "profile_id": "prof_1", "profile_name": "Sales",
	"state": "active", "workloads": ["endpoints"], "holds": [], "privacy_blocks_admins": false,
}

req(account, subj, action, resource) := {
	"account": account, "subject": subj, "action": {"name": action, "properties": {}},
	"resource": resource, "context": {},
}

decide(x) := d if {
	d := authz.decision with input as x
}

# allowed and denied_by read a decision.
allowed(x) if decide(x).allow == true

denied_by(x, rule, reason) if {
	d := decide(x)
	d.allow == false
	rule in d.rules
	reason in d.reasons
}

rules_of(x) := {r | some r in decide(x).rules}

# authz.rego

test_cloud_admin_views_users if {
	allowed(req(elite, ca, "users.view", user_res))
}

test_allow_has_no_reasons if {
	decide(req(elite, ca, "users.view", user_res)) == {"allow": true, "reasons": [], "rules": []}
}

test_help_desk_cannot_view_legal_holds if {
	denied_by(
		req(elite, hd, "legal_holds.view", {"type": "legal_hold", "id": "lh_1", "type_id": "lht_hr", "name": "Q3 audit"}),
		"authz.missing_right", "Help Desk Administrator cannot view legal holds",
	)
}

test_help_desk_cannot_delete_users if {
	denied_by(req(elite, hd, "users.delete", user_res), "authz.missing_right", "Help Desk Administrator cannot delete users")
}

test_cloud_admin_cannot_configure_sso if {
	denied_by(
		req(elite, ca, "account.sso.manage", {"type": "account", "id": "acct_1"}),
		"authz.missing_right", "Cloud Administrator cannot configure single sign-on",
	)
}

test_platform_admin_configures_sso if {
	allowed(req(business, dca, "account.sso.manage", {"type": "account", "id": "acct_1"}))
}

test_unknown_right if {
	denied_by(req(elite, dca, "users.fly", user_res), "authz.unknown_right", "unknown right 'users.fly'")
}

test_unknown_right_is_the_only_reason if {
	decide(req(elite, dca, "users.fly", user_res)).reasons == ["unknown right 'users.fly'"]
}

test_unknown_edition if {
	denied_by(req({"id": "acct_1", "edition": "platinum", "addons": []}, ca, "users.view", user_res), "authz.unknown_edition", "unknown edition 'platinum'")
}

test_missing_account_denies if {
	d := authz.decision with input as object.remove(req(elite, ca, "users.view", user_res), ["account"])
	d.allow == false
	"authz.unknown_edition" in d.rules
}

test_disabled_administrator if {
	disabled := object.union(ca, {"state": "disabled"})
	denied_by(req(elite, disabled, "users.view", user_res), "authz.disabled", "the administrator is disabled")
}

test_non_administrator_subject if {
	token := object.union(ca, {"type": "api_token"})
	denied_by(req(elite, token, "users.view", user_res), "authz.subject_type", "only administrators can be authorized")
}

test_custom_role_uses_its_name if {
	s := subject(custom_role("role_1", "Auditors", ["users.view"]), all_scopes)
	denied_by(req(elite, s, "users.delete", user_res), "authz.missing_right", "Auditors cannot delete users")
}

test_custom_role_allowed if {
	s := subject(custom_role("role_1", "Auditors", ["users.view"]), all_scopes)
	allowed(req(elite, s, "users.view", user_res))
}

test_edited_predefined_role_rights_count if {
	edited := object.union(role("help_desk_admin", hd_rights), {"rights": array.concat(hd_rights, ["users.delete"])})
	allowed(req(elite, subject(edited, sales_endpoints), "users.delete", user_res))
}

test_empty_rights_deny if {
	s := subject(role("view_only_admin", []), all_scopes)
	denied_by(req(elite, s, "users.view", user_res), "authz.missing_right", "View Only Administrator cannot view users")
}

test_reasons_sorted_and_deduplicated if {
	disabled := object.union(hd, {"state": "disabled"})
	d := decide(req(elite, disabled, "users.delete", object.union(user_res, {"holds": [
		{"id": "lh_1", "name": "Q3 audit", "type_id": "lht_hr"},
		{"id": "lh_2", "name": "Q3 audit", "type_id": "lht_legal"},
	]})))
	d.reasons == sort(d.reasons)
	d.rules == sort(d.rules)
	count(d.reasons) == count({r | some r in d.reasons})
	count([r | some r in d.reasons; r == "user is on legal hold 'Q3 audit'"]) == 1
	d.rules == ["authz.disabled", "authz.missing_right", "legalhold.on_hold"]
}

test_minimal_input_without_properties if {
	d := authz.decision with input as {"account": elite, "subject": ca, "action": {"name": "users.view"}, "resource": user_res}
	d.allow == true
}

test_decision_is_default_deny_when_rights_missing_and_no_rule if {
	d := authz.decision with input as req(elite, ca, "users.view", user_res)
		with authz.deny as set()
		with authz.required_rights as {"account.sso.manage"}
	d == {"allow": false, "reasons": ["no rule allows this"], "rules": ["authz.default_deny"]}
}

test_role_name_fallbacks if {
	authz.role_name({"id": "cloud_admin"}) == "Cloud Administrator"
	authz.role_name({"id": "x"}) == "this administrator"
	authz.role_name({"id": "x", "name": "X"}) == "X"
}

test_role_base if {
	authz.role_base({"id": "role_1", "base": "custom"}) == "custom"
	authz.role_base({"id": "help_desk_admin"}) == "help_desk_admin"
}

test_right_label if {
	authz.right_label("users.delete") == "delete users"
	authz.right_label("admins.create") == "create administrators"
	authz.right_label("legal_holds.view") == "view legal holds"
	authz.right_label("x.y") == "x.y"
}
