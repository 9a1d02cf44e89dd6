/**
 * Bearer-token guard for control and mutating routes. Tokens are compared in constant time (over
 * fixed-length digests, so the comparison does not leak the length either). Without a configured
 * token those routes are refused, unless the server is bound to loopback and the deployment
 * explicitly allowed unauthenticated local access.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface AuthOptions {
  readonly token: string | null;
  readonly host: string;
  readonly allowUnauthenticatedLoopback: boolean;
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);

/** True when `host` only accepts local connections. */
export function isLoopback(host: string): boolean {
  return loopbackHosts.has(host) || host.startsWith('127.');
}

/** A fastify preHandler enforcing the bearer token. */
export function requireToken(options: AuthOptions) {
  const expected = options.token === null ? null : digest(options.token);
  const openLocally = options.token === null && options.allowUnauthenticatedLoopback && isLoopback(options.host);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (openLocally) return;
    if (expected === null) {
      await reply.code(401).send({ error: 'unauthorized', reason: 'no PITBOSS_CONTROL_TOKEN is configured: control and mutating routes are disabled' });
      return;
    }
    const header = request.headers.authorization;
    const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : null;
    if (presented === null || !timingSafeEqual(digest(presented), expected)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized', reason: presented === null ? 'missing bearer token' : 'wrong token' });
    }
  };
}
