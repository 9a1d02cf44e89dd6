/**
 * A deployment whose child cannot start (here: the HTTP port is taken) fails its start, and closes
 * what it had opened around the supervision tree: the embedded store's data directory is free again
 * for the next attempt in the same process, instead of held by a deployment that never ran.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JobStore } from '../../src/index.ts';
import { startTestDeployment } from '../helpers/deployment.ts';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function takenPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('a deployment that cannot start', () => {
  it('fails naming the child and releases the embedded store it opened', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pitboss-startup-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const dataDir = join(dir, 'pglite');
    const port = await takenPort();
    await expect(startTestDeployment({ host: '127.0.0.1', port, dataDir })).rejects.toMatchObject({
      code: 'PITBOSS_CHILD_START_FAILED', message: expect.stringMatching(/child "http" failed to start: .*EADDRINUSE/),
    });
    // Without the release this open fails with PITBOSS_STORE_IN_USE (the lock is held by this very process).
    const store = await JobStore.open({ dataDir });
    await store.close();
  }, 60_000);
});
