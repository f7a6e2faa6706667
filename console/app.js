// Holdfast web console: plain DOM over the JSON API (/api/v1). Every piece
// of data is put on the page with textContent or as an attribute value,
// never parsed as HTML. Nothing is kept in localStorage or sessionStorage:
// the session is the HttpOnly cookie, and the CSRF token lives only in
// this page's memory.
'use strict';

(function () {
  const state = { csrf: '', email: '', roles: null, profiles: null, holdTypes: null };

  // ----- DOM helpers -------------------------------------------------------

  // el creates an element. attrs: attribute values (strings), booleans for
  // presence, "on" handlers under keys starting with "on". Children are
  // nodes or strings (made into text nodes), nested arrays flattened.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') {
        e.addEventListener(k.slice(2), v);
      } else if (v === true) {
        e.setAttribute(k, '');
      } else {
        e.setAttribute(k, String(v));
      }
    }
    append(e, children);
    return e;
  }

  function append(parent, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      parent.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    }
  }

  let uid = 0;
  function nextID(prefix) {
    uid += 1;
    return prefix + '-' + uid;
  }

  // field is a labelled control with a place for its field error. name is
  // the API's field name (data-field), which error messages point at.
  function field(label, control, name, hint) {
    const id = control.id || nextID('f');
    control.id = id;
    if (name) control.setAttribute('data-field', name);
    const parts = [el('label', { for: id }, label), control];
    if (hint) {
      const hid = id + '-hint';
      control.setAttribute('aria-describedby', hid);
      parts.push(el('p', { class: 'hint', id: hid }, hint));
    }
    return el('div', { class: 'field' }, parts);
  }

  function input(attrs) {
    return el('input', Object.assign({ type: 'text' }, attrs));
  }

  function select(options, value, attrs) {
    const s = el('select', attrs || {});
    for (const [v, label] of options) {
      const o = el('option', { value: v }, label);
      if (v === value) o.selected = true;
      s.append(o);
    }
    return s;
  }

  function checkbox(label, attrs) {
    const id = nextID('c');
    const box = el('input', Object.assign({ type: 'checkbox', id: id }, attrs));
    return { box: box, node: el('span', {}, box, ' ', el('label', { for: id }, label)) };
  }

  // choices is a group of checkboxes, one per item ({id, name}), with
  // the ids in selected checked; without items (the list was refused) a
  // text input of comma-separated ids. value() returns the chosen ids.
  function choices(label, items, selected, name) {
    const chosen = selected || [];
    if (!items) {
      const text = input({ value: chosen.join(', ') });
      return { node: field(label + ' (ids, comma-separated)', text, name), value: () => list(text.value) };
    }
    const boxes = [];
    const known = new Set(items.map((x) => x.id));
    const rows = items.map((x) => {
      const cb = checkbox(x.name, { value: x.id, checked: chosen.includes(x.id) });
      boxes.push(cb.box);
      return el('li', {}, cb.node);
    });
    // Ids the list does not name (out of the caller's sight) are kept.
    const hidden = chosen.filter((id) => !known.has(id));
    const node = el('fieldset', { 'data-field': name, tabindex: '-1' }, el('legend', {}, label),
      items.length ? el('ul', { class: 'checks' }, rows) : el('p', { class: 'hint' }, 'None in this account.'));
    return { node: node, value: () => boxes.filter((b) => b.checked).map((b) => b.value).concat(hidden) };
  }

  // regions returns a status and an alert region for a page or form.
  function regions() {
    return {
      status: el('div', { class: 'status', role: 'status', 'aria-live': 'polite' }),
      alert: el('div', { class: 'alert', role: 'alert', tabindex: '-1' }),
    };
  }

  function when(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  function list(text) {
    return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
  }

  // ----- API ---------------------------------------------------------------

  class APIError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || 'The server answered ' + status + '.');
      this.status = status;
      this.code = e.code || '';
      this.fields = Array.isArray(e.fields) ? e.fields : [];
      this.reasons = Array.isArray(e.reasons) ? e.reasons : [];
      this.requestID = e.request_id || '';
    }
  }

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const opts = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET') headers['X-CSRF-Token'] = state.csrf;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, opts);
    } catch (err) {
      throw new APIError(0, { error: { message: 'The server cannot be reached: ' + err.message } });
    }
    if (r.status === 401) {
      toLogin();
      throw new APIError(401, await r.json().catch(() => null));
    }
    if (r.status === 204) return null;
    const data = await r.json().catch(() => null);
    if (!r.ok) throw new APIError(r.status, data);
    return data;
  }

  function toLogin() {
    const back = '/console' + location.hash;
    location.assign('/login?return_to=' + encodeURIComponent(back));
  }

  // clearErrors removes the field errors of form.
  function clearErrors(form) {
    if (!form) return;
    for (const p of form.querySelectorAll('.field-error')) p.remove();
    for (const c of form.querySelectorAll('[aria-invalid]')) {
      c.removeAttribute('aria-invalid');
      const ids = (c.getAttribute('aria-describedby') || '').split(' ').filter((x) => x && !x.endsWith('-error'));
      if (ids.length) c.setAttribute('aria-describedby', ids.join(' '));
      else c.removeAttribute('aria-describedby');
    }
  }

  // showError puts err in the alert region in the API's words: the
  // message, the engine's reasons for a refusal, and each field error
  // next to its field in form (or in the alert when form has no such
  // field).
  function showError(r, err, form) {
    clearErrors(form);
    r.status.replaceChildren();
    const parts = [];
    if (err.status === 403) parts.push(el('p', {}, el('strong', {}, 'Refused: '), err.message));
    else parts.push(el('p', {}, err.message));
    const reasons = err.reasons.filter((x) => x && x !== err.message);
    if (reasons.length) {
      parts.push(el('p', {}, 'Reasons:'), el('ul', { class: 'reasons' }, reasons.map((x) => el('li', {}, x))));
    }
    const loose = [];
    let first = null;
    for (const fe of err.fields) {
      const ctl = form && fe.field ? form.querySelector('[data-field="' + CSS.escape(fe.field) + '"]') : null;
      if (!ctl) {
        loose.push(el('li', {}, fe.field ? fe.field + ': ' + fe.message : fe.message));
        continue;
      }
      const id = (ctl.id || nextID('x')) + '-' + nextID('e') + '-error';
      const p = el('p', { class: 'field-error', id: id, 'data-error-for': fe.field }, fe.message);
      // Inside the field's box (a fieldset holds its own), else after it.
      const anchor = ctl.closest('.field') || (ctl.tagName === 'FIELDSET' ? ctl : null);
      if (anchor) anchor.append(p);
      else ctl.after(p);
      ctl.setAttribute('aria-invalid', 'true');
      const ids = (ctl.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
      ids.push(id);
      ctl.setAttribute('aria-describedby', ids.join(' '));
      if (!first) first = ctl;
    }
    if (loose.length) parts.push(el('ul', {}, loose));
    if (err.requestID) parts.push(el('p', { class: 'hint' }, 'Request id: ' + err.requestID));
    r.alert.replaceChildren(...parts);
    if (first) first.focus();
    else r.alert.focus();
  }

  function showStatus(r, text) {
    r.alert.replaceChildren();
    r.status.replaceChildren(el('p', {}, text));
  }

  // guard runs fn and shows its API error in r (next to the fields of form).
  async function guard(r, form, fn) {
    try {
      await fn();
    } catch (err) {
      if (!(err instanceof APIError)) throw err;
      if (err.status !== 401) showError(r, err, form);
    }
  }

  // ----- shared look-ups ---------------------------------------------------

  async function roles() {
    if (!state.roles) state.roles = (await api('GET', '/api/v1/roles')).roles;
    return state.roles;
  }

  // everything follows next_cursor through every page of a list and
  // returns all of its items under key, for look-ups (choices in a form)
  // that need the whole list.
  async function everything(path, key) {
    const items = [];
    let cursor = '';
    for (;;) {
      const sep = path.includes('?') ? '&' : '?';
      const out = await api('GET', path + sep + 'limit=1000' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
      items.push(...(out[key] || []));
      if (!out.next_cursor) return items;
      cursor = out.next_cursor;
    }
  }

  // pager keeps a paged list: load(reset) fetches the first page (reset) or
  // the next one, render gets every item loaded so far and the total, and
  // the "Load more" button shows while a next page exists.
  function pager(path, key, render) {
    const more = el('button', { type: 'button', hidden: true }, 'Load more');
    let items = [];
    let total = 0;
    let cursor = '';
    async function load(reset) {
      if (reset) cursor = '';
      const sep = path.includes('?') ? '&' : '?';
      const out = await api('GET', path + (cursor ? sep + 'cursor=' + encodeURIComponent(cursor) : ''));
      items = (reset ? [] : items).concat(out[key] || []);
      cursor = out.next_cursor || '';
      more.hidden = !cursor;
      total = out.total === undefined ? items.length : out.total;
      render(items, total);
    }
    return { more, load, redraw: () => render(items, total) };
  }

  // optional returns the answer of a look-up or null when it is refused,
  // so that a form still works with plain text inputs.
  async function optional(fn) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof APIError && err.status !== 401) return null;
      throw err;
    }
  }

  function roleName(id) {
    const r = (state.roles || []).find((x) => x.id === id);
    return r ? r.name : id;
  }

  // ----- pages -------------------------------------------------------------

  const pages = {
    administrators: { title: 'Administrators', render: adminsPage },
    roles: { title: 'Roles', render: rolesPage },
    'legal-holds': { title: 'Legal holds', render: holdsPage },
    audit: { title: 'Audit trail', render: auditPage },
    tokens: { title: 'API tokens', render: tokensPage },
  };

  function route(ev) {
    const name = location.hash.replace(/^#/, '') || 'administrators';
    const page = pages[name] || pages.administrators;
    for (const a of document.querySelectorAll('nav a')) {
      if (a.getAttribute('href') === '#' + name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    document.title = page.title + ' - Holdfast console';
    const main = document.getElementById('main');
    const h1 = el('h1', { tabindex: '-1' }, page.title);
    main.replaceChildren(h1);
    // A screen reader hears the new page; the first load keeps the focus.
    if (ev) h1.focus();
    page.render(main).catch((err) => {
      // The page's own regions when it made them before failing.
      const r = regions();
      r.status = main.querySelector('[role="status"]') || r.status;
      r.alert = main.querySelector('[role="alert"]') || main.appendChild(r.alert);
      showError(r, err instanceof APIError ? err : new APIError(0, { error: { message: String(err) } }));
    });
  }

  // ----- administrators ----------------------------------------------------

  async function adminsPage(main) {
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
    main.append(filters, el('p', {}, newBtn), formSlot, table);

    async function load() {
      const q = new URLSearchParams();
      if (fRole.value) q.set('role', fRole.value);
      if (fProduct.value) q.set('product', fProduct.value);
      if (fLast.value) q.set('last_login_before', fLast.value);
      if (fNever.box.checked) q.set('never_logged_in', 'true');
      if (fQ.value.trim()) q.set('q', fQ.value.trim());
      await guard(r, filters, async () => {
        const out = await api('GET', '/api/v1/administrators?' + q.toString());
        renderAdmins(table, out.administrators, edit, remove);
        r.alert.replaceChildren();
      });
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

  function renderAdmins(table, admins, edit, remove) {
    const head = el('thead', {}, el('tr', {}, ['Name', 'Email', 'Role', 'Country', 'Time zone', 'State',
      'Last sign-in', 'Actions'].map((h) => el('th', { scope: 'col' }, h))));
    const body = el('tbody');
    for (const a of admins) {
      const actions = el('td', { class: 'actions' });
      const editBtn = el('button', { type: 'button', 'aria-label': 'Edit ' + a.name, onclick: () => edit(a) }, 'Edit');
      const delBtn = el('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + a.name }, 'Delete');
      delBtn.addEventListener('click', () => {
        // Ask in place instead of a modal dialog.
        const yes = el('button', { type: 'button', class: 'danger confirm', onclick: () => remove(a) }, 'Yes, delete ' + a.name);
        const no = el('button', { type: 'button', onclick: () => actions.replaceChildren(editBtn, delBtn) }, 'Cancel');
        actions.replaceChildren(yes, no);
        yes.focus();
      });
      actions.append(editBtn, delBtn);
      body.append(el('tr', { 'data-id': a.id },
        el('td', { class: 'name' }, a.name), el('td', { class: 'email' }, a.email),
        el('td', {}, roleName(a.role)), el('td', {}, a.country || ''), el('td', {}, a.time_zone || ''),
        el('td', {}, a.state), el('td', {}, a.last_login_at ? when(a.last_login_at) : 'Never'), actions));
    }
    const caption = el('caption', { 'aria-live': 'polite' }, admins.length === 1 ? '1 administrator' : admins.length + ' administrators');
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

  // ----- roles -------------------------------------------------------------

  async function rolesPage(main) {
    const r = regions();
    main.append(r.status, r.alert);
    const table = el('table', { id: 'roles' });
    const newBtn = el('button', { type: 'button', id: 'new-role' }, 'New custom role');
    const formSlot = el('div');
    main.append(el('p', {}, newBtn), formSlot, table);

    async function load() {
      state.roles = null;
      await guard(r, null, async () => renderRoles(table, await roles(), remove));
    }

    async function remove(role) {
      await guard(r, null, async () => {
        await api('DELETE', '/api/v1/roles/' + encodeURIComponent(role.id));
        showStatus(r, 'Role ' + role.name + ' deleted.');
        await load();
      });
    }

    newBtn.addEventListener('click', () => guard(r, null, async () => {
      const catalog = await api('GET', '/api/v1/rights');
      formSlot.replaceChildren(roleForm(state.roles || [], catalog.categories, async (msg) => {
        formSlot.replaceChildren();
        showStatus(r, msg);
        await load();
      }, () => formSlot.replaceChildren()));
      formSlot.querySelector('input').focus();
    }));
    await load();
  }

  function renderRoles(table, all, remove) {
    const head = el('thead', {}, el('tr', {}, ['Role', 'Product', 'Kind', 'Rights', 'Actions'].map((h) => el('th', { scope: 'col' }, h))));
    const body = el('tbody');
    for (const role of all) {
      const cats = (role.categories || []).map((c) => {
        const granted = (c.rights || []).filter((x) => x.allotted);
        if (!granted.length) return null;
        return el('li', {}, el('strong', {}, c.name), ': ', granted.map((x) => x.name).join(', '));
      }).filter(Boolean);
      const rights = el('details', {}, el('summary', {}, role.rights.length + ' rights'),
        cats.length ? el('ul', {}, cats) : el('p', {}, 'No rights.'));
      const actions = el('td', { class: 'actions' });
      if (!role.predefined) {
        const del = el('button', { type: 'button', class: 'danger', 'aria-label': 'Delete role ' + role.name }, 'Delete');
        del.addEventListener('click', () => {
          const yes = el('button', { type: 'button', class: 'danger confirm', onclick: () => remove(role) }, 'Yes, delete ' + role.name);
          const no = el('button', { type: 'button', onclick: () => actions.replaceChildren(del) }, 'Cancel');
          actions.replaceChildren(yes, no);
          yes.focus();
        });
        actions.append(del);
      }
      const kind = role.predefined ? (role.override_of ? 'Predefined (edited)' : 'Predefined')
        : 'Custom' + (role.imported_from ? ', from ' + roleName(role.imported_from) : '');
      body.append(el('tr', { 'data-id': role.id }, el('th', { scope: 'row' }, role.name, role.description ? el('p', { class: 'hint' }, role.description) : null),
        el('td', {}, role.product || ''), el('td', {}, kind), el('td', {}, rights), actions));
    }
    table.replaceChildren(el('caption', {}, all.length + ' roles'), head, body);
  }

  // roleForm creates a custom role: import one role's rights, add whole
  // categories or single rights.
  function roleForm(all, categories, done, cancel) {
    const r = regions();
    const name = input({ name: 'name', required: true, autocomplete: 'off' });
    const description = input({ name: 'description' });
    const importFrom = select([['', 'Start empty']].concat(all.map((x) => [x.id, x.name])), '', { name: 'import_from' });
    const boxes = [];
    const groups = categories.map((c) => {
      const whole = checkbox('All of ' + c.name, { 'data-category': c.category });
      const singles = (c.rights || []).map((x) => {
        const cb = checkbox(x.name, { 'data-right': x.id });
        boxes.push(cb);
        return el('li', {}, cb.node);
      });
      whole.box.addEventListener('change', () => {
        for (const li of singles) {
          const b = li.querySelector('input');
          b.disabled = whole.box.checked;
          if (whole.box.checked) b.checked = true;
        }
      });
      boxes.push(whole);
      return el('fieldset', {}, el('legend', {}, c.name), el('p', {}, whole.node), el('ul', { class: 'checks' }, singles));
    });
    const rightsSet = el('fieldset', { 'data-field': 'rights', tabindex: '-1' }, el('legend', {}, 'Rights by category'),
      el('p', { class: 'hint' }, 'The role gets the imported role\'s rights plus every category and right chosen here.'), groups);
    const hid = nextID('h');
    const form = el('form', { class: 'edit', id: 'create-role', 'aria-labelledby': hid, novalidate: true },
      el('h2', { id: hid }, 'New custom role'), r.alert, field('Name', name, 'name'), field('Description', description, 'description'),
      field('Import rights from', importFrom, 'import_from'), el('div', { 'data-field': 'categories', tabindex: '-1' }), rightsSet,
      el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Create role'), el('button', { type: 'button', onclick: cancel }, 'Cancel')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = { name: name.value };
      if (description.value.trim()) body.description = description.value.trim();
      if (importFrom.value) body.import_from = importFrom.value;
      const cats = [];
      const rights = [];
      for (const b of boxes) {
        if (!b.box.checked) continue;
        if (b.box.dataset.category) cats.push(b.box.dataset.category);
        else if (!b.box.disabled) rights.push(b.box.dataset.right);
      }
      if (cats.length) body.categories = cats;
      if (rights.length) body.rights = rights;
      guard(r, form, async () => {
        const out = await api('POST', '/api/v1/roles', body);
        await done('Role ' + out.name + ' created with ' + out.rights.length + ' rights.');
      });
    });
    return form;
  }

  // ----- legal holds -------------------------------------------------------

  const dataAccess = [['all', 'All Collected Data'], ['last', 'Last Collected Data'], ['date_range', 'Data within a Date Range']];

  async function holdsPage(main) {
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
    main.append(el('p', {}, newBtn), slot, table, el('p', {}, pages.more));
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

  // ----- audit trail -------------------------------------------------------

  async function auditPage(main) {
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

  // ----- API tokens (the signed-in administrator's own) -------------------

  async function tokensPage(main) {
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

  // ----- start -------------------------------------------------------------

  async function start() {
    let se;
    try {
      se = await api('GET', '/auth/session');
    } catch (err) {
      return; // 401: on the way to the sign-in page
    }
    state.csrf = se.csrf_token || '';
    state.email = se.email || '';
    document.getElementById('who').textContent = 'Signed in as ' + state.email;
    document.getElementById('sign-out').addEventListener('click', async () => {
      try {
        await api('POST', '/auth/logout');
      } finally {
        state.csrf = '';
        location.assign('/login');
      }
    });
    window.addEventListener('hashchange', route);
    route();
  }

  document.addEventListener('DOMContentLoaded', start);
})();
