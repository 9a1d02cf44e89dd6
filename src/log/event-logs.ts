/**
 * Telemetry events as log lines with stable names (`job_started`, `worker_crashed`, …). The logger is
 * one more consumer of the catalog. Only events whose line would be written at the current levels
 * have a handler attached; a level change re-attaches (STYLE §5: disabled costs nothing).
 */
import type { Telemetry } from '../telemetry/bus.ts';
import type { CatalogEvent } from '../telemetry/catalog.ts';
import { traceIdOf } from '../telemetry/correlation.ts';
import { levelValue, type LogCategory, type LogLevel } from './levels.ts';
import type { PitbossLogger } from './logger.ts';

type Md = Readonly<Record<string, unknown>>;
type Ms = Readonly<Record<string, number | undefined>>;

/** One event → one line: its category, level, stable name, and (optionally) a different name by metadata. */
interface LineSpec {
  readonly category: LogCategory;
  readonly level: LogLevel;
  readonly name: string | ((measurements: Ms, metadata: Md) => [string, LogLevel]);
  /** Every name a dynamic `name` can produce (for the docs table). */
  readonly names?: readonly string[];
}

// 'timeout': a job attempt past its deadline (see the consumer), the hard deadline terminating its thread.
const crashTypes = new Set(['WorkerCrashedError', 'TaskTimeoutError', 'timeout']);

/** The table of stable log event names; docs/logs.md lists it and a test pins them together. */
export const eventLines: Readonly<Partial<Record<CatalogEvent, LineSpec>>> = {
  'job.enqueued': { category: 'job', level: 'debug', name: 'job_enqueued' },
  'job.start': { category: 'job', level: 'debug', name: 'job_started' },
  'job.stop': { category: 'job', level: 'info', name: 'job_completed' },
  'job.exception': {
    category: 'job', level: 'warn', names: ['job_failed', 'job_dead', 'job_crashed'],
    name: (_m, md) => (crashTypes.has(String(md.error_type)) ? ['job_crashed', 'error'] : md.status === 'dead' ? ['job_dead', 'error'] : ['job_failed', 'warn']),
  },
  'job.retry': { category: 'job', level: 'info', name: 'job_retry_scheduled' },
  'job.stalled': { category: 'job', level: 'warn', name: 'job_stalled' },
  'job.cancelled': { category: 'job', level: 'info', name: 'job_cancelled' },
  'schedule.fired': { category: 'job', level: 'info', name: 'schedule_fired' },
  'schedule.skipped': { category: 'job', level: 'warn', name: 'schedule_skipped' },
  'job.retried': { category: 'job', level: 'info', name: 'job_retried' },
  'pool.initialized': { category: 'pool', level: 'info', name: 'pool_started' },
  'pool.saturated': { category: 'pool', level: 'warn', name: 'pool_saturated' },
  'pool.worker.spawned': { category: 'pool', level: 'debug', name: 'worker_spawned' },
  'pool.worker.spawn_failed': { category: 'pool', level: 'error', name: 'worker_spawn_failed' },
  'pool.worker.terminated': {
    category: 'pool', level: 'info', names: ['worker_stopped', 'worker_crashed'],
    name: (_m, md) => (md.planned === true ? ['worker_stopped', 'debug'] : ['worker_crashed', 'error']),
  },
  'pool.worker.restarted': { category: 'pool', level: 'warn', name: 'worker_restarted' },
  'worker.call.crashed': { category: 'pool', level: 'warn', name: 'task_crashed_thread' },
  'pool.worker.recycled': { category: 'pool', level: 'info', name: 'worker_recycled' },
  'supervisor.child.restarted': { category: 'supervisor', level: 'warn', name: 'supervisor_restart' },
  'supervisor.intensity_exceeded': { category: 'supervisor', level: 'error', name: 'intensity_exceeded' },
  'supervisor.shutdown': { category: 'supervisor', level: 'info', name: 'supervisor_shutdown' },
  'telemetry.handler.failure': { category: 'telemetry', level: 'error', name: 'handler_detached' },
  'telemetry.control.changed': { category: 'telemetry', level: 'info', name: 'control_changed' },
  'telemetry.events.dropped': { category: 'telemetry', level: 'warn', name: 'events_dropped' },
  'store.connection.lost': { category: 'store', level: 'error', name: 'store_connection_lost' },
  'store.connection.reconnected': { category: 'store', level: 'warn', name: 'store_reconnected' },
  'dispatch.connection.lost': { category: 'dispatch', level: 'error', name: 'dispatch_connection_lost' },
  'dispatch.connection.reconnected': { category: 'dispatch', level: 'warn', name: 'dispatch_reconnected' },
};

/** The lowest level a spec can log at (dynamic names may go below the spec's level). */
const lowest = (spec: LineSpec): LogLevel => (typeof spec.name === 'string' ? spec.level : spec.level === 'info' ? 'debug' : spec.level);

/** Attaches the event→line handlers on `bus`; returns a function that detaches them. */
export function attachEventLogs(bus: Telemetry, logger: PitbossLogger, id = 'pitboss.logs'): () => void {
  const write = (event: string, measurements: Ms, metadata: Md): void => {
    const spec = eventLines[event as CatalogEvent]!;
    const [name, level] = typeof spec.name === 'string' ? [spec.name, spec.level] : spec.name(measurements, metadata);
    const traceparent = typeof metadata.traceparent === 'string' ? metadata.traceparent : null;
    // Our `event` last: `telemetry.handler.failure` carries an `event` key of its own.
    const line = Object.assign({}, metadata, measurements, { event: name, trace_id: traceparent === null ? undefined : traceIdOf(traceparent), traceparent: undefined });
    logger.category(spec.category)[level](line, name);
  };
  const attach = (): void => {
    bus.detach(id);
    const enabled = (Object.entries(eventLines) as [CatalogEvent, LineSpec][])
      .filter(([, spec]) => levelValue[lowest(spec)] >= levelValue[logger.levels.levelFor(spec.category)])
      .map(([event]) => event);
    if (enabled.length > 0) bus.attachMany(id, enabled, write as never);
  };
  attach();
  const unsubscribe = logger.levels.subscribe(attach);
  return () => {
    unsubscribe();
    bus.detach(id);
  };
}
