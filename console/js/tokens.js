import { el, append, nextID, field, input, select, checkbox, choices, regions, when, list } from './dom.js';
import { state, APIError, api, toLogin, clearErrors, showError, showStatus, guard, roles, everything, pager, optional, roleName } from './api.js';

export async function tokensPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  main.append(el('p', {}, 'An API token acts as you, with your role and scopes, for scripts and the backup client. ' +
    'Send it as "Authorization: Bearer TOKEN". Its secret is shown once, when it is created.'));
  const name = input({ name: 'name', required: true, autocomplete: 'off', maxlength: '100' });
  const days = input({ type: 'number', name: 'expires_in_days', min: '0', max: '3650', value: '90', inputmode: 'numeric' });
  const hid = nextID('h');
  const form = el('form', { class: 'edit', id: 'create-token', 'aria-labelledby': hid, novalidate: true },
    el('h2', { id: hid }, 'New API token'), field('Name', name, 'name', 'What uses it, e.g. "backup script on build01".'),
    field('Expires after (days; 0 for never)', days, 'expires_in_days'),
    el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Create token')));
  const secret = el('div', { id: 'token-secret' });
  const table = el('table', { id: 'tokens' });
  main.append(form, secret, table);

  async function load() {
    await guard(r, null, async () => {
      const out = await api('GET', '/api/v1/tokens');
      renderTokens(table, out.tokens, revoke);
    });
  }

  async function revoke(t) {
    await guard(r, null, async () => {
      await api('DELETE', '/api/v1/tokens/' + encodeURIComponent(t.id));
      showStatus(r, 'Token ' + t.name + ' revoked.');
      await load();
    });
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const n = Number(days.value || '0');
    guard(r, form, async () => {
      clearErrors(form);
      const out = await api('POST', '/api/v1/tokens', { name: name.value, expires_in_days: Number.isInteger(n) ? n : -1 });
      const code = el('code', { id: 'new-token-secret' }, out.secret);
      secret.replaceChildren(el('section', { class: 'status', 'aria-labelledby': 'new-token-heading' },
        el('h2', { id: 'new-token-heading', tabindex: '-1' }, 'Token ' + out.name + ' created'),
        el('p', {}, 'Copy the secret now: it is shown only this once.'), el('p', {}, code)));
      secret.querySelector('h2').focus();
      name.value = '';
      r.alert.replaceChildren();
      await load();
    });
  });
  await load();
}

function renderTokens(table, tokens, revoke) {
  const head = el('thead', {}, el('tr', {}, ['Name', 'Starts with', 'Created', 'Expires', 'Last used', 'State', 'Actions'].map((h) => el('th', { scope: 'col' }, h))));
  const body = el('tbody');
  for (const t of tokens) {
    const expired = t.expires_at && new Date(t.expires_at) <= new Date();
    const stateText = t.revoked_at ? 'Revoked ' + when(t.revoked_at) : (expired ? 'Expired' : 'Active');
    const actions = el('td', { class: 'actions' });
    if (!t.revoked_at) {
      const del = el('button', { type: 'button', class: 'danger', 'aria-label': 'Revoke token ' + t.name }, 'Revoke');
      del.addEventListener('click', () => {
        const yes = el('button', { type: 'button', class: 'danger confirm', onclick: () => revoke(t) }, 'Yes, revoke ' + t.name);
        const no = el('button', { type: 'button', onclick: () => actions.replaceChildren(del) }, 'Cancel');
        actions.replaceChildren(yes, no);
        yes.focus();
      });
      actions.append(del);
    }
    body.append(el('tr', { 'data-id': t.id }, el('th', { scope: 'row' }, t.name), el('td', {}, el('code', {}, t.prefix + '…')),
      el('td', {}, when(t.created_at)), el('td', {}, t.expires_at ? when(t.expires_at) : 'Never'),
      el('td', {}, t.last_used_at ? when(t.last_used_at) : 'Never'), el('td', {}, stateText), actions));
  }
  table.replaceChildren(el('caption', {}, tokens.length + ' tokens'), head, body);
}
