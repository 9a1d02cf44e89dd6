/**
 * The HTTP error handler answers a PitbossError with its code's status from the error table and the
 * documented body (docs/errors.md): `{ error, code, reason }`, `Retry-After` on 503, and on 500 only
 * `{ error: 'internal', reason }` with the error logged. A stub job system throws each code in turn.
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PitbossError } from '../../src/errors/classes.ts';
import { errorCodes, type ErrorCode } from '../../src/errors/table.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import type { HttpServerOptions } from '../../src/http/options.ts';

const codes = Object.keys(errorCodes) as ErrorCode[];
const words = { 400: 'bad_request', 409: 'conflict', 500: 'internal', 503: 'unavailable' } as const;
let app: FastifyInstance;
const logged: unknown[] = [];

beforeAll(async () => {
  // GET /jobs/<n> fails with the n-th code of the table (job ids are numeric).
  const jobs = { get: async (id: string) => { const code = codes[Number(id) - 1]!; throw new PitbossError(code, `failed with ${code}`); } };
  const logger = pino({ level: 'error' }, { write: (line: string) => { logged.push(JSON.parse(line)); } });
  app = buildHttpServer({
    host: '127.0.0.1', port: 0, token: null, allowUnauthenticatedLoopback: false, publicReads: true,
    jobs, control: {}, scrape: async () => ({ contentType: 'text/plain', body: '' }),
    readiness: () => ({ store: true, storeProblem: null, dispatch: true, draining: false }), logger,
  } as unknown as HttpServerOptions);
  await app.ready();
});
afterAll(async () => {
  await app.close();
});

describe('HTTP status of every error code', () => {
  codes.forEach((code, i) => {
    const { status } = errorCodes[code];
    it(`${code} → ${status}`, async () => {
      const response = await app.inject({ method: 'GET', url: `/jobs/${i + 1}` });
      expect(response.statusCode).toBe(status);
      if (status === 500) {
        expect(response.json()).toEqual({ error: 'internal', reason: 'see the supervisor log' });
        expect(logged.at(-1)).toMatchObject({ event: 'http_error', err: { message: `failed with ${code}` } });
      } else {
        expect(response.json()).toEqual({ error: words[status], code, reason: `failed with ${code}` });
      }
      expect(response.headers['retry-after']).toBe(status === 503 ? '5' : undefined);
    });
  });
});
