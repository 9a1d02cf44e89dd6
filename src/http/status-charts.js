/* global document */
// The Queues tab's charts of the last hour, per queue and minute (GET /status/history): jobs
// completed and failed (stacked bars), p50/p95 duration of the completed ones, and queue depth
// (waiting and running). Drawn as inline SVG built with DOM calls — geometry as attributes, colours
// as classes from the stylesheet — so they need no external asset and no inline style or script
// (the page's CSP allows neither). Each mark carries its minute and value (data-*, and a <title>
// the browser shows on hover).
import { api } from './status-api.js';
import { $, el, minuteOf } from './status-dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 300;
const HEIGHT = 96;
const TOP = 12;
const BOTTOM = 14;
const SIDE = 4;

function svg(tag, attributes, className) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (className) node.setAttribute('class', className);
  return node;
}

function titled(node, text) {
  const title = svg('title', {});
  title.textContent = text;
  node.append(title);
  return node;
}

/** 1, 2 or 5 times a power of ten, at least `value` (at least 1). */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((m) => m >= value);
}

/** An empty chart: baseline, the y maximum and the hour's two ends as labels. */
function frame(kind, queue, max, unit, history) {
  const root = svg('svg', { width: WIDTH, height: HEIGHT, viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'data-chart': kind, 'data-queue': queue, 'data-max': max });
  const base = HEIGHT - BOTTOM;
  root.append(svg('line', { x1: SIDE, y1: base, x2: WIDTH - SIDE, y2: base }, 'axis'), svg('line', { x1: SIDE, y1: TOP, x2: WIDTH - SIDE, y2: TOP }, 'axis'));
  const top = svg('text', { x: SIDE, y: TOP - 2 }, 'label');
  top.textContent = `${max}${unit}`;
  const from = svg('text', { x: SIDE, y: HEIGHT - 2 }, 'label');
  from.textContent = minuteOf(Date.parse(history.from));
  const now = svg('text', { x: WIDTH - SIDE, y: HEIGHT - 2, 'text-anchor': 'end' }, 'label');
  now.textContent = 'now';
  root.append(top, from, now);
  return root;
}

const step = (history) => (WIDTH - 2 * SIDE) / history.minutes;
const minuteAt = (history, i) => minuteOf(Date.parse(history.from) + i * history.minuteMs);
const yOf = (value, max) => HEIGHT - BOTTOM - ((HEIGHT - BOTTOM - TOP) * value) / max;

function throughputChart(q, history) {
  let peak = 0;
  for (let i = 0; i < history.minutes; i++) peak = Math.max(peak, q.completed[i] + q.failed[i]);
  const max = niceMax(peak);
  const root = frame('throughput', q.queue, max, '/min', history);
  const w = step(history);
  for (let i = 0; i < history.minutes; i++) {
    let floor = HEIGHT - BOTTOM;
    for (const kind of ['completed', 'failed']) {
      const value = q[kind][i];
      if (value === 0) continue;
      const y = floor - ((HEIGHT - BOTTOM - TOP) * value) / max;
      const partial = history.partial.includes(i);
      const rect = svg('rect', { x: (SIDE + i * w).toFixed(2), y: y.toFixed(2), width: Math.max(1, w - 1).toFixed(2), height: (floor - y).toFixed(2), 'data-minute': i, 'data-value': value }, partial ? `${kind} partial` : kind);
      root.append(titled(rect, `${minuteAt(history, i)} · ${value} ${kind}${partial ? ' (at least: counted in part)' : ''}`));
      floor = y;
    }
  }
  return root;
}

/** Lines through the minutes that have a value (a gap where one has none), a dot on each. */
function lineChart(kind, q, history, series, unit) {
  let peak = 0;
  for (const { key } of series) for (const v of q[key]) if (v !== null) peak = Math.max(peak, v);
  const max = niceMax(peak);
  const root = frame(kind, q.queue, max, unit, history);
  const w = step(history);
  for (const { key, label } of series) {
    let d = '';
    let pen = false;
    q[key].forEach((value, i) => {
      if (value === null) { pen = false; return; }
      const x = (SIDE + (i + 0.5) * w).toFixed(2);
      const y = yOf(value, max).toFixed(2);
      d += `${pen ? 'L' : 'M'}${x} ${y} `;
      pen = true;
      root.append(titled(svg('circle', { cx: x, cy: y, r: 1.8, 'data-minute': i, 'data-value': value }, `dot dot-${key}`), `${minuteAt(history, i)} · ${label} ${value}${unit}`));
    });
    if (d !== '') root.prepend(svg('path', { d: d.trim() }, key));
  }
  return root;
}

function figure(chart, ...legend) {
  const box = el('figure', null, 'chart');
  box.append(chart);
  const caption = el('figcaption');
  legend.forEach(([text, cls], i) => caption.append(i === 0 ? '' : ' · ', el('span', text, cls)));
  box.append(caption);
  return box;
}

function drawQueue(q, history) {
  const box = el('div', null, 'charts-queue');
  box.dataset.queue = q.queue;
  const row = el('div', null, 'charts-row');
  row.append(
    figure(throughputChart(q, history), ['completed', 'key-completed'], ['failed per minute', 'key-failed']),
    figure(lineChart('duration', q, history, [{ key: 'p50Ms', label: 'p50' }, { key: 'p95Ms', label: 'p95' }], ' ms'), ['p50', 'key-p50'], ['p95 duration', 'key-p95']),
    figure(lineChart('depth', q, history, [{ key: 'waiting', label: 'waiting' }, { key: 'running', label: 'running' }], ''), ['waiting', 'key-waiting'], ['running (sampled)', 'key-running']),
  );
  box.append(el('h3', q.queue), row);
  return box;
}

export async function refreshCharts() {
  try {
    const history = await api('GET', '/status/history');
    $('charts').replaceChildren(...history.queues.map((q) => drawQueue(q, history)));
    if (history.queues.length === 0) $('charts').replaceChildren(el('p', 'no queues yet', 'muted'));
    $('charts-note').textContent = history.problems.length === 0 ? `(updated ${minuteOf(Date.parse(history.generatedAt))})` : `· ${history.problems.join(' · ')}`;
  } catch (error) {
    $('charts-note').textContent = `· history unavailable: ${error.message}`;
  }
}
