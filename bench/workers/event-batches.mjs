// Baseline of the event transport: a Worker that builds each event as an object
// `{ name, measurements, metadata }` and posts them in arrays of `batch` (structured clone of every
// key and value on both sides). Times its own emit loop, posts included, like the pool's
// worker.call.stop duration times the burst task.
import { parentPort } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

parentPort.on('message', ({ count, batch, pool, workerId }) => {
  const started = performance.now();
  let events = [];
  for (let i = 0; i < count; i++) {
    events.push({ name: 'action.stop', measurements: { duration: i }, metadata: { pool, worker_id: workerId, action: 'burst', status: 'ok' } });
    if (events.length === batch) {
      parentPort.postMessage(events);
      events = [];
    }
  }
  if (events.length > 0) parentPort.postMessage(events);
  parentPort.postMessage({ done: count, emitNs: Math.round((performance.now() - started) * 1e6) });
});
