// The Queues tab's controls (pause and resume a queue) and the Schedules tab (the schedules with
// their next run; add, replace or remove one). Every change needs the control token and is
// confirmed first; the tables redraw from the server's answer, not from what was asked.
import { api } from './status-api.js';
import { $, addOptions, button, confirmAction, dateTime, fillTable, say, stateCell } from './status-dom.js';

// ── queues ────────────────────────────────────────────────────────────────────────────────────────
async function setPaused(queue, pause) {
  const verb = pause ? 'Pause' : 'Resume';
  const consequence = pause ? ' Its jobs stay queued and no new attempt starts until it is resumed.' : '';
  if (!(await confirmAction(`${verb} queue ${queue}?${consequence}`))) return;
  try {
    await api('POST', `/queues/${encodeURIComponent(queue)}/${pause ? 'pause' : 'resume'}`);
    say(`queue ${queue} ${pause ? 'paused' : 'resumed'}`, true);
  } catch (error) {
    say(`queue ${queue} not ${pause ? 'paused' : 'resumed'}: ${error.message}`, false);
  }
}

/** `max / window` of a queue's rate limit (`{ max, perMs }`), 'none' without one. */
function rateLimitText(limit) {
  if (limit === null || limit === undefined) return 'none';
  const window = limit.perMs % 1000 === 0 ? `${limit.perMs / 1000} s` : `${limit.perMs} ms`;
  return `${limit.max} / ${window}`;
}

/** The queue table with its pause/resume buttons, from the overview's counts (rows carry `paused`). */
export function renderQueueControls(data) {
  fillTable('queue-controls', data.queues, (q) => {
    const state = q.paused === true ? 'paused' : q.paused === false ? 'active' : null;
    const action = button(q.paused === true ? 'Resume…' : 'Pause…', () => setPaused(q.queue, q.paused !== true));
    action.dataset.queue = q.queue;
    return [q.queue, state === null ? null : stateCell(state), rateLimitText(q.rateLimit), q.queued, q.running, q.failed, q.dead, action];
  }, 'no queues');
  addOptions($('schedule-queue'), data.queues.map((q) => q.queue));
}

// ── schedules ─────────────────────────────────────────────────────────────────────────────────────

async function removeSchedule(key) {
  if (!(await confirmAction(`Remove schedule ${key}? Jobs it already enqueued are not touched.`))) return;
  try {
    await api('DELETE', `/schedules/${encodeURIComponent(key)}`);
    say(`schedule ${key} removed`, true);
  } catch (error) {
    say(`schedule ${key} not removed: ${error.message}`, false);
  }
  await refreshSchedules();
}

export async function refreshSchedules() {
  try {
    const { schedules } = await api('GET', '/schedules');
    // `schedule` is the schedule's name, `name` the name of the jobs it enqueues (PUT /schedules/:name).
    fillTable('schedules', schedules, (s) => {
      const remove = button('Remove…', () => removeSchedule(s.schedule));
      remove.dataset.schedule = s.schedule;
      return [{ text: s.schedule, cls: 'mono', title: `source: ${s.source}` }, { text: s.cron, cls: 'mono' }, s.timezone ?? 'UTC', s.queue, s.name,
        { text: dateTime(s.nextRunAt), title: s.lastRunAt ? `last run ${dateTime(s.lastRunAt)}` : 'not run yet' }, remove];
    }, 'no schedules');
  } catch (error) {
    fillTable('schedules', [], () => [], `schedules unavailable: ${error.message}`);
  }
}

$('schedule-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('schedule-key').value.trim();
  const body = { cron: $('schedule-cron').value.trim(), queue: $('schedule-queue').value, name: $('schedule-name').value.trim() };
  const timezone = $('schedule-timezone').value.trim();
  if (timezone !== '') body.timezone = timezone;
  const data = $('schedule-data').value.trim();
  if (data !== '') {
    try {
      body.data = JSON.parse(data);
    } catch (error) {
      say(`schedule not saved: data is not JSON (${error.message})`, false);
      return;
    }
  }
  if (!(await confirmAction(`Save schedule ${key}: enqueue ${body.name} on ${body.queue} at "${body.cron}"${timezone === '' ? '' : ` (${timezone})`}?`))) return;
  try {
    await api('PUT', `/schedules/${encodeURIComponent(key)}`, body);
    say(`schedule ${key} saved`, true);
  } catch (error) {
    say(`schedule ${key} not saved: ${error.message}`, false);
  }
  await refreshSchedules();
});
