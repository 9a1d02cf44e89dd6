/**
 * The status page's stylesheet, served as /status/app.css (style-src 'self': no inline styles, so
 * every look the scripts need is a class here). The charts are inline SVG whose geometry the script
 * sets as attributes; their colours are classes below, so dark mode applies to them too.
 */
export const statusCss = `
:root { color-scheme: light dark; --fg: #1d2329; --muted: #6b7580; --line: #d9dee3; --bg: #fff; --head: #f3f5f7; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; --accent: #0969da; --accent2: #8250df; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #8d96a0; --line: #30363d; --bg: #0d1117; --head: #161b22; --accent: #4493f8; --accent2: #ab7df8; } }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; padding: .5rem 1rem; border-bottom: 1px solid var(--line); background: var(--head); }
h1 { font-size: 1.1rem; margin: 0; }
h2 { font-size: .95rem; margin: 1rem 0 .4rem; }
h3 { font-size: .85rem; margin: .8rem 0 .3rem; }
nav { display: flex; gap: .2rem; }
nav a { padding: .2rem .6rem; border-radius: 4px; color: var(--fg); text-decoration: none; }
nav a.current { background: var(--bg); border: 1px solid var(--line); font-weight: 600; }
header .token { margin: 0 0 0 auto; align-items: center; }
main { padding: 0 1rem 1rem; }
.tab { display: grid; grid-template-columns: repeat(auto-fit, minmax(560px, 1fr)); column-gap: 1.5rem; }
.tab[hidden] { display: none; }
section { min-width: 0; }
.wide { grid-column: 1 / -1; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .15rem .5rem .15rem 0; border-bottom: 1px solid var(--line); white-space: nowrap; }
td.wrap { white-space: normal; word-break: break-word; max-width: 28rem; }
th { color: var(--muted); font-weight: 600; }
table.fields td:first-child { width: 10rem; white-space: nowrap; }
table.fields td { white-space: normal; word-break: break-word; }
tr.pick { cursor: pointer; }
tr.pick:hover, tr.picked { background: var(--head); }
.muted { color: var(--muted); font-weight: normal; }
.mono { font-family: ui-monospace, monospace; }
.live::before { content: "● "; color: var(--ok); }
.live.stale::before { color: var(--bad); }
.pool { margin-bottom: .8rem; }
.pool h3 { margin: .3rem 0; }
.state-busy, .state-alive, .state-completed, .state-running, .state-active { color: var(--ok); }
.state-idle, .state-stopped, .state-queued, .state-cancelled { color: var(--muted); }
.state-down, .state-silent, .state-dead, .state-failed { color: var(--bad); }
.state-paused { color: var(--warn); font-weight: 600; }
.bar { display: inline-block; width: 4rem; height: .55rem; border: 1px solid var(--line); vertical-align: middle; margin-right: .3rem; }
.bar > span { display: block; height: 100%; background: var(--ok); }
.progress .bar { width: 12rem; }
.problems { margin: .5rem 1rem; padding: .4rem .6rem; border: 1px solid var(--warn); color: var(--warn); }
.message { margin: .3rem 1rem; min-height: 1.2em; }
.row { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; margin: .3rem 0; }
input, select, button { font: inherit; }
input[type=number] { width: 5rem; }
button:disabled { opacity: .5; }
.message.error { color: var(--bad); }
.message.ok { color: var(--ok); }
dialog { border: 1px solid var(--line); color: var(--fg); background: var(--bg); max-width: 36rem; }
dialog::backdrop { background: rgb(0 0 0 / 35%); }
.charts-queue { margin-bottom: .8rem; }
.charts-queue h3 { margin: .4rem 0 .2rem; }
.charts-row { display: flex; flex-wrap: wrap; gap: 1rem; }
.chart { display: block; margin: 0; }
.chart figcaption { color: var(--muted); font-size: .8rem; }
.chart svg { display: block; border: 1px solid var(--line); background: var(--bg); }
svg .axis { stroke: var(--line); stroke-width: 1; }
svg .label { fill: var(--muted); font-size: 10px; }
svg .completed { fill: var(--ok); }
svg .failed { fill: var(--bad); }
svg .partial { opacity: .45; }
svg .p50Ms { stroke: var(--accent); fill: none; stroke-width: 1.5; }
svg .p95Ms { stroke: var(--accent2); fill: none; stroke-width: 1.5; }
svg .waiting { stroke: var(--warn); fill: none; stroke-width: 1.5; }
svg .running { stroke: var(--ok); fill: none; stroke-width: 1.5; stroke-dasharray: 3 2; }
svg .dot-p50Ms { fill: var(--accent); } svg .dot-p95Ms { fill: var(--accent2); }
svg .dot-waiting { fill: var(--warn); } svg .dot-running { fill: var(--ok); }
.key-completed, .key-failed, .key-p50, .key-p95, .key-waiting, .key-running { font-weight: 600; }
.key-completed { color: var(--ok); } .key-failed { color: var(--bad); } .key-p50 { color: var(--accent); }
.key-p95 { color: var(--accent2); } .key-waiting { color: var(--warn); } .key-running { color: var(--ok); }
`;
