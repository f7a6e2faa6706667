import { el, field, input, checkbox, regions, nextID, confirm, grid, counted } from './dom.js';
import { api, guard, showStatus, listing, optional, deleteButton } from './api.js';
import { can } from './access.js';

const retentionFields = [['keep_last', 'Keep the last (snapshots)'], ['keep_daily', 'Daily snapshots kept'],
  ['keep_weekly', 'Weekly snapshots kept'], ['keep_monthly', 'Monthly snapshots kept'], ['keep_within_days', 'Keep everything within (days)']];

// profilesPage lists the profiles in the caller's scope and creates,
// edits (workloads, retention, the privacy setting, auto-deletion of
// preserved users) and deletes them as the engine allows.
export async function profilesPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const catalog = await optional(() => api('GET', '/api/v1/rights'));
  const workloads = (catalog && catalog.workloads) || [];
  const wname = (id) => (workloads.find((w) => w.id === id) || { name: id }).name;
  const table = el('table', { id: 'profiles' });
  const slot = el('div');
  if (can('profiles.create_delete')) main.append(el('p', {}, el('button', { type: 'button', id: 'new-profile', onclick: () => edit(null) }, 'New profile')));
  main.append(slot, table);
  const columns = [
    ['Name', (p) => p.name + (p.default ? ' (default)' : '')], ['Workloads', (p) => (p.workloads || []).map(wname).join(', ') || 'None'],
    ['Retention', (p) => retention(p.retention)], ['Privacy', (p) => (p.block_admin_access ? 'Administrators cannot read user data' : 'Standard')],
    ['Actions', actions]];
  const list = listing(r, table, null, '/api/v1/profiles', 'profiles', (items, total) =>
    grid(table, counted(items.length, total, 'profile', 'profiles'), columns, items));
  const reload = () => list(new URLSearchParams());

  function actions(p) {
    const box = el('div', { class: 'actions' });
    if (can('profiles.manage')) box.append(el('button', { type: 'button', 'aria-label': 'Edit ' + p.name, onclick: () => edit(p) }, 'Edit'));
    if (can('profiles.create_delete') && !p.default) {
      const del = deleteButton(r, box, p.name, '/api/v1/profiles/' + encodeURIComponent(p.id), 'Profile', reload);
      box.append(del);
    }
    return box;
  }

  function edit(p) {
    slot.replaceChildren(profileForm(p, workloads, async (msg) => {
      slot.replaceChildren();
      showStatus(r, msg);
      await reload();
    }, () => slot.replaceChildren()));
    slot.querySelector('input').focus();
  }

  await reload();
}

function retention(x) {
  if (!x) return '';
  return retentionFields.filter(([k]) => x[k]).map(([k, label]) => label + ': ' + x[k]).join('; ') || 'Everything';
}

function profileForm(p, workloads, done, cancel) {
  const r = regions();
  const name = input({ name: 'name', value: p ? p.name : '', autocomplete: 'off' });
  const description = input({ name: 'description', value: p ? p.description || '' : '' });
  const chosen = new Set((p && p.workloads) || []);
  const boxes = workloads.map((w) => checkbox(w.name, { value: w.id, checked: chosen.has(w.id) }));
  const wl = el('fieldset', { 'data-field': 'workloads', tabindex: '-1' }, el('legend', {}, 'Workloads'),
    el('ul', { class: 'checks' }, boxes.map((b) => el('li', {}, b.node))));
  const ret = (p && p.retention) || {};
  const retInputs = retentionFields.map(([k, label]) => [k, input({ type: 'number', min: '0', name: 'retention.' + k, value: String(ret[k] || 0), inputmode: 'numeric' }), label]);
  const retSet = el('fieldset', { 'data-field': 'retention', tabindex: '-1' }, el('legend', {}, 'Retention'),
    retInputs.map(([k, box, label]) => field(label, box, 'retention.' + k)));
  const privacy = checkbox('Administrators cannot read these users\' data (privacy)', { name: 'block_admin_access', checked: !!(p && p.block_admin_access) });
  const autoDelete = input({ type: 'number', name: 'auto_delete_preserved_days', value: String((p && p.auto_delete_preserved_days) || 0), min: '0', max: '366', inputmode: 'numeric' });
  const hid = nextID('h');
  const form = el('form', { class: 'edit', id: p ? 'edit-profile' : 'create-profile', 'aria-labelledby': hid, novalidate: true },
    el('h2', { id: hid }, p ? 'Edit ' + p.name : 'New profile'), r.alert, field('Name', name, 'name'), field('Description', description, 'description'),
    wl, retSet, el('div', { class: 'field' }, privacy.node),
    field('Delete preserved users after (days; 0 never, else 30 to 366)', autoDelete, 'auto_delete_preserved_days'),
    el('p', { class: 'actions' }, el('button', { type: 'submit' }, p ? 'Save changes' : 'Create profile'), el('button', { type: 'button', onclick: cancel }, 'Cancel')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = { name: name.value, description: description.value, workloads: boxes.filter((b) => b.box.checked).map((b) => b.box.value),
      retention: Object.fromEntries(retInputs.map(([k, box]) => [k, Number(box.value || 0)])),
      block_admin_access: privacy.box.checked, auto_delete_preserved_days: Number(autoDelete.value || 0) };
    guard(r, form, async () => {
      const out = p ? await api('PATCH', '/api/v1/profiles/' + encodeURIComponent(p.id), body) : await api('POST', '/api/v1/profiles', body);
      await done('Profile ' + out.name + (p ? ' saved.' : ' created.'));
    });
  });
  return form;
}
