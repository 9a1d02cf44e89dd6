// Job retry and search on the embedded default: PGlite in memory and in-process dispatch.
import { pgliteLocal } from './backends.ts';
import { jobSearchSuite } from './search-suite.ts';

jobSearchSuite('PGlite + local dispatch', pgliteLocal);
