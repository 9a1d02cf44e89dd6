/**
 * Keeps the embedded store off a full disk. PGlite (0.5.x, Postgres 18 in WASM) survives a full disk
 * only half-way: a data file that cannot grow fails its statement with 53100 and nothing else, but
 * a WAL segment that cannot be created is a PANIC, after which every statement — even `SELECT 1`,
 * even once space is back — spins for ever inside XLogFlush on the calling (main) thread
 * (measured: 100 % of `--prof` ticks in the wasm export XLogFlush ← CommitTransactionCommand ←
 * PostgresMainLoopOnce ← execProtocolRawSync). So writes stop *before* the disk is full: below
 * `minFreeBytes` on the data directory's filesystem, or when the directory is read-only or gone,
 * every write is refused with a reason and the store reports itself down; it comes back by itself
 * once space returns. PGlite's WAL grows to max_wal_size (1 GB) before a checkpoint recycles
 * segments, 16 MiB at a time, so the default margin (32 MiB) always leaves room for the next segment
 * with one to spare for what is written between two checks.
 */
import { constants } from 'node:fs';
import { access, statfs } from 'node:fs/promises';

/** Free space below which the embedded store stops writing (two 16 MiB WAL segments). */
export const DEFAULT_MIN_FREE_BYTES = 32 * 1024 * 1024;

export interface DiskGuardOptions {
  readonly dataDir: string;
  readonly minFreeBytes: number;
  /** How long a check's answer is reused (statfs + access cost ~20 µs, but writes come in thousands a second). */
  readonly freshMs: number;
}

const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

export class DiskGuard {
  readonly #o: DiskGuardOptions;
  #problem: string | null = null;
  #checkedAt = Number.NEGATIVE_INFINITY;
  #checking: Promise<string | null> | null = null;

  constructor(options: DiskGuardOptions) {
    this.#o = options;
  }

  /** The last answer without checking again: why writes would fail, or null. */
  get problem(): string | null {
    return this.#problem;
  }

  /** Why a write would fail now (checked again when the last answer is older than `freshMs`), or null. */
  blocker(): Promise<string | null> {
    if (performance.now() - this.#checkedAt < this.#o.freshMs) return Promise.resolve(this.#problem);
    return this.check();
  }

  /** Checks now (one check at a time; concurrent callers share it). */
  check(): Promise<string | null> {
    this.#checking ??= this.#inspect().then((problem) => {
      this.#problem = problem;
      this.#checkedAt = performance.now();
      this.#checking = null;
      return problem;
    });
    return this.#checking;
  }

  async #inspect(): Promise<string | null> {
    const { dataDir, minFreeBytes } = this.#o;
    try {
      // W_OK answers EROFS on a read-only mount and ENOENT for a vanished directory.
      await access(dataDir, constants.W_OK);
      const fs = await statfs(dataDir);
      const free = fs.bavail * fs.bsize;
      if (free < minFreeBytes) {
        return `only ${mib(free)} free on the filesystem of the embedded store's data directory ${dataDir} (ENOSPC ahead); it writes nothing below ${mib(minFreeBytes)}, so that PGlite never meets a full disk mid-commit — free some space or grow the volume, and it resumes by itself`;
      }
      return null;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
      const what = code === 'ENOENT' ? 'is gone' : code === 'EROFS' ? 'is on a read-only filesystem' : code === 'EACCES' ? 'is not writable' : 'cannot be checked';
      return `the embedded store's data directory ${dataDir} ${what} (${code}: ${(error as Error).message})`;
    }
  }
}
