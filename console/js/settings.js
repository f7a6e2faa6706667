import { el, regions } from './dom.js';
import { api, optional } from './api.js';
import { can } from './access.js';
import { settingsForm } from './forms.js';

const editions = { elite_plus: 'Elite Plus', elite: 'Elite', enterprise: 'Enterprise', business: 'Business' };

// settingsPage is the account's settings: the edition and add-ons, the
// account settings (rollback, inactive administrators, audit retention,
// SSO enforcement), the administrator password policy and geofencing.
// Each field follows its own right.
export async function settingsPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const acct = await api('GET', '/api/v1/account');
  main.append(el('dl', { id: 'account-facts' }, el('dt', {}, 'Account'), el('dd', {}, acct.name),
    el('dt', {}, 'Edition'), el('dd', {}, editions[acct.edition] || acct.edition),
    el('dt', {}, 'Add-ons'), el('dd', {}, (acct.addons || []).join(', ') || 'None')));
  main.append(settingsForm(r, 'account-settings', 'Account settings', [
    { name: 'rollback_days', label: 'Rollback window (days)', kind: 'number', right: 'settings.manage', min: '1', max: '90' },
    { name: 'inactive_admin_days', label: 'Disable administrators inactive for (days)', kind: 'number', right: 'account.inactive_admin_policy.manage', min: '15', max: '180' },
    { name: 'audit_retention_days', label: 'Keep audit records for (days; 0 keeps them forever)', kind: 'number', right: 'account.audit_trail_retention.manage', min: '0', max: '3650' },
    { name: 'sso_enforced', label: 'Administrators must sign in with single sign-on', kind: 'bool', right: 'account.sso.manage' },
  ], acct.settings || {}, (body) => api('PATCH', '/api/v1/account/settings', body), () => 'Account settings saved.'));

  const policy = await optional(() => api('GET', '/api/v1/account/password-policy'));
  if (policy) {
    const right = 'account.password_policy.manage';
    main.append(settingsForm(r, 'password-policy', 'Password policy', [
      { name: 'min_length', label: 'Minimum length', kind: 'number', right: right, min: '8' },
      { name: 'max_length', label: 'Maximum length', kind: 'number', right: right },
      { name: 'require_upper', label: 'An upper-case letter', kind: 'bool', right: right },
      { name: 'require_lower', label: 'A lower-case letter', kind: 'bool', right: right },
      { name: 'require_digit', label: 'A digit', kind: 'bool', right: right },
      { name: 'require_special', label: 'A special character', kind: 'bool', right: right },
      { name: 'history', label: 'Passwords remembered (not reused)', kind: 'number', right: right, min: '0' },
      { name: 'max_failures', label: 'Failed sign-ins before lockout', kind: 'number', right: right, min: '1' },
      { name: 'lockout_minutes', label: 'Lockout (minutes)', kind: 'number', right: right, min: '1' },
      { name: 'expiry_days', label: 'Password expires after (days; 0 never)', kind: 'number', right: right, min: '0' },
      { name: 'session_idle_minutes', label: 'Sign out after idle (minutes)', kind: 'number', right: right, min: '1' },
      { name: 'mfa_for_failsafe', label: 'MFA for the fail-safe password sign-in', kind: 'bool', right: right },
    ], policy, (body) => api('PATCH', '/api/v1/account/password-policy', body), () => 'Password policy saved.'));
  }

  const fence = await optional(() => api('GET', '/api/v1/account/geofence'));
  if (fence) {
    main.append(settingsForm(r, 'geofence', 'Geofencing', [
      { name: 'enabled', label: 'Allow sign-in only from these addresses', kind: 'bool', right: 'account.geofencing.manage' },
      { name: 'allowed', label: 'Allowed addresses (IP or CIDR, one a line)', kind: 'lines', right: 'account.geofencing.manage',
        hint: 'A change that would shut out your own address is refused.' },
    ], fence, (body) => api('PUT', '/api/v1/account/geofence', Object.assign({ enabled: fence.enabled, allowed: fence.allowed || [] }, body)),
    () => 'Geofencing saved.'));
  }
  if (!can('settings.view')) main.append(el('p', { class: 'hint' }, 'Some settings are not shown: you cannot view settings.'));
}
