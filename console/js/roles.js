import { el, append, nextID, field, input, select, checkbox, choices, regions, when, list } from './dom.js';
import { can } from './access.js';
import { state, APIError, api, toLogin, clearErrors, showError, showStatus, guard, roles, everything, pager, optional, roleName } from './api.js';

export async function rolesPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const table = el('table', { id: 'roles' });
  const newBtn = el('button', { type: 'button', id: 'new-role' }, 'New custom role');
  const formSlot = el('div');
  main.append(can('roles.manage') ? el('p', {}, newBtn) : null, formSlot, table);

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
    if (!role.predefined && can('roles.manage')) {
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
