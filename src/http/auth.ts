/**
 * Bearer-token guard for control and mutating routes. Tokens are compared in constant time (over
 * fixed-length digests, so the comparison does not leak the length either). Without a configured
 * token those routes are refused, unless the server is bound to loopback and the deployment
 * explicitly allowed unauthenticated local access.
 *
 * The guard runs as an `onRequest` hook, before the body is read: an unauthenticated client learns
 * nothing from validation errors and cannot make the server buffer and parse a body it will refuse.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';

export interface AuthOptions {
  readonly token: string | null;
  readonly host: string;
  readonly allowUnauthenticatedLoopback: boolean;
}

/** A route hook refusing the request with 401/403 unless it may use guarded routes. */
export type RouteGuard = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** Why a request may not use guarded routes, or null when it may. */
export type Refusal = { readonly status: 401 | 403; readonly reason: string } | null;

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();
const loopbackHosts = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

/** True when `host` only accepts local connections. */
export function isLoopback(host: string): boolean {
  // An address, not a prefix: `127.0.0.1.attacker.example` is a name anyone can point anywhere.
  return loopbackHosts.has(host) || (isIPv4(host) && host.startsWith('127.'));
}

/** The host name of a `Host` header or an `Origin` URL (port and IPv6 brackets dealt with), or null. */
function hostnameOf(value: string, isOrigin: boolean): string | null {
  try {
    return new URL(isOrigin ? value : `http://${value}`).hostname;
  } catch {
    return null;
  }
}

/**
 * Open local access trusts the network position, so it must not trust a browser that was steered
 * to 127.0.0.1 under a foreign name (DNS rebinding: `Host: attacker.example`), nor a foreign page
 * posting cross-origin: both the Host and any Origin must name the loopback address.
 */
function localRefusal(request: FastifyRequest): Refusal {
  const host = hostnameOf(request.headers.host ?? '', false);
  if (host === null || !isLoopback(host)) {
    return { status: 403, reason: `Host ${JSON.stringify(request.headers.host ?? '')} is not this loopback address: unauthenticated local control refuses it (DNS rebinding); send the bearer token` };
  }
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    const originHost = hostnameOf(origin, true);
    if (originHost === null || !isLoopback(originHost)) return { status: 403, reason: `Origin ${JSON.stringify(origin)} is not local: unauthenticated local control refuses it; send the bearer token` };
  }
  if (origin === 'null') return { status: 403, reason: 'Origin "null" is not local: unauthenticated local control refuses it; send the bearer token' };
  return null;
}

/** Decides whether a request may use guarded routes: the bearer token, or open local access. */
export function tokenCheck(options: AuthOptions): (request: FastifyRequest) => Refusal {
  const expected = options.token === null ? null : digest(options.token);
  const openLocally = options.token === null && options.allowUnauthenticatedLoopback && isLoopback(options.host);
  return (request) => {
    if (openLocally) return localRefusal(request);
    if (expected === null) return { status: 401, reason: 'no PITBOSS_CONTROL_TOKEN is configured: control and mutating routes are disabled' };
    const header = request.headers.authorization;
    const presented = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : null;
    if (presented === null) return { status: 401, reason: 'missing bearer token' };
    return timingSafeEqual(digest(presented), expected) ? null : { status: 401, reason: 'wrong token' };
  };
}

/** A fastify `onRequest` hook enforcing the bearer token (see the file comment for why not preHandler). */
export function requireToken(options: AuthOptions): RouteGuard {
  const check = tokenCheck(options);
  return async (request, reply) => {
    const refusal = check(request);
    if (refusal === null) return;
    if (refusal.status === 401) void reply.header('www-authenticate', 'Bearer');
    await reply.code(refusal.status).send({ error: refusal.status === 401 ? 'unauthorized' : 'forbidden', reason: refusal.reason });
  };
}
