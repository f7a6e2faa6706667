import { el, append, nextID, field, input, select, checkbox, choices, regions, when, list } from './dom.js';
import { can } from './access.js';
import { state, APIError, api, toLogin, clearErrors, showError, showStatus, guard, roles, everything, pager, optional, roleName } from './api.js';

const dataAccess = [['all', 'All Collected Data'], ['last', 'Last Collected Data'], ['date_range', 'Data within a Date Range']];

export async function holdsPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const table = el('table', { id: 'holds' });
  let types = null;
  const typeName = (id) => ((types || []).find((t) => t.id === id) || { name: id }).name;
  const pages = pager('/api/v1/legal-holds', 'legal_holds', render);
  // The list first: a refusal (403) is the page's answer, in the API's words.
  await pages.load(true);
  types = await optional(() => everything('/api/v1/legal-hold-types', 'legal_hold_types'));
  pages.redraw();
  const newBtn = el('button', { type: 'button', id: 'new-hold' }, 'New legal hold');
  const slot = el('div');
  main.append(can('legal_holds.create_manage') ? el('p', {}, newBtn) : null, slot, table, el('p', {}, pages.more));
  pages.more.addEventListener('click', () => guard(r, null, () => pages.load(false)));

  async function load() {
    await guard(r, null, () => pages.load(true));
  }

  function render(holds, total) {
    const head = el('thead', {}, el('tr', {}, ['Name', 'Type', 'Data', 'Custodians', 'Created', 'Actions'].map((h) => el('th', { scope: 'col' }, h))));
    const body = el('tbody');
    for (const h of holds) {
      const da = (dataAccess.find((x) => x[0] === h.data_access) || [h.data_access, h.data_access])[1];
      body.append(el('tr', { 'data-id': h.id }, el('th', { scope: 'row' }, h.name), el('td', {}, typeName(h.type_id)),
        el('td', {}, da + (h.data_access === 'date_range' ? ' (' + when(h.from) + ' to ' + when(h.to) + ')' : '')),
        el('td', {}, String(h.custodian_count || 0)), el('td', {}, when(h.created_at)),
        el('td', { class: 'actions' },
          el('button', { type: 'button', 'aria-label': 'Custodians of ' + h.name, onclick: () => custodians(h) }, 'Custodians'),
          el('button', { type: 'button', 'aria-label': 'WebDAV access to ' + h.name, onclick: () => webdav(h) }, 'WebDAV access'),
          el('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + h.name, onclick: (ev) => askDelete(ev.target, h) }, 'Delete'))));
    }
    const shown = holds.length < total ? holds.length + ' of ' : '';
    table.replaceChildren(el('caption', {}, shown + (total === 1 ? '1 legal hold' : total + ' legal holds')), head, body);
  }

  function askDelete(btn, h) {
    const cell = btn.parentElement;
    const saved = Array.from(cell.childNodes);
    const yes = el('button', { type: 'button', class: 'danger confirm' }, 'Yes, delete ' + h.name);
    const no = el('button', { type: 'button', onclick: () => cell.replaceChildren(...saved) }, 'Cancel');
    yes.addEventListener('click', () => guard(r, null, async () => {
      await api('DELETE', '/api/v1/legal-holds/' + encodeURIComponent(h.id));
      slot.replaceChildren();
      showStatus(r, 'Legal hold ' + h.name + ' deleted; its custodians are released from it.');
      await load();
    }));
    cell.replaceChildren(yes, no);
    yes.focus();
  }

  function custodians(h) {
    slot.replaceChildren(custodianPanel(h, load));
    slot.querySelector('h2').focus();
  }

  function webdav(h) {
    slot.replaceChildren(webdavPanel(h));
    slot.querySelector('h2').focus();
  }

  newBtn.addEventListener('click', () => {
    slot.replaceChildren(holdForm(types, async (msg) => {
      slot.replaceChildren();
      showStatus(r, msg);
      await load();
    }, () => slot.replaceChildren()));
    slot.querySelector('input').focus();
  });
}

function holdForm(types, done, cancel) {
  const r = regions();
  const name = input({ name: 'name', required: true, autocomplete: 'off' });
  const description = el('textarea', { name: 'description' });
  const type = types ? select(types.map((t) => [t.id, t.name]), '', { name: 'type_id' }) : input({ name: 'type_id' });
  const access = select(dataAccess, 'all', { name: 'data_access' });
  const from = input({ type: 'date', name: 'from' });
  const to = input({ type: 'date', name: 'to' });
  const range = el('fieldset', { 'data-field': 'date_range', tabindex: '-1' }, el('legend', {}, 'Date range (Data within a Date Range only)'),
    field('From', from, 'from'), field('To (included)', to, 'to'));
  const deleted = checkbox('Deleted files only', { name: 'deleted_files_only' });
  const sources = input({ name: 'sources' });
  const people = el('textarea', { name: 'custodians' });
  const hid = nextID('h');
  const form = el('form', { class: 'edit', id: 'create-hold', 'aria-labelledby': hid, novalidate: true },
    el('h2', { id: hid }, 'New legal hold'), r.alert, field('Name', name, 'name'), field('Description', description, 'description'),
    field('Legal hold type', type, 'type_id'), field('Data', access, 'data_access'), range, el('p', {}, deleted.node),
    field('Data sources (workload ids, comma-separated; empty for all)', sources, 'sources'),
    field('First custodians (emails, one a line)', people, 'custodians'),
    el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Create legal hold'), el('button', { type: 'button', onclick: cancel }, 'Cancel')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = { name: name.value, data_access: access.value, deleted_files_only: deleted.box.checked };
    if (description.value.trim()) body.description = description.value.trim();
    if (type.value) body.type_id = type.value;
    if (from.value) body.from = from.value;
    if (to.value) body.to = to.value;
    if (list(sources.value).length) body.sources = list(sources.value);
    if (list(people.value).length) body.custodians = list(people.value);
    guard(r, form, async () => {
      const out = await api('POST', '/api/v1/legal-holds', body);
      const c = out.custodians || {};
      let msg = 'Legal hold ' + out.name + ' created.';
      if (c.added && c.added.length) msg += ' Custodians added: ' + c.added.join(', ') + '.';
      if (c.invalid_users && c.invalid_users.length) msg += ' Not users of the account: ' + c.invalid_users.join(', ') + '.';
      await done(msg);
    });
  });
  return form;
}

function report(c) {
  const lines = [];
  const label = { added: 'Added', removed: 'Removed', already_on_hold: 'Already on the hold', not_on_hold: 'Not on the hold', invalid_users: 'Not users of the account' };
  for (const k of Object.keys(label)) {
    if (c && c[k] && c[k].length) lines.push(label[k] + ': ' + c[k].join(', ') + '.');
  }
  return lines.length ? lines.join(' ') : 'Nothing changed.';
}

function custodianPanel(h, reload) {
  const r = regions();
  const table = el('table', { id: 'custodians' });
  const emails = el('textarea', { name: 'emails' });
  const add = el('form', { novalidate: true, id: 'add-custodians' }, field('Add custodians (emails, one a line)', emails, 'emails'),
    el('p', {}, el('button', { type: 'submit' }, 'Add custodians')));
  const panel = el('section', { class: 'panel', 'aria-label': 'Custodians of ' + h.name },
    el('h2', { tabindex: '-1' }, 'Custodians of ' + h.name), r.status, r.alert, table, add);

  const pages = pager('/api/v1/legal-holds/' + encodeURIComponent(h.id) + '/custodians?limit=500', 'custodians', (items, total) => {
    const head = el('thead', {}, el('tr', {}, ['Email', 'Name', 'State', 'Added', 'Actions'].map((x) => el('th', { scope: 'col' }, x))));
    const body = el('tbody');
    for (const c of items) {
      body.append(el('tr', {}, el('td', {}, c.email), el('td', {}, c.name || ''), el('td', {}, c.state || ''), el('td', {}, when(c.added_at)),
        el('td', {}, el('button', { type: 'button', class: 'danger', 'aria-label': 'Remove ' + c.email, onclick: () => change('remove', [c.email], null) }, 'Remove'))));
    }
    const shown = items.length < total ? items.length + ' of ' : '';
    table.replaceChildren(el('caption', {}, shown + total + ' custodians'), head, body);
  });
  table.after(el('p', {}, pages.more));
  pages.more.addEventListener('click', () => guard(r, null, () => pages.load(false)));

  async function load() {
    await guard(r, null, () => pages.load(true));
  }

  async function change(kind, list, form) {
    await guard(r, form, async () => {
      const out = await api('POST', '/api/v1/legal-holds/' + encodeURIComponent(h.id) + '/custodians' + (kind === 'remove' ? '/remove' : ''), { emails: list });
      showStatus(r, report(out));
      if (form) clearErrors(form);
      await load();
      await reload();
    });
  }

  add.addEventListener('submit', (ev) => {
    ev.preventDefault();
    change('add', list(emails.value), add).then(() => {
      if (!r.alert.hasChildNodes()) emails.value = '';
    });
  });
  load();
  return panel;
}

function webdavPanel(h) {
  const r = regions();
  const info = el('div');
  const secret = el('div', { 'aria-live': 'polite' });
  const rotate = el('button', { type: 'button', id: 'rotate-webdav' }, 'Create a new credential');
  const revoke = el('button', { type: 'button', class: 'danger' }, 'Revoke the credential');
  const panel = el('section', { class: 'panel', 'aria-label': 'WebDAV access to ' + h.name },
    el('h2', { tabindex: '-1' }, 'WebDAV access to ' + h.name), r.status, r.alert, info, secret, el('p', { class: 'actions' }, rotate, revoke));
  const path = '/api/v1/legal-holds/' + encodeURIComponent(h.id) + '/webdav';

  function show(a) {
    const rows = [['Address', a.url || h.webdav_url || ''], ['User name', a.user_name || ''],
      ['Credential', a.credential ? 'yes' : 'none yet'], ['Created', when(a.created_at)], ['Expires', a.expires_at ? when(a.expires_at) : 'never']];
    if (a.api_token_login) rows.push(['API token sign-in', a.api_token_login]);
    info.replaceChildren(el('dl', {}, rows.map(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  }

  async function load() {
    await guard(r, null, async () => show(await api('GET', path)));
  }

  rotate.addEventListener('click', () => guard(r, null, async () => {
    const a = await api('POST', path);
    show(a);
    // The password is in this answer only: shown here once, kept nowhere.
    secret.replaceChildren(el('p', {}, el('strong', {}, 'Password (shown only now, copy it): ')),
      el('p', { class: 'secret', id: 'webdav-password' }, a.password || ''));
    showStatus(r, 'A new credential was made; the previous one no longer works.');
  }));
  revoke.addEventListener('click', () => guard(r, null, async () => {
    await api('DELETE', path);
    secret.replaceChildren();
    showStatus(r, 'The WebDAV credential is revoked.');
    await load();
  }));
  load();
  return panel;
}
