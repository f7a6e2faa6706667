// The JSON API client, the error display and shared look-ups.
import { el, append, nextID, field, input, select, checkbox, choices, regions, when, list, confirm } from './dom.js';

// state is the signed-in session: the CSRF token lives only in this
// page's memory.
export const state = { csrf: '', email: '', adminID: '', accountID: '', roles: null };

export class APIError extends Error {
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

export async function api(method, path, body) {
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

export function toLogin() {
  const back = '/console' + location.hash;
  location.assign('/login?return_to=' + encodeURIComponent(back));
}

// clearErrors removes the field errors of form.
export function clearErrors(form) {
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
export function showError(r, err, form) {
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

export function showStatus(r, text) {
  r.alert.replaceChildren();
  r.status.replaceChildren(el('p', {}, text));
}

// guard runs fn and shows its API error in r (next to the fields of form).
export async function guard(r, form, fn) {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof APIError)) throw err;
    if (err.status !== 401) showError(r, err, form);
  }
}

// ----- shared look-ups ---------------------------------------------------

export async function roles() {
  if (!state.roles) state.roles = (await api('GET', '/api/v1/roles')).roles;
  return state.roles;
}

// everything follows next_cursor through every page of a list and
// returns all of its items under key, for look-ups (choices in a form)
// that need the whole list.
export async function everything(path, key) {
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
export function pager(path, key, render) {
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
    await render(items, total);
  }
  return { more, load, redraw: () => render(items, total) };
}

// optional returns the answer of a look-up or null when it is refused,
// so that a form still works with plain text inputs.
export async function optional(fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof APIError && err.status !== 401) return null;
    throw err;
  }
}

export function roleName(id) {
  const r = (state.roles || []).find((x) => x.id === id);
  return r ? r.name : id;
}

// picker is a search field that offers matching items by name (search(q)
// returns [{id, label}]) and stands for the chosen item's id: people and
// objects are chosen by name, never typed as ids. value() is the id of
// the chosen item, '' when nothing is chosen.
export function picker(label, search, name, hint) {
  const listID = nextID('dl');
  const box = input({ type: 'search', name: name, list: listID, autocomplete: 'off' });
  const options = el('datalist', { id: listID });
  let known = new Map();
  let timer = 0;
  box.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const found = await optional(() => search(box.value.trim()));
      known = new Map((found || []).map((x) => [x.label, x.id]));
      options.replaceChildren(...(found || []).map((x) => el('option', { value: x.label })));
    }, 150);
  });
  const node = field(label, box, name, hint || 'Type part of a name or email, then choose.');
  node.append(options);
  return {
    node: node, input: box,
    value: () => known.get(box.value) || '',
    set: (id, text) => { known.set(text, id); box.value = text; },
  };
}

// findUsers and findAdmins search people by name or email for a picker.
export async function findUsers(q) {
  const out = await api('GET', '/api/v1/users?limit=20&q=' + encodeURIComponent(q));
  return out.users.map((u) => ({ id: u.id, label: u.name + ' <' + u.email + '>' }));
}

export async function findAdmins(q) {
  const out = await api('GET', '/api/v1/administrators?limit=20&q=' + encodeURIComponent(q));
  return out.administrators.map((a) => ({ id: a.id, label: a.name + ' <' + a.email + '>' }));
}

// userNames returns the names of users by id, asking for each one not yet
// known (kept for the page's life in cache).
export async function userNames(ids, cache) {
  for (const id of new Set(ids)) {
    if (!id || cache.has(id)) continue;
    const u = await optional(() => api('GET', '/api/v1/users/' + encodeURIComponent(id)));
    cache.set(id, u ? u.name + ' <' + u.email + '>' : id);
  }
  return cache;
}

// listing keeps a filtered list paged by the server under table: the
// function it returns starts again at the first page with the query q,
// and a "Load more" button after the table follows next_cursor. draw
// gets the items loaded so far and the total.
export function listing(r, table, filters, path, key, draw) {
  let pages = null;
  return async function load(q) {
    if (pages) pages.more.remove();
    pages = pager(path + '?' + q.toString(), key, draw);
    table.after(pages.more);
    pages.more.addEventListener('click', () => guard(r, null, () => pages.load(false)));
    await guard(r, filters, () => pages.load(true));
  };
}

// deleteButton is a Delete button for the object called name: it asks
// "Yes, delete name" in box first, then DELETEs path, says so in r (what
// names the kind of object) and runs after.
export function deleteButton(r, box, name, path, what, after) {
  const del = el('button', { type: 'button', class: 'danger', 'aria-label': 'Delete ' + name }, 'Delete');
  del.addEventListener('click', () => confirm(box, 'delete ' + name, () => guard(r, null, async () => {
    await api('DELETE', path);
    showStatus(r, what + ' ' + name + ' deleted.');
    await after();
  })));
  return del;
}
