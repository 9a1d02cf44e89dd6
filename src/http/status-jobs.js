/* global window, URLSearchParams */
// The Jobs tab: the explorer (GET /jobs with filters, newest first, keyset pages via its `next`
// cursor; Newer steps back through the cursors of the pages seen), one job's details (GET /jobs/:id: attempts, progress, error, trace id, actions) and the
// token-guarded actions on them — retry, cancel, bulk retry by filter — each after a confirmation.
import { api } from './status-api.js';
import { $, addOptions, bar, confirmAction, dateTime, el, fillTable, say, stateCell } from './status-dom.js';

// `back`: the cursors of the pages before this one, newest page first (null: the first page).
let page = { cursor: null, next: null, number: 1, back: [] };
let openId = null;

const errorText = (e) => (e === null || e === undefined ? null : e.message === null || e.message === undefined ? e.type : `${e.type}: ${e.message}`);
const statusOf = (job) => job.status ?? job.state;
const localToIso = (value) => (value === '' ? null : new Date(value).toISOString());

/** The filter as the form holds it, without empty fields. */
function currentFilter() {
  const filter = {
    queue: $('jobs-queue').value, state: $('jobs-state').value, name: $('jobs-name').value.trim(),
    since: localToIso($('jobs-since').value), until: localToIso($('jobs-until').value),
  };
  for (const key of Object.keys(filter)) if (filter[key] === '' || filter[key] === null) delete filter[key];
  return filter;
}

async function showPage(cursor) {
  const params = new URLSearchParams({ ...currentFilter(), limit: $('jobs-limit').value });
  if (cursor !== null) params.set('cursor', cursor);
  try {
    const result = await api('GET', `/jobs?${params}`);
    page = { ...page, cursor, next: result.next ?? null };
    fillTable('jobs-list', result.jobs, (j) => [j.id, j.queue, j.name, stateCell(statusOf(j)), `${j.attempts}/${j.maxAttempts}`, dateTime(j.createdAt), dateTime(j.finishedAt),
      { text: errorText(j.error), wrap: true }], 'no job matches this filter', (tr, j) => {
      tr.classList.add('pick');
      tr.dataset.job = j.id;
      if (j.id === openId) tr.classList.add('picked');
      tr.addEventListener('click', () => { window.location.hash = `jobs:${j.id}`; });
    });
    $('jobs-page').textContent = `page ${page.number} · ${result.jobs.length} shown${page.next === null ? ' · the oldest' : ''}`;
  } catch (error) {
    page = { ...page, next: null };
    fillTable('jobs-list', [], () => [], error.status === 401 ? 'listing jobs needs the control token (enter it above)' : `not listed: ${error.message}`);
    $('jobs-page').textContent = '';
  }
  $('jobs-more').disabled = page.next === null;
  $('jobs-newest').disabled = page.number === 1;
  $('jobs-newer').disabled = page.number === 1;
}

export function searchJobs() {
  page = { cursor: null, next: null, number: 1, back: [] };
  return showPage(null);
}

$('jobs-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  void searchJobs();
});
$('jobs-more').addEventListener('click', () => {
  if (page.next === null) return;
  page = { ...page, number: page.number + 1, back: [...page.back, page.cursor] };
  void showPage(page.next);
});
$('jobs-newer').addEventListener('click', () => {
  if (page.back.length === 0) return;
  const cursor = page.back.at(-1);
  page = { ...page, number: page.number - 1, back: page.back.slice(0, -1) };
  void showPage(cursor);
});
$('jobs-newest').addEventListener('click', () => void searchJobs());

$('jobs-bulk-retry').addEventListener('click', async () => {
  const filter = currentFilter();
  if (!['failed', 'dead', 'cancelled'].includes(filter.state)) {
    say('bulk retry needs the state filter set to failed, dead or cancelled', false);
    return;
  }
  const scope = [filter.queue && `queue ${filter.queue}`, filter.name && `named ${filter.name}`, filter.since && `last finished since ${dateTime(filter.since)}`].filter(Boolean).join(', ');
  if (!(await confirmAction(`Retry every ${filter.state} job${scope === '' ? '' : ` (${scope})`}?`))) return;
  const body = { state: filter.state };
  // The list's since/until bound when a job was created; a bulk retry's since, when it last finished
  // (the route's filter), which the confirmation says. Until has no counterpart there.
  for (const key of ['queue', 'name', 'since']) if (filter[key] !== undefined) body[key] = filter[key];
  try {
    const { retried } = await api('POST', '/jobs/retry', body);
    say(`retried ${retried} ${filter.state} job${retried === 1 ? '' : 's'}`, true);
  } catch (error) {
    say(`not retried: ${error.message}`, false);
  }
  await showPage(page.cursor);
});

// ── one job ───────────────────────────────────────────────────────────────────────────────────────
/**
 * The progress the job reported (ctx.progress): a fraction 0..1 drawn as a bar, or any JSON value
 * shown as text (with a bar too when it carries `done` and `of`). Without the token the server sends
 * only a numeric one.
 */
function progressView(progress) {
  const box = $('job-progress');
  box.hidden = progress === null || progress === undefined;
  if (box.hidden) return;
  const counted = typeof progress === 'object' && typeof progress.done === 'number' && typeof progress.of === 'number' && progress.of > 0;
  const ratio = typeof progress === 'number' ? progress : counted ? progress.done / progress.of : null;
  const parts = [el('span', 'progress ', 'muted')];
  if (ratio !== null) parts.push(bar(ratio));
  if (typeof progress !== 'number') parts.push(el('span', ` ${JSON.stringify(progress)}`, 'mono'));
  box.replaceChildren(...parts);
}

const json = (value, hidden) => (hidden !== undefined && (value === null || value === undefined) ? { text: 'needs the control token', cls: 'muted' } : value === null || value === undefined ? null : { text: JSON.stringify(value), cls: 'mono', wrap: true });
const traceId = (traceparent) => (typeof traceparent === 'string' ? traceparent.split('-')[1] ?? null : null);

function drawJob(job) {
  $('job-id').textContent = job.id;
  const state = $('job-state');
  state.textContent = statusOf(job);
  state.className = `state-${statusOf(job)}`;
  progressView(job.progress);
  const fields = [
    ['queue', job.queue], ['name', job.name], ['attempts', `${job.attempts} of ${job.maxAttempts}`], ['priority', job.priority],
    ['created', dateTime(job.createdAt)], ['run at', dateTime(job.runAt)], ['started', dateTime(job.startedAt)], ['finished', dateTime(job.finishedAt)],
    ['claimed by', job.claimedBy], ['trace id', { text: traceId(job.traceparent), cls: 'mono' }], ['correlation id', job.correlationId],
    ['idempotency key', job.idempotencyKey], ['error', { text: errorText(job.error), wrap: true }],
    ['payload', json(job.payload, job.hidden)], ['result', json(job.result, job.hidden)],
  ];
  fillTable('job-fields', fields, ([name, value]) => [{ text: name, cls: 'muted' }, value]);
  const actions = job.actions ?? [];
  fillTable('job-action-rows', actions, (a) => [a.attempt, a.action, stateCell(a.status === 'ok' ? 'completed' : 'failed'), Math.round(a.duration / 1e4) / 100,
    { text: a.error, wrap: true }], 'no action recorded');
  const status = statusOf(job);
  $('job-retry').disabled = !['failed', 'dead', 'cancelled'].includes(status);
  $('job-cancel').disabled = !['queued', 'failed', 'running'].includes(status);
  for (const tr of $('jobs-list').tBodies[0].rows) tr.classList.toggle('picked', tr.dataset.job === job.id);
}

export async function openJob(id) {
  openId = id;
  $('job-detail').hidden = false;
  await refreshJob();
}

/** Redraws the open job (every tick while the Jobs tab shows: progress moves). */
export async function refreshJob() {
  if (openId === null) return;
  try {
    drawJob(await api('GET', `/jobs/${openId}`));
  } catch (error) {
    say(`job ${openId}: ${error.message}`, false);
    openId = null;
    $('job-detail').hidden = true;
  }
}

async function act(verb, path) {
  const id = openId;
  if (id === null || !(await confirmAction(`${verb} job ${id}?`))) return;
  try {
    await api('POST', path(id));
    say(`job ${id}: ${verb.toLowerCase()} requested`, true);
  } catch (error) {
    say(`job ${id} not changed: ${error.message}`, false);
  }
  await refreshJob();
}

$('job-retry').addEventListener('click', () => act('Retry', (id) => `/jobs/${id}/retry`));
$('job-cancel').addEventListener('click', () => act('Cancel', (id) => `/jobs/${id}/cancel`));
$('job-close').addEventListener('click', () => {
  openId = null;
  $('job-detail').hidden = true;
  window.location.hash = 'jobs';
});

/** Queue choices of the filter, from the overview's queue counts. */
export function fillJobChoices(data) {
  addOptions($('jobs-queue'), data.queues.map((q) => q.queue));
}
