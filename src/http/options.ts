/**
 * What the HTTP server is built from. Its own module so the route files and server.ts both import it
 * without importing each other (a type-only cycle madge reports).
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { FleetSettingsSync } from '../fleet/settings-sync.ts';
import type { JobSystem } from '../jobs/system.ts';
import type { requireToken } from './auth.ts';

/** What the server serves; the deployment wires these. */
export interface HttpServerOptions {
  readonly host: string;
  readonly port: number;
  /** Bearer token for control and mutating routes (`PITBOSS_CONTROL_TOKEN`), or null. */
  readonly token: string | null;
  /** With no token: allow those routes when bound to loopback (off unless set). */
  readonly allowUnauthenticatedLoopback: boolean;
  /** Show job payloads, results and error texts without the token (`PITBOSS_PUBLIC_READS`; default false). */
  readonly publicReads?: boolean;
  /** Largest accepted body (default 1 MiB). */
  readonly bodyLimit?: number;
  /** Longest a client may take to send a whole request, headers and body (default 30 000). */
  readonly requestTimeoutMs?: number;
  /** Most open connections; more are closed on accept (default 1000). */
  readonly maxConnections?: number;
  readonly jobs: JobSystem;
  /** Bound on waiting jobs per queue: `POST /jobs` answers 429 at `max` (absent: unbounded). */
  readonly waitingBound?: { readonly max: number; readonly count: (queue: string) => Promise<number>; readonly refreshMs?: number };
  /** Telemetry rules and log levels (the `/control/*` routes). */
  readonly settings: FleetSettingsSync;
  readonly scrape: () => Promise<{ contentType: string; body: string }>;
  /** What readiness depends on; `storeProblem` says why the store is not ready (null when it is). */
  readonly readiness: () => Readiness;
  readonly logger: Logger;
  /** Extra routes (the status page). */
  readonly extend?: (app: FastifyInstance, guard: ReturnType<typeof requireToken>) => void;
}

/** What `/readyz` reports (plus `ready`). */
interface Readiness {
  readonly store: boolean;
  /** Why the store is down ("only 3 MiB free on …", "connect ECONNREFUSED …"), or null. */
  readonly storeProblem: string | null;
  readonly dispatch: boolean;
  readonly draining: boolean;
}
