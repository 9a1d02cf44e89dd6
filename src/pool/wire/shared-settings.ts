/**
 * The supervisor's runtime settings as a pool's threads read them from shared memory: the telemetry
 * rule table (sampling and filter rules) in its own buffer, and each slot's `ctx.log` level in the
 * slot table (SlotField.logLevel). Shared memory rather than messages, so a change reaches a thread
 * even while it is busy in a long task.
 *
 * The rule table is an Int32 header `[version, byteLength]` followed by the JSON of the snapshot. The
 * supervisor side writes it with a seqlock (version set to -1 while writing); threads read it when
 * the version moved. One Atomics.load per check, so a thread can check before every emit.
 */
import type { Telemetry } from '../../telemetry/bus.ts';
import type { RuleSnapshot } from '../../telemetry/rules.ts';
import { levelValue, type LogLevels } from '../../log/levels.ts';
import { SlotField, slotFieldCount } from './protocol.ts';

/** Int32s of the rule table's header: `[version, byteLength]`. */
const ruleTableHeaderInts = 2;
/** Room for the snapshot's JSON after the header. */
const ruleTableBytes = 64 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Allocates the rule table of one pool. */
export function createRuleTableBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(ruleTableHeaderInts * 4 + ruleTableBytes);
}

/** Supervisor side: publishes a snapshot to every thread of the pool. */
function writeRules(buffer: SharedArrayBuffer, snapshot: RuleSnapshot): void {
  const header = new Int32Array(buffer, 0, ruleTableHeaderInts);
  const bytes = encoder.encode(JSON.stringify(snapshot));
  if (bytes.length > ruleTableBytes) throw new RangeError(`rule table of ${bytes.length} bytes exceeds ${ruleTableBytes}`);
  Atomics.store(header, 0, -1);
  new Uint8Array(buffer, ruleTableHeaderInts * 4, bytes.length).set(bytes);
  Atomics.store(header, 1, bytes.length);
  Atomics.store(header, 0, snapshot.version);
}

/** Thread side: reads the snapshot when its version changed. */
export class RulesReader {
  readonly #header: Int32Array;
  readonly #bytes: Uint8Array;
  #seen = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.#header = new Int32Array(buffer, 0, ruleTableHeaderInts);
    this.#bytes = new Uint8Array(buffer, ruleTableHeaderInts * 4);
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
 * bus's rules into the rule table, and each slot's `ctx.log` threshold into the slot table.
 */
export class SharedSettings {
  #unsubscribe: (() => void)[] = [];

  constructor(
    private readonly bus: Telemetry,
    private readonly levels: LogLevels,
    private readonly ruleTable: SharedArrayBuffer,
    private readonly slots: Int32Array,
    private readonly pool: string,
  ) {}

  start(): void {
    this.stop();
    writeRules(this.ruleTable, this.bus.control.rules());
    this.#publishLogLevels();
    this.#unsubscribe = [
      this.bus.control.subscribe((snapshot) => writeRules(this.ruleTable, snapshot)),
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
