import { el, field, input, select, checkbox, regions, nextID, confirm, grid, counted } from './dom.js';
import { api, guard, showStatus, listing, deleteButton } from './api.js';

// idpsPage lists the account's identity providers (OpenID Connect and
// SAML) with the addresses to give the provider, adds one (its client
// secret sent once, never shown again) and deletes one after a
// confirmation.
export async function idpsPage(main) {
  const r = regions();
  main.append(r.status, r.alert);
  const table = el('table', { id: 'idps' });
  const slot = el('div');
  main.append(el('p', {}, el('button', { type: 'button', id: 'new-idp', onclick: () => create() }, 'New identity provider')), slot, table);
  const kinds = { oidc: 'OpenID Connect', saml: 'SAML 2.0' };
  const columns = [['Name', (p) => p.name], ['Protocol', (p) => kinds[p.kind] || p.kind], ['State', (p) => (p.enabled ? 'Enabled' : 'Disabled')],
    ['Give the provider', (p) => el('code', {}, p.redirect_uri || p.acs_url || '')], ['Actions', actions]];
  const list = listing(r, table, null, '/api/v1/identity-providers', 'identity_providers', (items, total) =>
    grid(table, counted(items.length, total, 'identity provider', 'identity providers'), columns, items));
  const reload = () => list(new URLSearchParams());

  function actions(p) {
    const box = el('div', { class: 'actions' });
    const del = deleteButton(r, box, p.name, '/api/v1/identity-providers/' + encodeURIComponent(p.id), 'Identity provider', reload);
    box.append(del);
    return box;
  }

  function create() {
    const fr = regions();
    const kind = select([['oidc', 'OpenID Connect'], ['saml', 'SAML 2.0']], 'oidc', { name: 'kind' });
    const name = input({ name: 'name', autocomplete: 'off' });
    const issuer = input({ type: 'url', name: 'issuer' });
    const clientID = input({ name: 'client_id', autocomplete: 'off' });
    const secret = input({ type: 'password', name: 'client_secret', autocomplete: 'new-password' });
    const metaURL = input({ type: 'url', name: 'metadata_url' });
    const metaXML = el('textarea', { name: 'metadata_xml' });
    const enabled = checkbox('Enabled', { name: 'enabled', checked: true });
    const idpInit = checkbox('Accept sign-ins the provider starts (SAML)', { name: 'allow_idp_initiated' });
    const oidcPart = el('div', {}, field('Issuer', issuer, 'issuer'), field('Client id', clientID, 'client_id'),
      field('Client secret', secret, 'client_secret', 'Sent once; it is never shown again.'));
    const samlPart = el('div', { hidden: true }, field('Metadata address', metaURL, 'metadata_url'),
      field('Or the metadata XML', metaXML, 'metadata_xml'), el('div', { class: 'field' }, idpInit.node));
    kind.addEventListener('change', () => {
      oidcPart.hidden = kind.value !== 'oidc';
      samlPart.hidden = kind.value !== 'saml';
    });
    const hid = nextID('h');
    const form = el('form', { class: 'edit', id: 'create-idp', 'aria-labelledby': hid, novalidate: true },
      el('h2', { id: hid }, 'New identity provider'), fr.alert, field('Protocol', kind, 'kind'), field('Name', name, 'name'),
      oidcPart, samlPart, el('div', { class: 'field' }, enabled.node),
      el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Add identity provider'),
        el('button', { type: 'button', onclick: () => slot.replaceChildren() }, 'Cancel')));
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const body = { kind: kind.value, name: name.value, enabled: enabled.box.checked };
      if (kind.value === 'oidc') Object.assign(body, { issuer: issuer.value, client_id: clientID.value, client_secret: secret.value });
      else Object.assign(body, { metadata_url: metaURL.value || undefined, metadata_xml: metaXML.value || undefined, allow_idp_initiated: idpInit.box.checked });
      guard(fr, form, async () => {
        const out = await api('POST', '/api/v1/identity-providers', body);
        slot.replaceChildren();
        showStatus(r, 'Identity provider ' + out.name + ' added. Give the provider ' + (out.redirect_uri || out.acs_url || '') + '.');
        await reload();
      });
    });
    slot.replaceChildren(form);
    kind.focus();
  }

  await reload();
}
