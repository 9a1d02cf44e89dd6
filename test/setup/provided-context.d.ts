// Types for the values test/setup/services.ts provides to tests; read them with the helpers in
// test/helpers/services.ts rather than calling inject directly.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of this run's fresh PostgreSQL database (pitboss_test_<ms>_<hex>), dropped at teardown. */
    databaseUrl: string;
    /** URL of a real Redis server, selecting a DB index that belongs to this run alone. */
    redisUrl: string;
  }
}
