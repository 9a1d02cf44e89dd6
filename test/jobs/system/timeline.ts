/**
 * Records job and action events with the time they were seen (backoff assertions need the gaps),
 * correlation included, and answers "what happened to job X".
 */
import type { Telemetry } from '../../../src/index.ts';

export interface Seen {
  readonly event: string;
  readonly measurements: Readonly<Record<string, number>>;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** performance.now() when the handler ran. */
  readonly at: number;
}

let seq = 0;

export class Timeline {
  readonly seen: Seen[] = [];
  readonly #bus: Telemetry;
  readonly #id = `test.timeline.${++seq}`;

  constructor(bus: Telemetry, patterns: readonly ('job.*' | 'action.*' | 'dispatch.*' | 'store.*')[] = ['job.*', 'action.*']) {
    this.#bus = bus;
    bus.attachMany(this.#id, patterns, (event, measurements, metadata) => {
      this.seen.push({ event, measurements: { ...measurements } as Record<string, number>, metadata: { ...metadata }, at: performance.now() });
    }, undefined, { correlation: true });
  }

  /** Events about one job, optionally of one name, in order. */
  of(jobId: string, event?: string): Seen[] {
    return this.seen.filter((e) => e.metadata.job_id === jobId && (event === undefined || e.event === event));
  }

  /** Event names about one job, in order. */
  names(jobId: string, prefix = ''): string[] {
    return this.of(jobId).map((e) => e.event).filter((name) => name.startsWith(prefix));
  }

  /** Polls until `count` events of `event` about `jobId` were seen. */
  async waitFor(jobId: string, event: string, count = 1, timeoutMs = 15_000): Promise<Seen[]> {
    const until = Date.now() + timeoutMs;
    while (this.of(jobId, event).length < count) {
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${count} × ${event} of job ${jobId} (saw ${this.names(jobId).join(', ')})`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return this.of(jobId, event);
  }

  stop(): void {
    this.#bus.detach(this.#id);
  }
}
