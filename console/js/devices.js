import { el, regions, when, confirm, grid, counted } from './dom.js';
import { api, guard, showStatus, listing, picker, findUsers, userNames, deleteButton } from './api.js';
import { can } from './access.js';

// devicesPage lists devices and workload accounts with their users by
// name (filter by user with a picker), and enables, disables and deletes
// them as the engine allows, a deletion confirmed first.
export async function devicesPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const user = picker('User', findUsers, 'user');
  const filters = el('form', { class: 'filters', role: 'search', 'aria-label': 'Filter devices' }, user.node,
    el('button', { type: 'submit' }, 'Apply filters'));
  const table = el('table', { id: 'devices' });
  main.append(filters, table);
  const names = new Map();
  const list = listing(r, table, filters, '/api/v1/devices', 'devices', async (items, total) => {
    await userNames(items.map((d) => d.user_id), names);
    grid(table, counted(items.length, total, 'device', 'devices'), columns, items);
  });

  const columns = [
    ['Name', (d) => d.name], ['User', (d) => names.get(d.user_id) || d.user_id], ['Kind', (d) => d.kind],
    ['Workload', (d) => d.workload], ['Platform', (d) => d.platform || ''], ['State', (d) => d.state],
    ['Created', (d) => when(d.created_at)], ['Actions', actions],
  ];

  function actions(d) {
    const box = el('div', { class: 'actions' });
    if (can('workloads.manage') && d.state !== 'decommissioned') {
      const next = d.state === 'enabled' ? 'disabled' : 'enabled';
      const label = d.state === 'enabled' ? 'Disable' : 'Enable';
      box.append(el('button', { type: 'button', 'aria-label': label + ' ' + d.name, onclick: () => guard(r, null, async () => {
        await api('PATCH', '/api/v1/devices/' + encodeURIComponent(d.id), { state: next });
        showStatus(r, 'Device ' + d.name + ' ' + next + '.');
        await load();
      }) }, label));
    }
    const live = d.state !== 'decommissioned';
    const post = (verb, body, done) => guard(r, null, async () => {
      await api('POST', '/api/v1/devices/' + encodeURIComponent(d.id) + '/' + verb, body);
      showStatus(r, 'Device ' + d.name + ' ' + done + '.');
      await load();
    });
    if (can('devices.upgrade_client') && live && d.kind === 'endpoint') {
      box.append(el('button', { type: 'button', 'aria-label': 'Upgrade the client on ' + d.name,
        onclick: () => post('upgrade', {}, ': client upgrade requested') }, 'Upgrade client'));
    }
    if (can('devices.decommission') && live) {
      const dec = el('button', { type: 'button', class: 'danger', 'aria-label': 'Decommission ' + d.name }, 'Decommission');
      dec.addEventListener('click', () => confirm(box, 'decommission ' + d.name, () => post('decommission', { wipe: false }, 'decommissioned')));
      box.append(dec);
      if (d.kind === 'endpoint') {
        const wipe = el('button', { type: 'button', class: 'danger', 'aria-label': 'Decommission and wipe ' + d.name }, 'Decommission and wipe');
        wipe.addEventListener('click', () => confirm(box, 'decommission and remotely wipe ' + d.name,
          () => post('decommission', { wipe: true }, 'decommissioned; a remote wipe is queued')));
        box.append(wipe);
      }
    }
    if (can('workloads.delete')) {
      const del = deleteButton(r, box, d.name, '/api/v1/devices/' + encodeURIComponent(d.id), 'Device', load);
      box.append(del);
    }
    return box;
  }

  async function load() {
    const q = new URLSearchParams({ limit: '50' });
    if (user.value()) q.set('user_id', user.value());
    await list(q);
  }

  filters.addEventListener('submit', (ev) => {
    ev.preventDefault();
    load();
  });
  await load();
}
