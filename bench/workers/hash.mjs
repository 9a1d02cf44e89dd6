// Raw piscina peer of workers/hash.ts: the same work from the same build (workerData.hashModule is the
// build's workers/hash.js), minus the pool's context and spans. Loaded with top-level await before
// the thread reports ready, as the pool's own runtime loads its worker module.
import { workerData } from 'node:worker_threads';

const { generate, hashRounds } = await import(workerData.hashModule);

export default function hash(input) {
  const data = generate(input.seed, (input.sizeKiB ?? 64) * 1024);
  return { digest: hashRounds(data, input.rounds ?? 4), bytes: data.length };
}
