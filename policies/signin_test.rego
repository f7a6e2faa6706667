# Sign-in by role is data (idp.RoleRules reads it): the fail-safe password
# (rules.failsafe_right), WebDAV token login (rules.webdav_token_right) and
# legal administrators' passwords under SSO (password_under_sso). These
# tests pin who holds them, so a catalog edit that hands them out shows.
package holdfast.authz_test

account_res := {"type": "account", "id": "acct_1"}

test_failsafe_right_is_the_catalogs if {
	cat.rules.failsafe_right == "account.failsafe_login"
}

test_failsafe_login_only_platform_admin if {
	allowed(req(elite, dca, cat.rules.failsafe_right, account_res))
	not allowed(req(elite, ca, cat.rules.failsafe_right, account_res))
	not allowed(req(elite, la_all, cat.rules.failsafe_right, account_res))
	not allowed(req(elite, hd, cat.rules.failsafe_right, account_res))
}

test_failsafe_login_for_a_custom_role_holding_it if {
	s := subject(custom_role("role_1", "Fail-safe", [cat.rules.failsafe_right]), all_scopes)
	allowed(req(elite, s, cat.rules.failsafe_right, account_res))
}

test_failsafe_right_cannot_be_assigned if {
	denied_by(create_role(dca, [], [cat.rules.failsafe_right]), "roles.not_assignable", "the right to sign in with the failsafe password cannot be assigned to a role")
}

test_webdav_token_right_is_api_tokens if {
	cat.rules.webdav_token_right == "api_tokens.manage"
	allowed(req(elite, dca, cat.rules.webdav_token_right, account_res))
	allowed(req(elite, ca, cat.rules.webdav_token_right, account_res))
	not allowed(req(elite, la_all, cat.rules.webdav_token_right, account_res))
	not allowed(req(elite, hd, cat.rules.webdav_token_right, account_res))
}

test_only_legal_admin_keeps_passwords_under_sso if {
	keep := {id | some id, r in cat.roles; object.get(r, "password_under_sso", false) == true}
	keep == {"legal_admin"}
}
