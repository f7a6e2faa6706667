import { el, field, input, select, regions, when, counted, grid } from './dom.js';
import { api, guard, optional, picker, findAdmins, listing } from './api.js';

// The objects of the trail by type: how to read one's name (by id) and
// what to call the type.
const kinds = {
  administrator: { label: 'Administrator', path: '/api/v1/administrators/', name: (x) => x.name },
  user: { label: 'User', path: '/api/v1/users/', name: (x) => x.name },
  device: { label: 'Device', path: '/api/v1/devices/', name: (x) => x.name },
  profile: { label: 'Profile', path: '/api/v1/profiles/', name: (x) => x.name },
  role: { label: 'Role', path: '/api/v1/roles/', name: (x) => x.name },
  legal_hold: { label: 'Legal hold', path: '/api/v1/legal-holds/', name: (x) => x.name },
  legal_hold_type: { label: 'Legal hold type' },
  account: { label: 'Account' },
  settings: { label: 'Settings' },
  api_token: { label: 'API token' },
  identity_provider: { label: 'Identity provider', path: '/api/v1/identity-providers/', name: (x) => x.name },
};

// namer finds the names of the trail's objects, each asked once per page
// life; an object gone (deleted) or out of sight keeps the name its
// record's detail gives, else its id.
function namer() {
  const known = new Map();
  return {
    async learn(records) {
      for (const rec of records) {
        const k = kinds[rec.resource_type];
        const key = rec.resource_type + ':' + rec.resource_id;
        if (!rec.resource_id || known.has(key)) continue;
        const d = rec.detail || {};
        known.set(key, d.name || d.email || null);
        if (!k || !k.path) continue;
        const x = await optional(() => api('GET', k.path + encodeURIComponent(rec.resource_id)));
        if (x) known.set(key, k.name(x));
      }
    },
    name: (rec) => known.get(rec.resource_type + ':' + rec.resource_id) || rec.resource_id,
  };
}

// auditPage shows the account's trail: who did what to which object, by
// name; filters by time (from, to), actor (a picker), action and object
// type; the verification of the chain at the top; a CSV export of what
// the filters keep.
export async function auditPage(main) {
  const r = regions();
  const verdict = el('div', { id: 'audit-verdict', 'aria-live': 'polite' });
  main.append(r.status, r.alert, verdict);
  const from = input({ type: 'date', name: 'since' });
  const to = input({ type: 'date', name: 'before' });
  const actor = picker('Actor', findAdmins, 'actor');
  const action = input({ name: 'action', list: 'audit-actions', autocomplete: 'off' });
  const actions = el('datalist', { id: 'audit-actions' });
  const rtype = select([['', 'Any object']].concat(Object.entries(kinds).map(([k, v]) => [k, v.label])), '', { name: 'resource_type' });
  const filters = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit trail', novalidate: true },
    field('From', from, 'since'), field('To (included)', to, 'before'), actor.node,
    field('Action', action, 'action'), actions, field('Object', rtype, 'resource_type'),
    el('button', { type: 'submit' }, 'Apply filters'));
  const exportLink = el('a', { href: '/api/v1/audit/export', download: 'audit-trail.csv', id: 'audit-export' }, 'Export these records as CSV');
  const verify = el('button', { type: 'button', id: 'verify-audit' }, 'Verify again');
  const table = el('table', { id: 'audit' });
  main.append(filters, el('p', { class: 'actions' }, exportLink, verify), table);
  const names = namer();
  const seen = new Set();
  let objectID = '';

  const columns = [['Seq', (x) => String(x.seq)], ['Time', (x) => when(x.time)], ['Actor', (x) => x.actor_email || 'system'],
    ['Action', (x) => x.action], ['Object', objectCell], ['Outcome', (x) => x.outcome], ['Detail', detailCell]];

  function objectCell(x) {
    if (!x.resource_type) return '';
    const label = (kinds[x.resource_type] || { label: x.resource_type }).label;
    if (!x.resource_id) return label;
    return [label + ': ', el('button', { type: 'button', class: 'link', title: 'Show only this object\'s records',
      onclick: () => { objectID = x.resource_id; rtype.value = x.resource_type; load(); } }, names.name(x))];
  }

  function detailCell(x) {
    const d = x.detail;
    if (d === undefined || d === null) return '';
    if (typeof d !== 'object') return String(d);
    return el('dl', { class: 'detail' }, Object.entries(d).map(([k, v]) =>
      [el('dt', {}, k.replace(/_/g, ' ')), el('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v))]));
  }

  const list = listing(r, table, filters, '/api/v1/audit', 'records', async (items, total) => {
    await names.learn(items);
    for (const x of items) {
      if (!seen.has(x.action)) {
        seen.add(x.action);
        actions.append(el('option', { value: x.action }));
      }
    }
    const caption = counted(items.length, total, 'record', 'records') + (objectID ? ' of one object' : '');
    grid(table, caption, columns, items);
  });

  function query() {
    const q = new URLSearchParams({ limit: '100' });
    // Dates are the browser's days: from its midnight to the next one after "to".
    if (from.value) q.set('since', new Date(from.value + 'T00:00:00').toISOString().replace(/\.\d+Z$/, 'Z'));
    if (to.value) {
      const end = new Date(to.value + 'T00:00:00');
      end.setDate(end.getDate() + 1);
      q.set('before', end.toISOString().replace(/\.\d+Z$/, 'Z'));
    }
    if (actor.value()) q.set('actor', actor.value());
    if (action.value.trim()) q.set('action', action.value.trim());
    if (rtype.value) q.set('resource_type', rtype.value);
    if (objectID) q.set('resource_id', objectID);
    return q;
  }

  async function load() {
    const q = query();
    const e = new URLSearchParams(q);
    e.delete('limit');
    exportLink.setAttribute('href', '/api/v1/audit/export' + (e.toString() ? '?' + e.toString() : ''));
    await list(q);
  }

  async function check() {
    await guard(r, null, async () => {
      const v = await api('GET', '/api/v1/audit/verify');
      verdict.replaceChildren(v.ok
        ? el('p', { class: 'status' }, 'Verified: the audit trail is intact, ' + v.records + ' records, the newest checkpoint at record ' + v.checkpoint_seq + '.')
        : el('p', { class: 'alert' }, 'The audit trail is broken at record ' + (v.break ? v.break.seq : '?') + ': ' + (v.break ? v.break.reason : 'unknown reason') + '.'));
    });
  }

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    objectID = '';
    load();
  });
  rtype.addEventListener('change', () => { objectID = ''; });
  verify.addEventListener('click', check);
  await load();
  await check();
}
