/**
 * The status page's static assets. The markup and stylesheet live here as strings so `tsc` alone
 * builds a runnable `dist/` (it does not copy .html or .css files); the script is plain browser
 * JavaScript in status-app.js, which `tsc` (allowJs) emits next to this module, read once at
 * startup. Nothing in the markup is dynamic: the script fills it in with textContent only.
 */
import { readFileSync } from 'node:fs';

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
  <span id="supervisor" class="muted"></span>
  <span id="live" class="live" title="refreshes every 1.5 s">connecting…</span>
</header>
<p id="problems" class="problems" hidden></p>
<main>
  <section id="pools-section">
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
  <section id="control">
    <h2>Runtime control</h2>
    <form id="token-form" class="row">
      <label>Control token <input id="token" type="password" autocomplete="off" placeholder="PITBOSS_CONTROL_TOKEN"></label>
      <button type="submit">Use token</button>
      <button type="button" id="forget-token">Forget</button>
      <span id="token-state" class="muted"></span>
    </form>
    <h3>Telemetry rules <span id="rules-version" class="muted"></span></h3>
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
    <h3>Log levels <span id="levels-version" class="muted"></span></h3>
    <p id="levels" class="mono"></p>
    <form id="level-form" class="row">
      <label>Logger <select id="level-target"><option value="*">default</option></select></label>
      <label>Level <select id="level-value"></select></label>
      <button type="submit">Set level</button>
    </form>
    <p id="control-message" class="message" role="status"></p>
  </section>
</main>
</body>
</html>
`;

const css = `
:root { color-scheme: light dark; --fg: #1d2329; --muted: #6b7580; --line: #d9dee3; --bg: #fff; --head: #f3f5f7; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --line: #30363d; --bg: #0d1117; --head: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1rem; align-items: baseline; padding: .6rem 1rem; border-bottom: 1px solid var(--line); background: var(--head); }
h1 { font-size: 1.1rem; margin: 0; }
h2 { font-size: .95rem; margin: 1rem 0 .4rem; }
h3 { font-size: .85rem; margin: .8rem 0 .3rem; }
main { padding: 0 1rem 1rem; display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); column-gap: 1.5rem; }
section { min-width: 0; }
#pools-section, #control { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .15rem .5rem .15rem 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.wrap { white-space: normal; word-break: break-word; max-width: 28rem; }
th { color: var(--muted); font-weight: 600; }
.muted { color: var(--muted); font-weight: normal; }
.mono { font-family: ui-monospace, monospace; }
.live::before { content: "● "; color: var(--ok); }
.live.stale::before { color: var(--bad); }
.pool { margin-bottom: .8rem; }
.pool h3 { margin: .3rem 0; }
.state-busy, .state-alive, .state-completed, .state-running { color: var(--ok); }
.state-idle, .state-stopped { color: var(--muted); }
.state-down, .state-silent, .state-dead, .state-failed { color: var(--bad); }
.bar { display: inline-block; width: 4rem; height: .55rem; border: 1px solid var(--line); vertical-align: middle; margin-right: .3rem; }
.bar > span { display: block; height: 100%; background: var(--ok); }
.problems { margin: .5rem 1rem; padding: .4rem .6rem; border: 1px solid var(--warn); color: var(--warn); }
.row { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin: .3rem 0; }
input, select, button { font: inherit; }
input[type=number] { width: 5rem; }
.message.error { color: var(--bad); }
.message.ok { color: var(--ok); }
`;

/** The page, its stylesheet and its script, read once. */
export function statusAssets(): { html: string; css: string; script: string } {
  const script = readFileSync(new URL('./status-app.js', import.meta.url), 'utf8');
  return { html, css, script };
}
