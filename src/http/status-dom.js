/* global document, window */
// DOM and formatting helpers shared by the status page's modules. Every value from the server
// reaches the page through textContent or an attribute the browser does not execute: no innerHTML.

export const $ = (id) => document.getElementById(id);

export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function button(text, onClick, className) {
  const node = el('button', text, className);
  node.type = 'button';
  node.addEventListener('click', onClick);
  return node;
}

/** A cell is a string/number, null (shown as –), a Node, or { text, cls, wrap, title }. */
export function cell(value) {
  const td = el('td');
  if (value === null || value === undefined) td.textContent = '–';
  else if (value instanceof window.Node) td.append(value);
  else if (typeof value === 'object') {
    td.textContent = value.text === null || value.text === undefined ? '–' : String(value.text);
    if (value.cls) td.className = value.cls;
    if (value.wrap) td.classList.add('wrap');
    if (value.title) td.title = String(value.title);
  } else td.textContent = String(value);
  return td;
}

/** Redraws a table's body; `decorate(tr, row)` may add classes or handlers to each row. */
export function fillTable(id, rows, toCells, empty = 'nothing yet', decorate = null) {
  const table = $(id);
  const body = table.tBodies[0];
  if (rows.length === 0) {
    const td = el('td', empty, 'muted');
    td.colSpan = table.tHead.rows[0].cells.length;
    const tr = el('tr');
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((row) => {
    const tr = el('tr');
    tr.append(...toCells(row).map(cell));
    if (decorate !== null) decorate(tr, row);
    return tr;
  }));
}

/** Adds options to a select once each, keeping what the user picked. */
export function addOptions(select, values) {
  const known = new Set(Array.from(select.options, (o) => o.value));
  for (const value of values) {
    if (known.has(value)) continue;
    const option = el('option', value);
    option.value = value;
    select.append(option);
    known.add(value);
  }
}

// ── formatting ────────────────────────────────────────────────────────────────────────────────────
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const minuteClock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const calendar = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
export const time = (iso) => (iso ? clock.format(new Date(iso)) : null);
export const minuteOf = (ms) => minuteClock.format(new Date(ms));
export const dateTime = (iso) => (iso ? calendar.format(new Date(iso)) : null);
export const mib = (bytes) => (bytes === null ? null : `${(bytes / 1048576).toFixed(1)} MiB`);
export const pct = (ratio) => (ratio === null || ratio === undefined ? null : `${Math.round(ratio * 100)}%`);
export function ago(ms) {
  if (ms < 1000) return 'now';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 5_400_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}
export function bar(ratio) {
  const wrap = el('span');
  const outer = el('span', null, 'bar');
  const inner = el('span');
  // CSSOM, not a style attribute: style-src 'self' allows it.
  inner.style.width = `${Math.max(0, Math.min(100, Math.round((ratio ?? 0) * 100)))}%`;
  outer.append(inner);
  wrap.append(outer, pct(ratio) ?? '–');
  return wrap;
}
export const stateCell = (state) => ({ text: state, cls: `state-${state}` });

// ── messages and confirmation ─────────────────────────────────────────────────────────────────────
export function say(text, ok) {
  const message = $('control-message');
  message.textContent = text;
  message.className = `message ${ok ? 'ok' : 'error'}`;
}

/** Asks before an action: resolves true when the operator confirms, false on cancel or Escape. */
export function confirmAction(text) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  return new Promise((resolve) => {
    const done = (answer) => {
      $('confirm-yes').removeEventListener('click', yes);
      $('confirm-no').removeEventListener('click', no);
      dialog.removeEventListener('close', no);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    $('confirm-yes').addEventListener('click', yes);
    $('confirm-no').addEventListener('click', no);
    dialog.addEventListener('close', no);
    dialog.showModal();
  });
}
