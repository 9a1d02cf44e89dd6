/**
 * The status page's static assets. The markup lives here as a string (and the stylesheet in
 * status-style.ts) so `tsc` alone builds a runnable `dist/` (it does not copy .html or .css files);
 * the scripts are plain browser JavaScript modules (status-*.js), which `tsc` (allowJs) emits next
 * to this module, read once at startup. Nothing in the markup is dynamic: the scripts fill it in
 * with textContent and DOM calls only.
 *
 * The page is a console in tabs: Overview (the live picture), Jobs (the explorer), Queues (charts of
 * the last hour, pause and resume), Schedules, Control (sampling rules, log levels). The token form
 * sits in the header because every tab's actions need it.
 */
import { readFileSync } from 'node:fs';
import { statusCss } from './status-style.ts';

const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pitboss status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/status/app.css">
<script type="module" src="/status/app.js"></script>
</head>
<body>
<header>
  <h1>pitboss</h1>
  <nav id="tabs">
    <a href="#overview" data-tab="overview">Overview</a>
    <a href="#jobs" data-tab="jobs">Jobs</a>
    <a href="#queues" data-tab="queues">Queues</a>
    <a href="#schedules" data-tab="schedules">Schedules</a>
    <a href="#control" data-tab="control">Control</a>
  </nav>
  <span id="supervisor" class="muted"></span>
  <span id="live" class="live" title="refreshes every 1.5 s">connecting…</span>
  <form id="token-form" class="row token">
    <input id="token" type="password" autocomplete="off" placeholder="control token" aria-label="Control token">
    <button type="submit">Use token</button>
    <button type="button" id="forget-token">Forget</button>
    <span id="token-state" class="muted"></span>
  </form>
</header>
<p id="problems" class="problems" hidden></p>
<p id="control-message" class="message" role="status"></p>
<main>
  <div class="tab" data-tab="overview">
    <section id="pools-section" class="wide">
      <h2>Pools and threads</h2>
      <div id="pools"></div>
    </section>
    <section>
      <h2>Queues</h2>
      <table id="queues"><thead><tr><th>queue</th><th>pool</th><th>queued</th><th>running</th><th>retrying</th><th>dead</th><th>completed</th><th title="finished here in the last minute">done/min</th><th title="failed here in the last minute">failed/min</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Recent jobs <span class="muted">(this supervisor)</span></h2>
      <table id="recent-jobs"><thead><tr><th>finished</th><th>id</th><th>queue</th><th>name</th><th>status</th><th>attempt</th><th>ms</th><th>error</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Recent failures <span class="muted">(fleet)</span> <span id="details-hidden" class="muted" hidden>· error texts need the control token</span></h2>
      <table id="failures"><thead><tr><th>when</th><th>id</th><th>queue</th><th>name</th><th>status</th><th>attempts</th><th>error</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Supervisors</h2>
      <table id="supervisors"><thead><tr><th>id</th><th>host</th><th>pid</th><th>started</th><th>heartbeat</th><th>running jobs</th><th>state</th></tr></thead><tbody></tbody></table>
    </section>
    <section>
      <h2>Thread lifecycle, last hour <span class="muted">(fleet)</span></h2>
      <table id="worker-events"><thead><tr><th>supervisor</th><th>pool</th><th>slot</th><th>event</th><th>count</th><th>reasons</th><th>last</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
  <div class="tab" data-tab="jobs" hidden>
    <section class="wide">
      <h2>Jobs <span class="muted">(fleet, newest first; needs the control token)</span></h2>
      <form id="jobs-filter" class="row">
        <label>Queue <select id="jobs-queue"><option value="">any</option></select></label>
        <label>State <select id="jobs-state"><option value="">any</option><option>queued</option><option>running</option><option>completed</option><option>failed</option><option>dead</option><option>cancelled</option></select></label>
        <label>Name <input id="jobs-name" size="14" placeholder="any"></label>
        <label title="created at or after">Since <input id="jobs-since" type="datetime-local"></label>
        <label title="created before">Until <input id="jobs-until" type="datetime-local"></label>
        <label>Per page <select id="jobs-limit"><option>25</option><option selected>50</option><option>100</option></select></label>
        <button type="submit">Search</button>
        <button type="button" id="jobs-bulk-retry" title="retry every failed, dead or cancelled job this filter matches (set the state)">Retry all matching…</button>
      </form>
      <table id="jobs-list"><thead><tr><th>id</th><th>queue</th><th>name</th><th>state</th><th>attempts</th><th>created</th><th>finished</th><th>error</th></tr></thead><tbody></tbody></table>
      <p class="row"><span id="jobs-page" class="muted"></span><button type="button" id="jobs-newest">Newest</button><button type="button" id="jobs-newer">Newer</button><button type="button" id="jobs-more">Older</button></p>
    </section>
    <section id="job-detail" class="wide" hidden>
      <h2>Job <span id="job-id" class="mono"></span> <span id="job-state"></span></h2>
      <p class="row" id="job-actions"><button type="button" id="job-retry">Retry…</button><button type="button" id="job-cancel">Cancel…</button><button type="button" id="job-close">Close</button></p>
      <div id="job-progress" class="progress" hidden></div>
      <table id="job-fields" class="fields"><tbody></tbody></table>
      <h3>Actions of its attempts</h3>
      <table id="job-action-rows"><thead><tr><th>attempt</th><th>action</th><th>status</th><th>ms</th><th>error</th></tr></thead><tbody></tbody></table>
    </section>
  </div>
  <div class="tab" data-tab="queues" hidden>
    <section class="wide">
      <h2>Queues <span class="muted">(fleet)</span></h2>
      <table id="queue-controls"><thead><tr><th>queue</th><th>state</th><th title="job starts allowed per window, fleet-wide (rateLimit)">rate limit</th><th>queued</th><th>running</th><th>retrying</th><th>dead</th><th></th></tr></thead><tbody></tbody></table>
    </section>
    <section class="wide">
      <h2>Last hour, per minute <span id="charts-note" class="muted"></span></h2>
      <div id="charts"></div>
    </section>
  </div>
  <div class="tab" data-tab="schedules" hidden>
    <section class="wide">
      <h2>Schedules</h2>
      <table id="schedules"><thead><tr><th>name</th><th>cron</th><th>timezone</th><th>queue</th><th>job</th><th>next run</th><th></th></tr></thead><tbody></tbody></table>
      <h3>Add or replace a schedule</h3>
      <form id="schedule-form" class="row">
        <label>Schedule <input id="schedule-key" required size="14" placeholder="nightly-report"></label>
        <label>Cron <input id="schedule-cron" required size="14" placeholder="*/5 * * * *"></label>
        <label>Timezone <input id="schedule-timezone" size="12" placeholder="UTC"></label>
        <label>Queue <select id="schedule-queue" required></select></label>
        <label>Job name <input id="schedule-name" required size="14"></label>
        <label>Data (JSON) <input id="schedule-data" size="18" placeholder="{}"></label>
        <button type="submit">Save…</button>
      </form>
    </section>
  </div>
  <div class="tab" data-tab="control" hidden>
    <section id="control" class="wide">
      <h2>Telemetry rules <span id="rules-version" class="muted"></span></h2>
      <table id="rules"><thead><tr><th>pattern</th><th>rate</th><th>enabled</th><th>pool</th><th>slot</th><th></th></tr></thead><tbody></tbody></table>
      <form id="rule-form" class="row">
        <label>Pattern <input id="rule-pattern" list="patterns" required placeholder="action.*"></label>
        <datalist id="patterns"></datalist>
        <label>Rate <input id="rule-rate" type="number" min="0" max="1" step="0.01" value="1" required></label>
        <label>Pool <select id="rule-pool"><option value="">any</option></select></label>
        <label>Slot <input id="rule-worker" inputmode="numeric" pattern="[0-9]{0,4}" size="4" placeholder="any"></label>
        <label><input id="rule-enabled" type="checkbox" checked> enabled</label>
        <button type="submit">Set rule</button>
      </form>
      <h2>Log levels <span id="levels-version" class="muted"></span></h2>
      <p id="levels" class="mono"></p>
      <form id="level-form" class="row">
        <label>Logger <select id="level-target"><option value="*">default</option></select></label>
        <label>Level <select id="level-value"></select></label>
        <button type="submit">Set level</button>
      </form>
    </section>
  </div>
</main>
<dialog id="confirm">
  <p id="confirm-text"></p>
  <p class="row"><button type="button" id="confirm-yes">Confirm</button><button type="button" id="confirm-no">Cancel</button></p>
</dialog>
</body>
</html>
`;

/** URL name under /status/ → source file of each script module the page loads. */
const scriptFiles: Readonly<Record<string, string>> = {
  'app.js': 'status-app.js',
  'status-dom.js': 'status-dom.js',
  'status-api.js': 'status-api.js',
  'status-charts.js': 'status-charts.js',
  'status-jobs.js': 'status-jobs.js',
  'status-ops.js': 'status-ops.js',
  'status-control.js': 'status-control.js',
};

/** The page, its stylesheet and its script modules (by URL name), read once. */
export function statusAssets(): { html: string; css: string; scripts: ReadonlyMap<string, string> } {
  const scripts = new Map(Object.entries(scriptFiles).map(([url, file]) => [url, readFileSync(new URL(`./${file}`, import.meta.url), 'utf8')]));
  return { html, css: statusCss, scripts };
}
