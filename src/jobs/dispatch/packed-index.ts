/**
 * Which ids packed entries hold, per queue: a Redis hash `<prefix>:<queue>:packed`, id → entry id,
 * written after the entries are added and cleared once an entry has handed out its jobs.
 *
 * `add` is idempotent per id because a single job's entry is named by its id; a packed entry is not,
 * so without this a re-add (the reconciler's, whenever dispatch holds fewer jobs than the store says
 * are waiting) would hand out again every job still waiting in a packed entry. Each lookup also
 * checks that the entry still exists: an id whose entry is gone (handed out, Redis flushed, a write
 * of this hash lost) is not held, so a stale field can delay nothing; the lookup deletes it.
 */
import type { Redis } from 'ioredis';

/** KEYS[1]: the hash; ARGV[1]: prefix of the queue's job keys; ARGV[2..]: ids. Returns the ids held. */
const heldScript = `
local held = {}
for i = 2, #ARGV do
  local entry = redis.call('HGET', KEYS[1], ARGV[i])
  if entry then
    if redis.call('EXISTS', ARGV[1] .. entry) == 1 then held[#held + 1] = ARGV[i]
    else redis.call('HDEL', KEYS[1], ARGV[i]) end
  end
end
return held`;

/**
 * KEYS: the queue's wait, paused, active, prioritized and delayed keys. Returns the jobs they hold:
 * one per single entry, n per packed entry (its id starts \`b<n>-\`).
 */
const countScript = `
local total = 0
for i = 1, #KEYS do
  local kind = redis.call('TYPE', KEYS[i]).ok
  local ids = {}
  if kind == 'list' then ids = redis.call('LRANGE', KEYS[i], 0, -1)
  elseif kind == 'zset' then ids = redis.call('ZRANGE', KEYS[i], 0, -1) end
  for _, id in ipairs(ids) do
    local n = string.match(id, '^b(%d+)%-')
    total = total + (n and tonumber(n) or 1)
  end
end
return total`;

/** The queue's keys a count reads, as BullMQ names them. */
export const countedKeys = ['wait', 'paused', 'active', 'prioritized', 'delayed'] as const;

export class PackedIndex {
  readonly #connection: Redis;

  constructor(connection: Redis) {
    this.#connection = connection;
  }

  /** Records which packed entry holds each id (`keyPrefix` is the queue's `<prefix>:<queue>:`). */
  async record(keyPrefix: string, entries: ReadonlyMap<string, string>): Promise<void> {
    if (entries.size === 0) return;
    await this.#connection.hset(`${keyPrefix}packed`, Object.fromEntries(entries));
  }

  /** The ids a packed entry still holds, of those given. */
  async held(keyPrefix: string, ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const held = (await this.#connection.eval(heldScript, 1, `${keyPrefix}packed`, keyPrefix, ...ids)) as string[];
    return new Set(held);
  }

  /** Forgets ids whose entry has handed them out. */
  async forget(keyPrefix: string, ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#connection.hdel(`${keyPrefix}packed`, ...ids);
  }

  /** Jobs held by the queue whose keys are given (see countedKeys), packed entries counted by their size. */
  async count(keys: readonly string[]): Promise<number> {
    return Number(await this.#connection.eval(countScript, keys.length, ...keys));
  }
}
