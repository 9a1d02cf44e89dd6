// The job system as a fleet runs it: real Postgres (a schema of this file's own) and BullMQ dispatch
// on the run's real Redis (a key prefix of its own), with real pools and threads.
import { postgresBullmq } from './backends.ts';
import { jobSystemSuite } from './suite.ts';

jobSystemSuite('Postgres + BullMQ', postgresBullmq);
