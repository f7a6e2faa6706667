import { el, append, nextID, field, input, select, checkbox, choices, regions, when, list } from './dom.js';
import { state, APIError, api, toLogin, clearErrors, showError, showStatus, guard, roles, everything, pager, optional, roleName } from './api.js';

export async function auditPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const action = input({ name: 'action' });
  const rtype = input({ name: 'resource_type' });
  const actor = input({ name: 'actor' });
  const filters = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter the audit trail' },
    el('label', {}, 'Action', action), el('label', {}, 'Resource type', rtype), el('label', {}, 'Actor id', actor),
    el('button', { type: 'submit' }, 'Apply filters'));
  const verify = el('button', { type: 'button', id: 'verify-audit' }, 'Verify the audit trail');
  const verdict = el('div', { 'aria-live': 'polite', id: 'audit-verdict' });
  const table = el('table', { id: 'audit' });
  const more = el('button', { type: 'button' }, 'Load more');
  main.append(el('p', {}, verify), verdict, filters, table, el('p', {}, more));
  let last = 0;
  let body = null;

  async function load(reset) {
    const q = new URLSearchParams({ limit: '100' });
    if (!reset && last) q.set('after_seq', String(last));
    if (action.value.trim()) q.set('action', action.value.trim());
    if (rtype.value.trim()) q.set('resource_type', rtype.value.trim());
    if (actor.value.trim()) q.set('actor', actor.value.trim());
    await guard(r, filters, async () => {
      const out = await api('GET', '/api/v1/audit?' + q.toString());
      if (reset || !body) {
        body = el('tbody');
        table.replaceChildren(el('thead', {}, el('tr', {}, ['Seq', 'Time', 'Actor', 'Action', 'Resource', 'Outcome', 'Detail'].map((x) => el('th', { scope: 'col' }, x)))), body);
        last = 0;
      }
      for (const rec of out.records) {
        body.append(el('tr', {}, el('td', {}, String(rec.seq)), el('td', {}, when(rec.time)), el('td', {}, rec.actor_email || 'system'),
          el('td', {}, rec.action), el('td', {}, [rec.resource_type, rec.resource_id].filter(Boolean).join(' ')), el('td', {}, rec.outcome),
          el('td', {}, rec.detail === undefined || rec.detail === null ? '' : el('code', {}, JSON.stringify(rec.detail)))));
        last = Math.max(last, rec.seq);
      }
      more.disabled = out.records.length < 100;
    });
  }

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load(true);
  });
  more.addEventListener('click', () => load(false));
  verify.addEventListener('click', () => guard(r, null, async () => {
    const v = await api('GET', '/api/v1/audit/verify');
    verdict.replaceChildren(v.ok
      ? el('p', { class: 'status' }, 'The audit trail is intact: ' + v.records + ' records verified, the newest checkpoint at record ' + v.checkpoint_seq + '.')
      : el('p', { class: 'alert' }, 'The audit trail is broken at record ' + (v.break ? v.break.seq : '?') + ': ' + (v.break ? v.break.reason : 'unknown reason') + '.'));
  }));
  await load(true);
}
