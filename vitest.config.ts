import { defineConfig } from 'vitest/config';

/**
 * Test files that must have the machine to themselves: they kill and restart processes and servers,
 * or hold a task to a deadline that a busy machine's thread starts can miss (an out-of-memory thread
 * must die of its heap limit before its task timeout fires). They run one at a time, after the rest.
 */
const alone = ['test/jobs/faults/**/*.test.ts', 'test/pool/pool-crashes.test.ts'];

/**
 * Everything else runs two files at a time: most of a file's time is spent waiting on real servers,
 * child processes and timers, so one file at a time left the 2-core machines CI runs on half idle.
 * Files keep out of each other's way by design (a schema, a Redis prefix, a data dir of their own).
 */
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'shared',
          // Per project (each gets its own database and Redis DB index), not at the root, where it would run a third time.
          globalSetup: ['test/setup/services.ts'],
          include: ['test/**/*.test.ts'],
          exclude: alone,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      { extends: true, test: { name: 'alone', include: alone, globalSetup: ['test/setup/services.ts'], maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
