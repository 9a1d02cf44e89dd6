/* global document, window, sessionStorage, fetch, setTimeout */
// The status page's script (plain browser JavaScript, served by status-routes.ts under a strict CSP).
// It polls /status/data and redraws the tables in place; the control forms call the guarded control
// API with the token kept in sessionStorage (gone when the tab closes). Every value from the server
// reaches the page through textContent or an attribute the browser does not execute: no innerHTML.

const REFRESH_MS = 1500;
const TOKEN_KEY = 'pitboss.controlToken';
const $ = (id) => document.getElementById(id);

// ── small DOM helpers ─────────────────────────────────────────────────────────────────────────────
function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

/** A cell is a string/number, null (shown as –), a Node, or { text, cls, wrap, title }. */
function cell(value) {
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

function fillTable(id, rows, toCells, empty = 'nothing yet') {
  const body = $(id).tBodies[0];
  if (rows.length === 0) {
    const td = el('td', empty, 'muted');
    td.colSpan = $(id).tHead.rows[0].cells.length;
    const tr = el('tr');
    tr.append(td);
    body.replaceChildren(tr);
    return;
  }
  body.replaceChildren(...rows.map((row) => {
    const tr = el('tr');
    tr.append(...toCells(row).map(cell));
    return tr;
  }));
}

// ── formatting ────────────────────────────────────────────────────────────────────────────────────
const clock = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const time = (iso) => (iso ? clock.format(new Date(iso)) : null);
const mib = (bytes) => (bytes === null ? null : `${(bytes / 1048576).toFixed(1)} MiB`);
const pct = (ratio) => (ratio === null || ratio === undefined ? null : `${Math.round(ratio * 100)}%`);
function ago(ms) {
  if (ms < 1000) return 'now';
  if (ms < 90_000) return `${Math.round(ms / 1000)} s ago`;
  if (ms < 5_400_000) return `${Math.round(ms / 60_000)} min ago`;
  return `${Math.round(ms / 3_600_000)} h ago`;
}
function bar(ratio) {
  const wrap = el('span');
  const outer = el('span', null, 'bar');
  const inner = el('span');
  inner.style.width = `${Math.max(0, Math.min(100, Math.round((ratio ?? 0) * 100)))}%`;
  outer.append(inner);
  wrap.append(outer, pct(ratio) ?? '–');
  return wrap;
}
const stateCell = (state) => ({ text: state, cls: `state-${state}` });

// ── rendering the snapshot ────────────────────────────────────────────────────────────────────────
function renderPools(pools) {
  const boxes = pools.map((pool) => {
    const box = el('div', null, 'pool');
    const s = pool.status;
    const summary = s === null ? 'no status yet' : `queue ${s.queueDepth} · busy ${s.busy} · idle ${s.idle} · utilization ${pct(s.utilization)}`;
    const title = el('h3', `${pool.name} `);
    title.append(el('span', pool.state, `state-${pool.state === 'running' ? 'alive' : 'down'}`), el('span', ` · ${summary} · restarts ${pool.restarts}`, 'muted'));
    const table = el('table');
    table.dataset.pool = pool.name;
    const head = el('thead');
    const hr = el('tr');
    for (const h of ['slot', 'thread', 'state', 'tasks', 'heap used', 'heap total', 'event loop', 'restarts', 'last exit']) hr.append(el('th', h));
    head.append(hr);
    const body = el('tbody');
    for (const t of pool.threads) {
      const tr = el('tr');
      tr.dataset.worker = String(t.workerId);
      tr.append(...[t.workerId, t.threadId, stateCell(t.state), t.tasks, mib(t.heapUsed), mib(t.heapTotal), bar(t.utilization), t.restarts,
        t.lastExit === null ? null : `${t.lastExit.reason} at ${time(t.lastExit.at)}`].map(cell));
      body.append(tr);
    }
    table.append(head, body);
    box.append(title, table);
    return box;
  });
  $('pools').replaceChildren(...boxes);
}

function render(data) {
  $('supervisor').textContent = `supervisor ${data.supervisor.id} · up ${ago(data.supervisor.uptimeMs).replace(' ago', '')}`;
  const problems = $('problems');
  problems.hidden = data.problems.length === 0;
  problems.textContent = data.problems.join(' · ');
  renderPools(data.pools);
  fillTable('queues', data.queues, (q) => [q.queue, q.pool, q.queued, q.running, q.failed, q.dead, q.completed, q.completedPerMin, q.failedPerMin], 'no queues');
  fillTable('recent-jobs', data.recentJobs, (j) => [time(j.at), j.id, j.queue, j.name, stateCell(j.status), j.attempt, j.durationMs, { text: j.error, wrap: true }], 'no job has run here yet');
  fillTable('failures', data.failures, (f) => [time(f.updatedAt), f.id, f.queue, f.name, stateCell(f.status), `${f.attempts}/${f.maxAttempts}`,
    { text: f.error === null ? null : f.error.message === null ? f.error.type : `${f.error.type}: ${f.error.message}`, wrap: true }], 'no failures');
  // Without the token the server sends error types only (see read-access.ts); say why the texts are missing.
  $('details-hidden').hidden = data.hidden === undefined;
  fillTable('supervisors', data.supervisors, (s) => [s.id === data.supervisor.id ? `${s.id} (this)` : s.id, s.host, s.pid, time(s.startedAt),
    ago(s.heartbeatAgeMs), s.running, stateCell(s.stopped ? 'stopped' : s.heartbeatAgeMs < data.heartbeatTtlMs ? 'alive' : 'silent')], 'no heartbeat recorded yet');
  fillTable('worker-events', data.workerEvents, (w) => [w.supervisor, w.pool, w.workerId, w.event.replace('pool.worker.', ''), w.count, { text: w.reasons, wrap: true }, time(w.lastAt)], 'no thread exits in the last hour');
  fillChoices(data);
}

// Choices for the control forms: filled once (and pools as they appear), keeping what the user picked.
function fillChoices(data) {
  const patterns = $('patterns');
  if (patterns.children.length === 0) patterns.append(...data.vocabulary.patterns.map((p) => { const o = el('option'); o.value = p; return o; }));
  const target = $('level-target');
  if (target.options.length === 1) target.append(...data.vocabulary.logCategories.map((c) => { const o = el('option', c); o.value = c; return o; }));
  const level = $('level-value');
  if (level.options.length === 0) {
    level.append(...data.vocabulary.logLevels.map((l) => { const o = el('option', l); o.value = l; return o; }));
    level.value = 'info';
  }
  const pool = $('rule-pool');
  const known = new Set(Array.from(pool.options, (o) => o.value));
  for (const p of data.pools) if (!known.has(p.name)) { const o = el('option', p.name); o.value = p.name; pool.append(o); }
}

// ── control API ───────────────────────────────────────────────────────────────────────────────────
const token = () => sessionStorage.getItem(TOKEN_KEY) ?? '';

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (token() !== '') headers.authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(json.reason ?? `${response.status} ${response.statusText}`), { status: response.status });
  return json;
}

function say(text, ok) {
  const message = $('control-message');
  message.textContent = text;
  message.className = `message ${ok ? 'ok' : 'error'}`;
}

let currentRules = [];
// Without a token, a 401 will not change by itself: stop asking every tick until a token is entered.
let deniedWithoutToken = false;
const ruleKey = (r) => `${r.pattern}|${r.scope.pool ?? ''}|${r.scope.worker ?? ''}`;

async function refreshControl() {
  if (deniedWithoutToken && token() === '') return;
  try {
    const [telemetry, levels] = await Promise.all([api('GET', '/control/telemetry'), api('GET', '/control/log-levels')]);
    currentRules = telemetry.rules;
    $('token-state').textContent = token() === '' ? 'open locally' : 'token accepted';
    $('rules-version').textContent = `version ${telemetry.version}`;
    fillTable('rules', currentRules, (r) => {
      const remove = el('button', 'remove');
      remove.type = 'button';
      // By key, not identity: the table may have been refreshed since this button was drawn.
      remove.addEventListener('click', () => putRules(currentRules.filter((x) => ruleKey(x) !== ruleKey(r)), `removed ${r.pattern}`));
      return [{ text: r.pattern, cls: 'mono' }, r.rate, r.enabled ? 'yes' : 'no', r.scope.pool ?? 'any', r.scope.worker ?? 'any', remove];
    }, 'no rules: every event is kept');
    $('levels-version').textContent = `version ${levels.version}`;
    const parts = [`default=${levels.default}`, ...Object.entries(levels.categories).map(([c, l]) => `${c}=${l}`), ...Object.entries(levels.workers).map(([w, l]) => `${w}=${l}`)];
    $('levels').textContent = parts.join('  ');
  } catch (error) {
    currentRules = [];
    fillTable('rules', [], () => [], '–');
    $('levels').textContent = '';
    deniedWithoutToken = error.status === 401 && token() === '';
    $('token-state').textContent = error.status === 401 ? (token() === '' ? 'enter the control token to see and change rules' : 'token refused') : `control API: ${error.message}`;
  }
}

async function putRules(rules, done) {
  try {
    const body = { rules: rules.map((r) => ({ pattern: r.pattern, rate: r.rate, enabled: r.enabled, scope: { pool: r.scope.pool, worker: r.scope.worker } })) };
    const result = await api('PUT', '/control/telemetry', body);
    say(`${done} · rules version ${result.version}`, true);
  } catch (error) {
    say(`not changed: ${error.message}`, false);
  }
  await refreshControl();
}

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  deniedWithoutToken = false;
  $('token').value = '';
  refreshControl();
});
$('forget-token').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  currentRules = [];
  refreshControl();
});

$('rule-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const pattern = $('rule-pattern').value.trim();
  const rate = Number($('rule-rate').value);
  const pool = $('rule-pool').value || null;
  const worker = $('rule-worker').value.trim() || null;
  const enabled = $('rule-enabled').checked;
  await refreshControl(); // change the newest table, not the one drawn a second ago
  const rule = { pattern, rate, enabled, scope: { pool, worker } };
  const same = (r) => ruleKey(r) === ruleKey(rule);
  const rules = currentRules.some(same) ? currentRules.map((r) => (same(r) ? rule : r)) : [...currentRules, rule];
  await putRules(rules, `set ${pattern} to rate ${rate}${pool === null ? '' : ` in pool ${pool}`}`);
});

$('level-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const target = $('level-target').value;
  const level = $('level-value').value;
  const change = target === '*' ? { default: level } : { categories: { [target]: level } };
  try {
    const result = await api('PUT', '/control/log-levels', change);
    say(`log level of ${target === '*' ? 'default' : target} set to ${level} · version ${result.version}`, true);
  } catch (error) {
    say(`not changed: ${error.message}`, false);
  }
  await refreshControl();
});

// ── the refresh loop: one request in flight at most, never a reload ──────────────────────────────
async function tick() {
  const live = $('live');
  try {
    const headers = { accept: 'application/json' };
    if (token() !== '') headers.authorization = `Bearer ${token()}`;
    const response = await fetch('/status/data', { cache: 'no-store', headers });
    if (!response.ok) throw new Error(`${response.status}`);
    const data = await response.json();
    render(data);
    live.textContent = `live · ${time(data.generatedAt)}`;
    live.classList.remove('stale');
    await refreshControl();
  } catch (error) {
    live.textContent = `disconnected (${error.message}) · retrying`;
    live.classList.add('stale');
  } finally {
    setTimeout(tick, REFRESH_MS);
  }
}

tick();

export {};
