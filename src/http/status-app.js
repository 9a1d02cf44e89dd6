/* global document, window, fetch, setTimeout */
// The status page's entry module (plain browser JavaScript, served by status-routes.ts under a strict
// CSP). It polls /status/data and redraws the Overview in place, switches tabs by the URL's hash, and
// lets each tab refresh what it shows while it shows: the open job every tick, schedules every few
// seconds, the charts every ten (their data changes by the minute).
import { forgetToken, setToken, token } from './status-api.js';
import { refreshCharts } from './status-charts.js';
import { fillControlChoices, refreshControl, tokenChanged } from './status-control.js';
import { $, ago, bar, cell, el, fillTable, mib, pct, stateCell, time } from './status-dom.js';
import { fillJobChoices, openJob, refreshJob, searchJobs } from './status-jobs.js';
import { refreshSchedules, renderQueueControls } from './status-ops.js';

const REFRESH_MS = 1500;
const TABS = ['overview', 'jobs', 'queues', 'schedules', 'control'];
/** How often a shown tab re-reads its own data, ms (0: every tick). */
const TAB_REFRESH_MS = { jobs: 0, queues: 10_000, schedules: 5000 };
const TAB_REFRESH = { jobs: refreshJob, queues: refreshCharts, schedules: refreshSchedules };

// ── tabs ──────────────────────────────────────────────────────────────────────────────────────────
let tab = 'overview';
const refreshedAt = {};
let jobsSearched = false;

// #jobs:<id> opens one job (a link an operator can pass on); the other tabs are #<name>.
function showTab() {
  const [wanted, jobId] = window.location.hash.slice(1).split(':');
  tab = TABS.includes(wanted) ? wanted : 'overview';
  if (tab === 'jobs' && /^[1-9][0-9]{0,18}$/.test(jobId ?? '')) void openJob(jobId);
  for (const box of document.querySelectorAll('main > .tab')) box.hidden = box.dataset.tab !== tab;
  for (const link of document.querySelectorAll('#tabs a')) link.classList.toggle('current', link.dataset.tab === tab);
  if (tab === 'jobs' && !jobsSearched) {
    jobsSearched = true;
    void searchJobs();
  }
  refreshedAt[tab] = 0;
  void refreshTab();
}

async function refreshTab() {
  const refresh = TAB_REFRESH[tab];
  if (refresh === undefined || Date.now() - (refreshedAt[tab] ?? 0) < TAB_REFRESH_MS[tab]) return;
  refreshedAt[tab] = Date.now();
  await refresh();
}

window.addEventListener('hashchange', showTab);

// ── the overview ──────────────────────────────────────────────────────────────────────────────────
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
  // A paused queue says so here too, not only on the Queues tab: its jobs wait, which the counts alone do not explain.
  fillTable('queues', data.queues, (q) => [q.paused === true ? { text: `${q.queue} (paused)`, cls: 'state-paused' } : q.queue, q.pool, q.queued, q.running, q.failed, q.dead, q.completed, q.completedPerMin, q.failedPerMin], 'no queues');
  fillTable('recent-jobs', data.recentJobs, (j) => [time(j.at), j.id, j.queue, j.name, stateCell(j.status), j.attempt, j.durationMs, { text: j.error, wrap: true }], 'no job has run here yet');
  fillTable('failures', data.failures, (f) => [time(f.updatedAt), f.id, f.queue, f.name, stateCell(f.status), `${f.attempts}/${f.maxAttempts}`,
    { text: f.error === null ? null : f.error.message === null ? f.error.type : `${f.error.type}: ${f.error.message}`, wrap: true }], 'no failures');
  // Without the token the server sends error types only (see read-access.ts); say why the texts are missing.
  $('details-hidden').hidden = data.hidden === undefined;
  fillTable('supervisors', data.supervisors, (s) => [s.id === data.supervisor.id ? `${s.id} (this)` : s.id, s.host, s.pid, time(s.startedAt),
    ago(s.heartbeatAgeMs), s.running, stateCell(s.stopped ? 'stopped' : s.heartbeatAgeMs < data.heartbeatTtlMs ? 'alive' : 'silent')], 'no heartbeat recorded yet');
  fillTable('worker-events', data.workerEvents, (w) => [w.supervisor, w.pool, w.workerId, w.event.replace('pool.worker.', ''), w.count, { text: w.reasons, wrap: true }, time(w.lastAt)], 'no thread exits in the last hour');
  fillControlChoices(data);
  fillJobChoices(data);
  renderQueueControls(data);
}

// ── the token ─────────────────────────────────────────────────────────────────────────────────────
$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  setToken($('token').value.trim());
  tokenChanged();
  $('token').value = '';
  void refreshControl();
  if (tab === 'jobs') void searchJobs();
});
$('forget-token').addEventListener('click', () => {
  forgetToken();
  tokenChanged();
  void refreshControl();
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
    await refreshTab();
  } catch (error) {
    live.textContent = `disconnected (${error.message}) · retrying`;
    live.classList.add('stale');
  } finally {
    setTimeout(tick, REFRESH_MS);
  }
}

showTab();
tick();
