/**
 * A real CPU workload: generate `sizeKiB` of pseudo-random data from a seed and hash it `rounds`
 * times with SHA-256 (each round hashes the previous digest with the data). Deterministic, so tests
 * can check results; CPU-bound, so it exercises the pool.
 */
import { createHash } from 'node:crypto';
import { defineWorker } from '../src/pool/define.ts';

export interface HashInput {
  seed: number;
  sizeKiB?: number;
  rounds?: number;
}

export interface HashOutput {
  digest: string;
  bytes: number;
}

/** xorshift32: fast, deterministic filler so the input need not be shipped to the thread. */
export function generate(seed: number, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i + 4 <= bytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out.writeUInt32LE(x >>> 0, i);
  }
  return out;
}

/** Hashes `rounds` times; `onRound` hears the fraction done after each round (the job's progress). */
export function hashRounds(data: Buffer, rounds: number, onRound?: (done: number) => void): string {
  let digest = Buffer.alloc(32);
  for (let i = 0; i < rounds; i++) {
    digest = createHash('sha256').update(digest).update(data).digest();
    onRound?.((i + 1) / rounds);
  }
  return digest.toString('hex');
}

export default defineWorker<HashInput, HashOutput>(async (input, ctx) => {
  const sizeKiB = input.sizeKiB ?? 64;
  const rounds = input.rounds ?? 4;
  const data = ctx.span('action', { action: 'generate' }, () => generate(input.seed, sizeKiB * 1024));
  // Progress as a fraction of the rounds: throttled in the thread, so reporting every round costs little.
  const digest = ctx.span('action', { action: 'hash' }, () => hashRounds(data, rounds, (done) => ctx.progress(done)));
  return { digest, bytes: data.length };
});
