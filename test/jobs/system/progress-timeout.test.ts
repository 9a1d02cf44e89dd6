// Issue 18's progress, per-job timeouts and bulk enqueue, on both configurations (see progress-timeout-suite.ts).
import { pgliteLocal, postgresBullmq } from './backends.ts';
import { progressTimeoutSuite } from './progress-timeout-suite.ts';

progressTimeoutSuite('PGlite + local dispatch', pgliteLocal);
progressTimeoutSuite('Postgres + BullMQ', postgresBullmq);
