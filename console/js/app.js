// Holdfast web console: plain ES modules over the JSON API (/api/v1), no
// framework and no build step. Every piece of data is put on the page
// with textContent or as an attribute value, never parsed as HTML.
// Nothing is kept in localStorage or sessionStorage: the session is the
// HttpOnly cookie, and the CSRF token lives only in this page's memory.
import { el, regions } from './dom.js';
import { state, APIError, api, showError } from './api.js';
import { loadDecisions, can, why } from './access.js';
import { adminsPage } from './admins.js';
import { rolesPage } from './roles.js';
import { holdsPage } from './holds.js';
import { auditPage } from './audit.js';
import { tokensPage } from './tokens.js';
import { usersPage } from './users.js';
import { devicesPage } from './devices.js';
import { accountPage } from './account.js';
import { profilesPage } from './profiles.js';
import { holdTypesPage } from './holdtypes.js';
import { settingsPage } from './settings.js';
import { idpsPage } from './idps.js';

// pages in navigation order; rights: any one of them opens the page
// (none: every administrator may).
const pages = [
  { id: 'administrators', title: 'Administrators', rights: ['admins.view'], render: adminsPage },
  { id: 'roles', title: 'Roles', rights: ['admins.view'], render: rolesPage },
  { id: 'users', title: 'Users', rights: ['users.view'], render: usersPage },
  { id: 'devices', title: 'Devices', rights: ['users.view'], render: devicesPage },
  { id: 'profiles', title: 'Profiles', rights: ['profiles.view'], render: profilesPage },
  { id: 'legal-holds', title: 'Legal holds', rights: ['legal_holds.view', 'legal_holds.create_manage'], render: holdsPage },
  { id: 'hold-types', title: 'Legal hold types', rights: ['legal_holds.view', 'legal_holds.create_manage', 'legal_holds.delete', 'legal_hold_types.manage'], render: holdTypesPage },
  { id: 'audit', title: 'Audit trail', rights: ['admins.view'], render: auditPage },
  { id: 'settings', title: 'Settings', rights: ['settings.view'], render: settingsPage },
  { id: 'identity-providers', title: 'Identity providers', rights: ['account.sso.manage'], render: idpsPage },
  { id: 'tokens', title: 'API tokens', rights: ['api_tokens.manage'], render: tokensPage },
  { id: 'account', title: 'My account', rights: [], render: accountPage },
];

function allowed(page) {
  return !page.rights.length || can(...page.rights);
}

// buildNav lists the pages the caller may open, and no other.
function buildNav() {
  const list = document.getElementById('nav-list');
  list.replaceChildren(...pages.filter(allowed).map((p) => el('li', {}, el('a', { href: '#' + p.id }, p.title))));
  const toggle = document.getElementById('nav-toggle');
  toggle.hidden = false;
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
  });
  list.addEventListener('click', (ev) => {
    if (ev.target.closest('a')) toggle.setAttribute('aria-expanded', 'false');
  });
}

// landing is the first page the caller may open.
function landing() {
  return pages.find(allowed);
}

let current = '';

function route(ev) {
  const name = location.hash.replace(/^#/, '');
  const page = pages.find((p) => p.id === name);
  // An address that names no page (the skip link's #main) keeps the page.
  if (!page && name && current) return;
  const target = page || landing();
  current = target.id;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === '#' + target.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = target.title + ' - Holdfast console';
  const main = document.getElementById('main');
  const h1 = el('h1', { tabindex: '-1' }, target.title);
  main.replaceChildren(h1);
  // A screen reader hears the new page; the first load keeps the focus.
  if (ev) h1.focus();
  if (!allowed(target)) {
    refused(main, target);
    return;
  }
  target.render(main).catch((err) => {
    // The page's own regions when it made them before failing.
    const r = regions();
    r.status = main.querySelector('[role="status"]') || r.status;
    r.alert = main.querySelector('[role="alert"]') || main.appendChild(r.alert);
    showError(r, err instanceof APIError ? err : new APIError(0, { error: { message: String(err) } }));
  });
}

// refused explains, in the engine's words, why the caller cannot open
// the page (reached by an old link), and offers the pages it may open.
function refused(main, page) {
  const r = regions();
  main.append(r.alert);
  const reasons = page.rights.map(why);
  const open = pages.filter(allowed);
  r.alert.replaceChildren(el('p', {}, el('strong', {}, 'Refused: '), 'you cannot open ' + page.title + '.'),
    el('ul', { class: 'reasons' }, [...new Set(reasons)].map((x) => el('li', {}, x))));
  if (open.length) {
    main.append(el('p', {}, 'Pages you may open: '), el('ul', {}, open.map((p) => el('li', {}, el('a', { href: '#' + p.id }, p.title)))));
  }
}

// labelCells gives every data cell of the page's tables its column's
// name, shown before the value where a narrow screen stacks the rows.
function labelCells(root) {
  for (const table of root.querySelectorAll('table')) {
    const heads = Array.from(table.querySelectorAll('thead th'), (th) => th.textContent);
    for (const tr of table.querySelectorAll('tbody tr')) {
      Array.from(tr.cells).forEach((cell, i) => {
        if (heads[i] && !cell.hasAttribute('data-label')) cell.setAttribute('data-label', heads[i]);
      });
    }
  }
}

function skipLink() {
  // The skip link moves the focus to the page and leaves the address as it is.
  document.querySelector('.skip').addEventListener('click', (ev) => {
    ev.preventDefault();
    const main = document.getElementById('main');
    (main.querySelector('h1') || main).focus();
  });
}

async function start() {
  skipLink();
  let se;
  try {
    se = await api('GET', '/auth/session');
  } catch (err) {
    if (err instanceof APIError && err.status === 401) return; // on the way to the sign-in page
    const r = regions();
    document.getElementById('main').append(r.alert);
    showError(r, err instanceof APIError ? err : new APIError(0, { error: { message: String(err) } }));
    return;
  }
  state.csrf = se.csrf_token || '';
  state.email = se.email || '';
  state.adminID = se.admin_id || '';
  state.accountID = se.account_id || '';
  document.getElementById('who').textContent = 'Signed in as ' + state.email;
  document.getElementById('sign-out').hidden = false;
  document.getElementById('sign-out').addEventListener('click', async () => {
    try {
      await api('POST', '/auth/logout');
    } finally {
      state.csrf = '';
      location.assign('/login');
    }
  });
  try {
    await loadDecisions();
  } catch (err) {
    const r = regions();
    document.getElementById('main').replaceChildren(el('h1', {}, 'Holdfast console'), r.alert);
    if (err instanceof APIError) showError(r, err);
    return;
  }
  buildNav();
  new MutationObserver(() => labelCells(document.getElementById('main')))
    .observe(document.getElementById('main'), { childList: true, subtree: true });
  window.addEventListener('hashchange', route);
  route();
}

document.addEventListener('DOMContentLoaded', start);
