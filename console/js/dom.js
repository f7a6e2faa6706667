// DOM helpers: every piece of data goes on the page with textContent or
// as an attribute value, never parsed as HTML.

// el creates an element. attrs: attribute values (strings), booleans for
// presence, "on" handlers under keys starting with "on". Children are
// nodes or strings (made into text nodes), nested arrays flattened.
export function el(tag, attrs, ...children) {
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

export function append(parent, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    parent.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

let uid = 0;
export function nextID(prefix) {
  uid += 1;
  return prefix + '-' + uid;
}

// field is a labelled control with a place for its field error. name is
// the API's field name (data-field), which error messages point at.
export function field(label, control, name, hint) {
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

export function input(attrs) {
  return el('input', Object.assign({ type: 'text' }, attrs));
}

export function select(options, value, attrs) {
  const s = el('select', attrs || {});
  for (const [v, label] of options) {
    const o = el('option', { value: v }, label);
    if (v === value) o.selected = true;
    s.append(o);
  }
  return s;
}

export function checkbox(label, attrs) {
  const id = nextID('c');
  const box = el('input', Object.assign({ type: 'checkbox', id: id }, attrs));
  return { box: box, node: el('span', {}, box, ' ', el('label', { for: id }, label)) };
}

// choices is a group of checkboxes, one per item ({id, name}), with
// the ids in selected checked; without items (the list was refused) a
// text input of comma-separated ids. value() returns the chosen ids.
export function choices(label, items, selected, name) {
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
export function regions() {
  return {
    status: el('div', { class: 'status', role: 'status', 'aria-live': 'polite' }),
    alert: el('div', { class: 'alert', role: 'alert', tabindex: '-1' }),
  };
}

export function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString();
}

export function list(text) {
  return text.split(/[\s,;]+/).map((s) => s.trim()).filter(Boolean);
}

// confirm replaces the contents of box with "Yes, <what>" and Cancel
// buttons (a destructive action asks in place, not in a modal dialog);
// yes runs on the first, Cancel puts the old contents back.
export function confirm(box, what, yes) {
  const saved = Array.from(box.childNodes);
  const ok = el('button', { type: 'button', class: 'danger confirm' }, 'Yes, ' + what);
  const no = el('button', { type: 'button', onclick: () => { box.replaceChildren(...saved); } }, 'Cancel');
  ok.addEventListener('click', () => yes());
  box.replaceChildren(ok, no);
  ok.focus();
}

// grid fills table with a caption, a head of columns and a row per item:
// columns are [label, cell(item) -> node or text]; the first column is
// the row's header.
export function grid(table, caption, columns, items) {
  const head = el('thead', {}, el('tr', {}, columns.map(([label]) => el('th', { scope: 'col' }, label))));
  const body = el('tbody');
  for (const it of items) {
    body.append(el('tr', { 'data-id': it.id || '' }, columns.map(([, cell], i) => {
      const v = cell(it);
      return i === 0 ? el('th', { scope: 'row' }, v) : el('td', {}, v);
    })));
  }
  table.replaceChildren(el('caption', {}, caption), head, body);
}

// counted is "N things" or "n of N things" while more pages remain.
export function counted(shown, total, one, many) {
  return (shown < total ? shown + ' of ' : '') + total + ' ' + (total === 1 ? one : many);
}
