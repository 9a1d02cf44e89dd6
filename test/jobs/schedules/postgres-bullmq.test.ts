// Cron schedules as a fleet runs them: real Postgres (a schema of this file's own) and BullMQ on the run's Redis.
import { postgresBullmq } from '../system/backends.ts';
import { scheduleSuite } from './conformance.ts';

scheduleSuite('Postgres + BullMQ', postgresBullmq);
