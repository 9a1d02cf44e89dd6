/**
 * `ctx.progress(value)` inside a worker thread: checks the value, and throttles what leaves the
 * thread to one `job.progress` event per `MIN_INTERVAL_MS` per task, the newest value winning. A value
 * held back by the throttle is sent when the interval ends (if the event loop turns: an async task)
 * or, at the latest, when the task ends (`settle`), before its answer: so the last value always
 * reaches the supervisor, which writes it to the job row (see JobSystem's record handler).
 *
 * Runs only in a thread (thread-runtime.ts owns one per thread); imports nothing of the supervisor.
 */

/** Largest progress value as JSON text, in UTF-8 bytes: it is stored on the job row and travels in an event. */
const MAX_PROGRESS_BYTES = 1024;

/**
 * Reports sent per task at most every this many ms, counted from the task's start: a task shorter
 * than that sends only its last value, with its answer (no message of its own, no extra batch).
 */
const MIN_INTERVAL_MS = 250;

/**
 * What reporting does with a checked value: emit `job.progress`, and post it to the supervisor at
 * once when `now` (mid-task), else leave it to travel with the task's answer (its end).
 */
export type ProgressSink = (json: string, fraction: number | null, size: number, now: boolean) => void;

/** A checked progress value: its JSON text, the number when it is one, and its size in bytes. */
interface Checked {
  readonly json: string;
  readonly fraction: number | null;
  readonly size: number;
}

/**
 * Throws a TypeError/RangeError naming what is wrong with `value` (the worker's own mistake: its
 * task fails with it if the worker does not catch it; the thread is untouched).
 */
function checkProgress(value: unknown): Checked {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`ctx.progress: a number must be a fraction in 0..1, got ${value}`);
    const json = JSON.stringify(value);
    return { json, fraction: value, size: json.length };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`ctx.progress: value is not JSON-serialisable (${error instanceof Error ? error.message : String(error)})`);
  }
  if (json === undefined) throw new TypeError(`ctx.progress: value must be a number in 0..1 or a JSON value, got ${typeof value}`);
  // jsonb refuses U+0000 (JSON.stringify writes it as \u0000): refuse it here, where the worker hears why.
  if (json.includes('\\u0000')) throw new TypeError('ctx.progress: value contains NUL, which the job record cannot store');
  const size = Buffer.byteLength(json, 'utf8');
  if (size > MAX_PROGRESS_BYTES) throw new RangeError(`ctx.progress: value is ${size} bytes as JSON, over the ${MAX_PROGRESS_BYTES}-byte limit`);
  return { json, fraction: null, size };
}

/** One thread's progress state: the task running now, its last send and the value held back. */
export class ProgressReporter {
  readonly #sink: ProgressSink;
  #active = false;
  #lastSentAt = 0;
  #held: Checked | null = null;
  #timer: NodeJS.Timeout | null = null;

  constructor(sink: ProgressSink) {
    this.#sink = sink;
  }

  /** A task starts; `active` is false for a task that is not a job (progress then does nothing). */
  begin(active: boolean): void {
    this.#active = active;
    this.#lastSentAt = performance.now();
    this.#held = null;
  }

  report(value: unknown): void {
    const checked = checkProgress(value);
    if (!this.#active) return;
    const now = performance.now();
    if (now - this.#lastSentAt >= MIN_INTERVAL_MS) {
      this.#send(checked, now, true);
      return;
    }
    this.#held = checked;
    this.#timer ??= setTimeout(() => {
      this.#timer = null;
      if (this.#held !== null && this.#active) this.#send(this.#held, performance.now(), true);
    }, MIN_INTERVAL_MS - (now - this.#lastSentAt));
  }

  /** The task ended: a value still held back goes now, before the task's answer. */
  settle(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#held !== null && this.#active) this.#send(this.#held, performance.now(), false);
    this.#active = false;
  }

  #send(checked: Checked, at: number, now: boolean): void {
    this.#held = null;
    this.#lastSentAt = at;
    this.#sink(checked.json, checked.fraction, checked.size, now);
  }
}
