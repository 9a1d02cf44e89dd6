// Job retry and search as a fleet runs them: real Postgres (a schema of this file's own) and BullMQ on the run's Redis.
import { postgresBullmq } from './backends.ts';
import { jobSearchSuite } from './search-suite.ts';

jobSearchSuite('Postgres + BullMQ', postgresBullmq);
