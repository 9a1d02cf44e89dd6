// Cron schedules on the embedded default: PGlite in memory and in-process dispatch.
import { pgliteLocal } from '../system/backends.ts';
import { scheduleSuite } from './conformance.ts';

scheduleSuite('PGlite + local dispatch', pgliteLocal);
