/**
 * The rule table in shared memory. The supervisor side writes a snapshot with a seqlock (version set
 * to -1 while writing); threads read it when the version moved. One Atomics.load per check, so a
 * thread can check before every emit, and a change reaches a thread even mid-task.
 */
import type { Telemetry } from '../telemetry/bus.ts';
import type { RuleSnapshot } from '../telemetry/rules.ts';
import { levelValue, type LogLevels } from '../log/levels.ts';
import { controlBytes, controlHeaderInts, SlotField, slotFieldCount } from './protocol.ts';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Allocates the shared buffer for one pool. */
export function createControlBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(controlHeaderInts * 4 + controlBytes);
}

/** Supervisor side: publishes a snapshot to every thread of the pool. */
export function writeRules(buffer: SharedArrayBuffer, snapshot: RuleSnapshot): void {
  const header = new Int32Array(buffer, 0, controlHeaderInts);
  const bytes = encoder.encode(JSON.stringify(snapshot));
  if (bytes.length > controlBytes) throw new RangeError(`rule table of ${bytes.length} bytes exceeds ${controlBytes}`);
  Atomics.store(header, 0, -1);
  new Uint8Array(buffer, controlHeaderInts * 4, bytes.length).set(bytes);
  Atomics.store(header, 1, bytes.length);
  Atomics.store(header, 0, snapshot.version);
}

/** Thread side: reads the snapshot when its version changed. */
export class RulesReader {
  readonly #header: Int32Array;
  readonly #bytes: Uint8Array;
  #seen = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.#header = new Int32Array(buffer, 0, controlHeaderInts);
    this.#bytes = new Uint8Array(buffer, controlHeaderInts * 4);
  }

  /** The new snapshot, or null when unchanged or mid-write (the next check picks it up). */
  readIfChanged(): RuleSnapshot | null {
    const version = Atomics.load(this.#header, 0);
    if (version === this.#seen || version < 0) return null;
    const length = Atomics.load(this.#header, 1);
    const json = decoder.decode(this.#bytes.slice(0, length));
    if (Atomics.load(this.#header, 0) !== version) return null;
    try {
      const snapshot = JSON.parse(json) as RuleSnapshot;
      this.#seen = version;
      return snapshot;
    } catch {
      return null;
    }
  }
}

/**
 * Keeps a pool's shared memory in step with the supervisor's settings while the pool runs: the
 * bus's rule table into the control buffer, and each slot's `ctx.log` threshold into the slot table.
 */
export class SharedSettings {
  #unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus: Telemetry,
    private readonly levels: LogLevels,
    private readonly control: SharedArrayBuffer,
    private readonly slots: Int32Array,
    private readonly pool: string,
  ) {}

  start(): void {
    this.stop();
    writeRules(this.control, this.bus.control.rules());
    this.#publishLogLevels();
    this.#unsubscribe = [
      this.bus.control.subscribe((snapshot) => writeRules(this.control, snapshot)),
      this.levels.subscribe(() => this.#publishLogLevels()),
    ];
  }

  stop(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
  }

  #publishLogLevels(): void {
    const slotCount = this.slots.length / slotFieldCount;
    for (let slot = 0; slot < slotCount; slot++) {
      const level = levelValue[this.levels.levelFor('worker', `${this.pool}/${slot}`)];
      Atomics.store(this.slots, slot * slotFieldCount + SlotField.logLevel, Number.isFinite(level) ? level : 1000);
    }
  }
}
