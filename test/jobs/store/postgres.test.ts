// The store conformance suite on a real PostgreSQL server (this run's database, a schema of our own).
import { afterAll, afterEach, beforeAll, describe } from 'vitest';
import { testDatabaseUrl } from '../../helpers/services.ts';
import { jobLifecycleConformance } from './conformance-jobs.ts';
import { storeOperationsConformance } from './conformance-ops.ts';
import { storeHistoryConformance } from './conformance-history.ts';
import { storeRetentionConformance } from './conformance-retention.ts';
import { postgresHarness, type StoreHarness } from './harness.ts';

describe('JobStore on PostgreSQL', () => {
  let harness: StoreHarness;
  beforeAll(async () => {
    harness = await postgresHarness(testDatabaseUrl());
  });
  afterEach(async () => {
    await harness.closeStores();
  });
  afterAll(async () => {
    await harness?.teardown();
  });

  jobLifecycleConformance(() => harness);
  storeOperationsConformance(() => harness);
  storeRetentionConformance(() => harness);
  storeHistoryConformance(() => harness);
});
