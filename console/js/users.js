import { el, field, input, select, regions, when, nextID, confirm, grid, counted } from './dom.js';
import { api, guard, showStatus, everything, listing, optional, deleteButton } from './api.js';
import { can } from './access.js';

const userStates = [['', 'Any state'], ['active', 'Active'], ['preserved', 'Preserved'], ['deleted', 'Deleted']];

// usersPage lists users (filters by profile, state and search; paged by
// the server), creates, edits, preserves, re-activates and deletes them,
// each action shown only when the engine allows it.
export async function usersPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const profiles = await optional(() => everything('/api/v1/profiles', 'profiles')) || [];
  const profileName = (id) => (profiles.find((p) => p.id === id) || { name: id }).name;
  const fProfile = select([['', 'Any profile']].concat(profiles.map((p) => [p.id, p.name])), '', { name: 'profile_id' });
  const fState = select(userStates, '', { name: 'state' });
  const fQ = input({ type: 'search', name: 'q' });
  const filters = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter users' },
    el('label', {}, 'Profile', fProfile), el('label', {}, 'State', fState), el('label', {}, 'Search name or email', fQ),
    el('button', { type: 'submit' }, 'Apply filters'));
  const slot = el('div');
  const table = el('table', { id: 'users' });
  main.append(filters);
  if (can('users.create_import')) {
    main.append(el('p', {}, el('button', { type: 'button', id: 'new-user', onclick: () => edit(null) }, 'New user')));
  }
  main.append(slot, table);
  const list = listing(r, table, filters, '/api/v1/users', 'users', (items, total) =>
    grid(table, counted(items.length, total, 'user', 'users'), columns, items));

  const columns = [
    ['Name', (u) => u.name], ['Email', (u) => u.email], ['Profile', (u) => profileName(u.profile_id)],
    ['State', (u) => u.state + (u.purge_after ? ' (purged after ' + when(u.purge_after) + ')' : '')],
    ['Created', (u) => when(u.created_at)], ['Actions', actions],
  ];

  function actions(u) {
    const box = el('div', { class: 'actions' });
    const act = (label, fn) => el('button', { type: 'button', 'aria-label': label + ' ' + u.name, onclick: fn }, label);
    if (can('users.manage') && u.state !== 'deleted') box.append(act('Edit', () => edit(u)));
    if (can('users.manage') && u.state === 'active') box.append(act('Preserve', () => change(u, 'preserve', 'preserved')));
    if (can('users.manage') && u.state === 'preserved') box.append(act('Re-activate', () => change(u, 'activate', 're-activated')));
    if (can('users.delete') && u.state !== 'deleted') {
      const del = deleteButton(r, box, u.name, '/api/v1/users/' + encodeURIComponent(u.id), 'User', load);
      box.append(del);
    }
    return box;
  }

  async function change(u, verb, done) {
    await guard(r, null, async () => {
      await api('POST', '/api/v1/users/' + encodeURIComponent(u.id) + '/' + verb);
      showStatus(r, 'User ' + u.name + ' ' + done + '.');
      await load();
    });
  }

  function edit(u) {
    slot.replaceChildren(userForm(u, profiles, async (msg) => {
      slot.replaceChildren();
      showStatus(r, msg);
      await load();
    }, () => slot.replaceChildren()));
    slot.querySelector('input').focus();
  }

  async function load() {
    const q = new URLSearchParams();
    if (fProfile.value) q.set('profile_id', fProfile.value);
    if (fState.value) q.set('state', fState.value);
    if (fQ.value.trim()) q.set('q', fQ.value.trim());
    await list(q);
  }

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  await load();
}

function userForm(u, profiles, done, cancel) {
  const r = regions();
  const name = input({ name: 'name', value: u ? u.name : '', autocomplete: 'off' });
  const email = input({ type: 'email', name: 'email', value: u ? u.email : '', readonly: !!u, autocomplete: 'off' });
  const profile = select([['', 'The Default profile']].concat(profiles.map((p) => [p.id, p.name])), u ? u.profile_id : '', { name: 'profile_id' });
  const hid = nextID('h');
  const form = el('form', { class: 'edit', id: u ? 'edit-user' : 'create-user', 'aria-labelledby': hid, novalidate: true },
    el('h2', { id: hid }, u ? 'Edit ' + u.name : 'New user'), r.alert,
    field('Name', name, 'name'), field('Email', email, 'email', u ? 'The email cannot be changed.' : ''), field('Profile', profile, 'profile_id'),
    el('p', { class: 'actions' }, el('button', { type: 'submit' }, u ? 'Save changes' : 'Create user'),
      el('button', { type: 'button', onclick: cancel }, 'Cancel')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guard(r, form, async () => {
      if (!u) {
        const body = { name: name.value, email: email.value };
        if (profile.value) body.profile_id = profile.value;
        const out = await api('POST', '/api/v1/users', body);
        await done('User ' + out.name + ' created.');
        return;
      }
      const body = {};
      if (name.value !== u.name) body.name = name.value;
      if (profile.value && profile.value !== u.profile_id) body.profile_id = profile.value;
      const out = await api('PATCH', '/api/v1/users/' + encodeURIComponent(u.id), body);
      await done('User ' + out.name + ' saved.');
    });
  });
  return form;
}
