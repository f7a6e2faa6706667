import { el, field, input, regions, nextID, confirm, grid, counted } from './dom.js';
import { api, guard, showStatus, listing, deleteButton } from './api.js';
import { can } from './access.js';

// holdTypesPage lists the legal hold types the caller may see, and
// creates, renames and deletes custom ones with legal_hold_types.manage.
export async function holdTypesPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const table = el('table', { id: 'hold-types' });
  const slot = el('div');
  const manage = can('legal_hold_types.manage');
  if (manage) main.append(el('p', {}, el('button', { type: 'button', id: 'new-hold-type', onclick: () => edit(null) }, 'New legal hold type')));
  main.append(slot, table);
  const columns = [['Name', (t) => t.name], ['Kind', (t) => (t.predefined ? 'Predefined' : 'Custom')], ['Actions', actions]];
  const list = listing(r, table, null, '/api/v1/legal-hold-types', 'legal_hold_types', (items, total) =>
    grid(table, counted(items.length, total, 'legal hold type', 'legal hold types'), columns, items));

  function actions(t) {
    const box = el('div', { class: 'actions' });
    if (!manage || t.predefined) return box;
    const del = deleteButton(r, box, t.name, '/api/v1/legal-hold-types/' + encodeURIComponent(t.id), 'Legal hold type', () => list(new URLSearchParams()));
    box.append(el('button', { type: 'button', 'aria-label': 'Rename ' + t.name, onclick: () => edit(t) }, 'Rename'), del);
    return box;
  }

  function edit(t) {
    const fr = regions();
    const name = input({ name: 'name', value: t ? t.name : '', autocomplete: 'off' });
    const hid = nextID('h');
    const form = el('form', { class: 'edit', id: t ? 'rename-hold-type' : 'create-hold-type', 'aria-labelledby': hid, novalidate: true },
      el('h2', { id: hid }, t ? 'Rename ' + t.name : 'New legal hold type'), fr.alert, field('Name', name, 'name'),
      el('p', { class: 'actions' }, el('button', { type: 'submit' }, t ? 'Rename' : 'Create'),
        el('button', { type: 'button', onclick: () => slot.replaceChildren() }, 'Cancel')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      guard(fr, form, async () => {
        const out = t ? await api('PATCH', '/api/v1/legal-hold-types/' + encodeURIComponent(t.id), { name: name.value })
          : await api('POST', '/api/v1/legal-hold-types', { name: name.value });
        slot.replaceChildren();
        showStatus(r, 'Legal hold type ' + out.name + (t ? ' renamed.' : ' created.'));
        await list(new URLSearchParams());
      });
    });
    slot.replaceChildren(form);
    name.focus();
  }

  await list(new URLSearchParams());
}
