import { el, append, nextID, field, input, select, checkbox, choices, regions, when, list, counted, confirm } from './dom.js';
import { can } from './access.js';
import { state, APIError, api, toLogin, clearErrors, showError, showStatus, guard, roles, everything, pager, optional, roleName, listing } from './api.js';

export async function adminsPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const allRoles = await optional(roles);
  const lookups = {
    profiles: await optional(() => everything('/api/v1/profiles', 'profiles')),
    holdTypes: await optional(() => everything('/api/v1/legal-hold-types', 'legal_hold_types')),
  };
  const roleOptions = [['', 'Any role']].concat((allRoles || []).map((x) => [x.id, x.name]));
  const fRole = select(roleOptions, '', { name: 'role' });
  const fProduct = select([['', 'Any product'], ['platform', 'Platform'], ['insync', 'inSync'],
    ['enterprise_workloads', 'Enterprise Workloads']], '', { name: 'product' });
  const fLast = select([['', 'Any time'], ['7', 'More than 7 days ago'], ['30', 'More than 30 days ago'],
    ['60', 'More than 60 days ago'], ['90', 'More than 90 days ago']], '', { name: 'last_login_before' });
  const fNever = checkbox('Never signed in', { name: 'never_logged_in' });
  const fQ = input({ type: 'search', name: 'q' });
  const filters = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter administrators' },
    el('label', {}, 'Role', fRole), el('label', {}, 'Product', fProduct),
    el('label', {}, 'Last sign-in', fLast), fNever.node,
    el('label', {}, 'Search name or email', fQ),
    el('button', { type: 'submit' }, 'Apply filters'));
  const newBtn = el('button', { type: 'button', id: 'new-admin' }, 'New administrator');
  const formSlot = el('div');
  const table = el('table', { id: 'admins' });
  main.append(filters, can('admins.create') ? el('p', {}, newBtn) : null, formSlot, table);

  const list = listing(r, table, filters, '/api/v1/administrators', 'administrators', (items, total) => {
    renderAdmins(table, items, total, edit, remove);
  });

  async function load() {
    const q = new URLSearchParams();
    if (fRole.value) q.set('role', fRole.value);
    if (fProduct.value) q.set('product', fProduct.value);
    if (fLast.value) q.set('last_login_before', fLast.value);
    if (fNever.box.checked) q.set('never_logged_in', 'true');
    if (fQ.value.trim()) q.set('q', fQ.value.trim());
    await list(q);
  }

  function edit(a) {
    formSlot.replaceChildren(adminForm(a, allRoles, lookups, async (msg) => {
      formSlot.replaceChildren();
      showStatus(r, msg);
      await load();
    }, () => formSlot.replaceChildren()));
    formSlot.querySelector('input, select').focus();
  }

  async function remove(a) {
    await guard(r, null, async () => {
      await api('DELETE', '/api/v1/administrators/' + encodeURIComponent(a.id));
      showStatus(r, 'Administrator ' + a.name + ' deleted.');
      await load();
    });
  }

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  newBtn.addEventListener('click', () => edit(null));
  await load();
}

function renderAdmins(table, admins, total, edit, remove) {
  const head = el('thead', {}, el('tr', {}, ['Name', 'Email', 'Role', 'Country', 'Time zone', 'State',
    'Last sign-in', 'Actions'].map((h) => el('th', { scope: 'col' }, h))));
  const body = el('tbody');
  for (const a of admins) {
    const actions = el('td', { class: 'actions' });
    const editBtn = el('button', { type: 'button', 'aria-label': 'Edit ' + a.name, onclick: () => edit(a) }, 'Edit');
    const delBtn = el('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + a.name }, 'Delete');
    delBtn.addEventListener('click', () => confirm(actions, 'delete ' + a.name, () => remove(a)));
    if (can('admins.edit')) actions.append(editBtn);
    if (can('admins.delete')) actions.append(delBtn);
    body.append(el('tr', { 'data-id': a.id },
      el('td', { class: 'name' }, a.name), el('td', { class: 'email' }, a.email),
      el('td', {}, roleName(a.role)), el('td', {}, a.country || ''), el('td', {}, a.time_zone || ''),
      el('td', {}, a.state), el('td', {}, a.last_login_at ? when(a.last_login_at) : 'Never'), actions));
  }
  const caption = el('caption', { 'aria-live': 'polite' }, counted(admins.length, total, 'administrator', 'administrators'));
  table.replaceChildren(caption, head, body);
}

// adminForm creates (a null) or edits an administrator.
function adminForm(a, allRoles, lookups, done, cancel) {
  const r = regions();
  const editing = !!a;
  const sc = (a && a.scopes) || {};
  const name = input({ name: 'name', value: a ? a.name : '', required: true, autocomplete: 'off' });
  const email = input({ type: 'email', name: 'email', value: a ? a.email : '', required: !editing, readonly: editing, autocomplete: 'off' });
  const country = input({ name: 'country', value: a ? a.country || '' : '', maxlength: '2', size: '4' });
  const tz = input({ name: 'time_zone', value: a ? a.time_zone || '' : '' });
  const role = allRoles
    ? select([['', 'Choose a role']].concat(allRoles.map((x) => [x.id, x.name + (x.predefined ? '' : ' (custom)')])), a ? a.role : '', { name: 'role' })
    : input({ name: 'role', value: a ? a.role : '' });
  const state = select([['active', 'Active'], ['disabled', 'Disabled']], a ? a.state : 'active', { name: 'state' });

  const allProfiles = checkbox('All profiles', { name: 'all_profiles', checked: !!sc.all_profiles });
  const profiles = choices('Profiles', lookups.profiles, sc.profiles, 'scopes.profiles');
  const allWorkloads = checkbox('All workloads', { name: 'all_workloads', checked: !!sc.all_workloads });
  const workloads = input({ value: (sc.workloads || []).join(', ') });
  const allTypes = checkbox('All legal hold types', { name: 'all_legal_hold_types', checked: !!sc.all_legal_hold_types });
  const types = choices('Legal hold types', lookups.holdTypes, sc.legal_hold_types, 'scopes.legal_hold_types');
  const orgs = input({ value: (sc.organizations || []).join(', ') });
  const groups = input({ value: (sc.admin_groups || []).join(', ') });
  const scopes = el('fieldset', { 'data-field': 'scopes', tabindex: '-1' }, el('legend', {}, 'Scopes'),
    el('p', {}, allProfiles.node), profiles.node,
    el('p', {}, allWorkloads.node), field('Workloads (ids, comma-separated)', workloads, 'scopes.workloads'),
    el('p', {}, allTypes.node), types.node,
    field('Organizations (ids, comma-separated)', orgs, 'scopes.organizations'),
    field('Administrator groups (ids, comma-separated)', groups, 'scopes.admin_groups'));

  const title = editing ? 'Edit ' + a.name : 'New administrator';
  const hid = nextID('h');
  const form = el('form', { class: 'edit', 'aria-labelledby': hid, novalidate: true, id: editing ? 'edit-admin' : 'create-admin' },
    el('h2', { id: hid }, title), r.alert,
    field('Name', name, 'name'), field('Email', email, 'email', editing ? 'The email cannot be changed.' : ''),
    field('Country', country, 'country', 'Two letters, ISO 3166-1 (for example US).'),
    field('Time zone', tz, 'time_zone', 'IANA name, for example Europe/Berlin.'),
    field('Role', role, 'role'), editing ? field('State', state, 'state') : null, scopes,
    el('p', { class: 'actions' }, el('button', { type: 'submit' }, editing ? 'Save changes' : 'Create administrator'),
      el('button', { type: 'button', onclick: cancel }, 'Cancel')));

  function scopeValue() {
    const s = {};
    if (allProfiles.box.checked) s.all_profiles = true;
    if (profiles.value().length) s.profiles = profiles.value();
    if (allWorkloads.box.checked) s.all_workloads = true;
    if (list(workloads.value).length) s.workloads = list(workloads.value);
    if (allTypes.box.checked) s.all_legal_hold_types = true;
    if (types.value().length) s.legal_hold_types = types.value();
    if (list(orgs.value).length) s.organizations = list(orgs.value);
    if (list(groups.value).length) s.admin_groups = list(groups.value);
    return s;
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guard(r, form, async () => {
      if (!editing) {
        const body = { name: name.value, email: email.value, role: role.value, scopes: scopeValue() };
        if (country.value.trim()) body.country = country.value.trim();
        if (tz.value.trim()) body.time_zone = tz.value.trim();
        const out = await api('POST', '/api/v1/administrators', body);
        await done('Administrator ' + out.name + ' created.');
        return;
      }
      const body = {};
      if (name.value !== a.name) body.name = name.value;
      if (country.value !== (a.country || '')) body.country = country.value;
      if (tz.value !== (a.time_zone || '')) body.time_zone = tz.value;
      if (role.value !== a.role) body.role = role.value;
      if (state.value !== a.state) body.state = state.value;
      const s = scopeValue();
      if (canonical(s) !== canonical(normalScopes(sc))) body.scopes = s;
      const out = await api('PATCH', '/api/v1/administrators/' + encodeURIComponent(a.id), body);
      await done('Administrator ' + out.name + ' saved.');
    });
  });
  return form;
}

// canonical is the JSON of scopes with sorted lists, for comparing.
function canonical(sc) {
  const s = {};
  for (const [k, v] of Object.entries(sc)) s[k] = Array.isArray(v) ? v.slice().sort() : v;
  return JSON.stringify(s);
}

// normalScopes drops empty members, in the order scopeValue writes them.
function normalScopes(sc) {
  const s = {};
  for (const k of ['all_profiles', 'profiles', 'all_workloads', 'workloads', 'all_legal_hold_types',
    'legal_hold_types', 'organizations', 'admin_groups']) {
    const v = sc[k];
    if (v === true || (Array.isArray(v) && v.length)) s[k] = v;
  }
  return s;
}
