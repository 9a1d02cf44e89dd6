/**
 * Writes the embedded store's data-directory template (pglite-template.ts): initdb, the migrations,
 * a clean close, packed. `npm run build` runs it after tsc, so the template always comes from the
 * PGlite installed at build time; a test builds one of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from './migrate.ts';
import { PgliteClient } from './pglite-client.ts';
import { packTemplate, pgliteTemplateFile } from './pglite-template.ts';

/** Builds the template into `file` (default: dist/, named after the installed PGlite); returns the path. */
export async function buildPgliteTemplate(file = pgliteTemplateFile()): Promise<string> {
  const base = await mkdtemp(join(tmpdir(), 'pitboss-pglite-template-'));
  try {
    const dataDir = join(base, 'pglite');
    // From initdb, never from an older template.
    const client = await PgliteClient.open(dataDir, null, { template: null });
    try {
      await migrate(client);
    } finally {
      await client.close();
    }
    await packTemplate(dataDir, file);
    return file;
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}
