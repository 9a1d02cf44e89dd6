/** Returns its input: measures the pool's own overhead in benchmarks. */
import { defineWorker } from '../src/pool/define.ts';

export default defineWorker((input: unknown) => input);
