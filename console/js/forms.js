// Forms of settings: each field follows a right; a field the caller may
// not change is shown disabled, with the engine's reason beside it.
import { el, field, input, checkbox, regions, nextID } from './dom.js';
import { guard, showStatus, clearErrors } from './api.js';
import { can, why } from './access.js';

// settingsForm builds a form of fields over values: spec is a list of
// {name, label, kind: 'number' | 'bool' | 'lines', right, hint, min, max}.
// On submit it sends the fields that changed (lines as a list) to
// save(body), and shows saved(out) in the page's status.
export function settingsForm(page, id, title, spec, values, save, saved) {
  const r = regions();
  const controls = [];
  const nodes = spec.map((f) => {
    const allowed = can(f.right);
    const hint = [f.hint, allowed ? '' : 'You cannot change this: ' + why(f.right)].filter(Boolean).join(' ');
    if (f.kind === 'bool') {
      const cb = checkbox(f.label, { name: f.name, checked: !!values[f.name], disabled: !allowed, 'data-field': f.name });
      controls.push([f, () => cb.box.checked]);
      return el('div', { class: 'field' }, cb.node, hint ? el('p', { class: 'hint' }, hint) : null);
    }
    if (f.kind === 'lines') {
      const ta = el('textarea', { name: f.name, disabled: !allowed });
      ta.value = (values[f.name] || []).join('\n');
      controls.push([f, () => ta.value.split(/\s*[\n,]\s*/).map((x) => x.trim()).filter(Boolean)]);
      return field(f.label, ta, f.name, hint);
    }
    const box = input({ type: 'number', name: f.name, value: String(values[f.name] ?? ''), min: f.min, max: f.max, inputmode: 'numeric', disabled: !allowed });
    controls.push([f, () => (box.value === '' ? null : Number(box.value))]);
    return field(f.label, box, f.name, hint);
  });
  const any = spec.some((f) => can(f.right));
  const hid = nextID('h');
  const form = el('form', { class: 'edit', id: id, 'aria-labelledby': hid, novalidate: true },
    el('h2', { id: hid }, title), r.alert, nodes,
    any ? el('p', { class: 'actions' }, el('button', { type: 'submit' }, 'Save ' + title.toLowerCase())) : null);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = {};
    for (const [f, read] of controls) {
      const v = read();
      if (can(f.right) && JSON.stringify(v) !== JSON.stringify(values[f.name] ?? (f.kind === 'lines' ? [] : null))) body[f.name] = v;
    }
    guard(r, form, async () => {
      const out = await save(body);
      Object.assign(values, body);
      clearErrors(form);
      r.alert.replaceChildren();
      showStatus(page, saved(out));
    });
  });
  return form;
}
