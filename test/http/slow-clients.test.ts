/**
 * Slow clients cannot hold the server: a client trickling a `POST /jobs` body is answered 408 and
 * disconnected after the request timeout, and connections beyond the cap are closed on accept.
 * Real sockets against the real listening server.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestDeployment, testToken } from '../helpers/deployment.ts';

type Deployment = Awaited<ReturnType<typeof startTestDeployment>>;
let d: Deployment;
let port: number;

beforeAll(async () => {
  d = await startTestDeployment({ httpRequestTimeoutMs: 1000, httpMaxConnections: 20 });
  const address = d.running.http.server.address();
  port = typeof address === 'object' && address !== null ? address.port : 0;
}, 60_000);
afterAll(async () => {
  await d?.running.stop();
});

interface Trickler { readonly socket: Socket; received: string; closedAfterMs: number | null }

/** Sends the headers of a 1000-byte body, then one byte every 100 ms, until the server hangs up. */
function trickle(startedAt: number): Trickler {
  const socket = connect(port, '127.0.0.1');
  const t: Trickler = { socket, received: '', closedAfterMs: null };
  socket.on('connect', () => {
    socket.write(`POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${testToken}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{`);
  });
  const timer = setInterval(() => { if (!socket.destroyed && socket.writable) socket.write(' '); }, 100);
  socket.on('data', (chunk) => { t.received += chunk.toString(); });
  socket.on('error', () => {});
  socket.on('close', () => { clearInterval(timer); t.closedAfterMs = Date.now() - startedAt; });
  return t;
}

it('60 clients trickling a body: 20 get 408 after the request timeout, the rest are refused at once', async () => {
  const startedAt = Date.now();
  const clients = Array.from({ length: 60 }, () => trickle(startedAt));
  const until = Date.now() + 8000;
  while (clients.some((c) => c.closedAfterMs === null) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  for (const c of clients) c.socket.destroy();

  const open = clients.filter((c) => c.closedAfterMs === null);
  expect(open.length, 'connections still open after 8 s').toBe(0);
  const timedOut = clients.filter((c) => c.received.startsWith('HTTP/1.1 408'));
  expect(timedOut.length).toBeGreaterThan(0);
  expect(timedOut.length).toBeLessThanOrEqual(20);
  // The request timeout (1 s) plus the check interval (250 ms) and scheduling slack.
  for (const c of timedOut) expect(c.closedAfterMs).toBeGreaterThanOrEqual(900);
  const refused = clients.filter((c) => c.received === '');
  expect(refused.length).toBeGreaterThanOrEqual(40);
  // The server still serves a well-behaved client afterwards.
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  expect(health.status).toBe(200);
}, 30_000);
