import { el, field, input, regions, when, nextID } from './dom.js';
import { state, api, guard, showStatus, clearErrors } from './api.js';

// accountPage is My account: who is signed in, how, and the password
// change. Every administrator may open it.
export async function accountPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const se = await api('GET', '/auth/session');
  const methods = { password: 'Password', oidc: 'OpenID Connect', saml: 'SAML', api_token: 'API token' };
  main.append(el('h2', {}, 'Profile'), el('dl', { id: 'me' },
    el('dt', {}, 'Email'), el('dd', {}, se.email),
    el('dt', {}, 'Signed in with'), el('dd', {}, methods[se.method] || se.method || ''),
    el('dt', {}, 'Session ends'), el('dd', {}, se.expires_at ? when(se.expires_at) : '')));
  main.append(passwordForm(r));
}

function passwordForm(page) {
  const r = regions();
  const current = input({ type: 'password', name: 'current', autocomplete: 'current-password' });
  const fresh = input({ type: 'password', name: 'new', autocomplete: 'new-password' });
  const repeat = input({ type: 'password', name: 'repeat', autocomplete: 'new-password' });
  const hid = nextID('h');
  const form = el('form', { class: 'edit', id: 'change-password', 'aria-labelledby': hid, novalidate: true },
    el('h2', { id: hid }, 'Change your password'), r.alert,
    field('Current password', current, 'current'), field('New password', fresh, 'new', 'The account\'s password policy applies.'),
    field('Repeat the new password', repeat, 'repeat'),
    el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Change password')));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    guard(r, form, async () => {
      await api('POST', '/auth/password', { current: current.value, new: fresh.value, repeat: repeat.value });
      // The change starts a new session, with a new CSRF token.
      const se = await api('GET', '/auth/session');
      state.csrf = se.csrf_token || '';
      clearErrors(form);
      r.alert.replaceChildren();
      current.value = fresh.value = repeat.value = '';
      showStatus(page, 'Your password is changed; your other sessions are signed out.');
    });
  });
  return form;
}
