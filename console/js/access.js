// What the signed-in administrator may do, asked of the decision engine
// once, in one AuthZEN batch (/access/v1/evaluations), when the console
// starts. The console shows only the pages, buttons and fields the
// answers allow; the server still decides every call.
import { api, state } from './api.js';

// RIGHTS are every right a page, button or field of the console follows.
export const RIGHTS = [
  'admins.view', 'admins.create', 'admins.edit', 'admins.delete', 'admins.reset_password', 'roles.manage',
  'users.view', 'users.create_import', 'users.manage', 'users.delete', 'users.download_auth_keys',
  'profiles.view', 'profiles.manage', 'profiles.create_delete', 'privacy.manage',
  'workloads.manage', 'workloads.delete', 'devices.decommission', 'devices.upgrade_client',
  'legal_holds.view', 'legal_holds.create_manage', 'legal_holds.delete', 'legal_hold_types.manage',
  'settings.view', 'settings.manage', 'api_tokens.manage',
  'account.sso.manage', 'account.geofencing.manage', 'account.password_policy.manage',
  'account.inactive_admin_policy.manage', 'account.audit_trail_retention.manage',
];

const decided = new Map();

// loadDecisions asks the engine about every right in RIGHTS on the
// caller's account, for the caller, in one batch.
export async function loadDecisions() {
  const out = await api('POST', '/access/v1/evaluations', {
    subject: { type: 'administrator', id: state.adminID },
    resource: { type: 'account', id: state.accountID },
    options: { include_context: true },
    evaluations: RIGHTS.map((name) => ({ action: { name: name } })),
  });
  decided.clear();
  RIGHTS.forEach((name, i) => {
    const e = (out.evaluations || [])[i] || {};
    const c = e.context || {};
    const reasons = Array.isArray(c.reasons) ? c.reasons : [];
    const err = c.error && c.error.message ? [c.error.message] : [];
    decided.set(name, { allow: e.decision === true, reasons: reasons.concat(err) });
  });
}

// can reports whether any of rights is allowed.
export function can(...rights) {
  return rights.some((r) => (decided.get(r) || {}).allow === true);
}

// why is the engine's reason for refusing right, in its words.
export function why(right) {
  const d = decided.get(right);
  if (!d) return 'The console did not ask about ' + right + '.';
  return d.reasons.length ? d.reasons.join('; ') : 'Not allowed.';
}
