/**
 * A prebuilt data directory for the embedded store, so a fresh one needs no initdb. PGlite runs
 * initdb in a second WASM instance whose memory the process keeps afterwards: measured on the
 * reference machine (Node 20), PGlite.create on an empty directory took ~3.5 s and left 812 MB RSS;
 * opening a directory that already holds a database took ~0.5 s and 334 MB. `npm run build` writes
 * the template (a directory after initdb and the migrations, closed cleanly) as a gzipped tar into
 * dist/, named after the PGlite version that made it: a database from another PGlite build may not
 * start, so a version without its own template falls back to initdb.
 *
 * Unpacking writes into a sibling directory and renames it into place, so a kill mid-way leaves a
 * directory that is still empty (the leftover is removed at the next start), never half a database.
 * No fsync: PGlite itself runs with fsync off (`-F`), and what a SIGKILL cannot lose (the page cache)
 * is all that any of its writes are promised.
 */
import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const BLOCK = 512;

/** The installed PGlite's version (the template must come from the same build of Postgres). */
function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Where the template for the installed PGlite lives: dist/ of this package, from the build itself
 * (dist/src/jobs/store/ → dist/) or, running the sources, from a build beside them.
 */
export function pgliteTemplateFile(): string {
  const distDir = new URL(import.meta.url.endsWith('.ts') ? '../../../dist/' : '../../../', import.meta.url);
  return join(fileURLToPath(distDir), `pglite-template-${pgliteVersion()}.tgz`);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/**
 * Fills `dataDir` from `templateFile` when the directory is absent or empty; false (nothing done)
 * when it already holds something or there is no template. The caller holds the data-dir lock.
 */
export async function seedFromTemplate(dataDir: string, templateFile = pgliteTemplateFile()): Promise<boolean> {
  const staging = `${dataDir}.seeding`;
  await rm(staging, { recursive: true, force: true });
  const entries = await readdir(dataDir).catch(() => null);
  if (entries !== null && entries.length > 0) return false;
  if (!(await exists(templateFile))) return false;
  await unpack(await readFile(templateFile), staging);
  // rename(2) cannot replace a directory on every platform: remove the empty one first (the lock
  // beside it is held, so nobody else looks in the meantime).
  if (entries !== null) await rmdir(dataDir);
  await rename(staging, dataDir);
  return true;
}

/** Writes the files and directories under `dir` as a gzipped ustar archive (names relative to `dir`). */
export async function packTemplate(dir: string, file: string): Promise<void> {
  const parts: Buffer[] = [];
  const walk = async (at: string): Promise<void> => {
    for (const entry of (await readdir(at, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(at, entry.name);
      const name = relative(dir, path).split(sep).join('/');
      if (entry.isDirectory()) {
        parts.push(header(`${name}/`, 0o700, 0, '5'));
        await walk(path);
      } else if (entry.isFile()) {
        const data = await readFile(path);
        parts.push(header(name, 0o600, data.length, '0'), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK));
      } else {
        throw new Error(`cannot pack ${path}: neither a file nor a directory`);
      }
    }
  };
  await walk(dir);
  parts.push(Buffer.alloc(2 * BLOCK));
  await writeFile(file, await promisify(gzip)(Buffer.concat(parts)));
}

function header(name: string, mode: number, size: number, type: '0' | '5'): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`cannot pack ${name}: name longer than 100 bytes`);
  const block = Buffer.alloc(BLOCK);
  const octal = (value: number, offset: number, width: number): void => { block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, 'ascii'); };
  block.write(name, 0, 'utf8');
  octal(mode, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(0, 136, 12);
  block.write(type, 156, 'ascii');
  block.write('ustar\u000000', 257, 'ascii');
  block.write('        ', 148, 'ascii');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** Unpacks an archive written by packTemplate into `dir` (created). */
async function unpack(archive: Buffer, dir: string): Promise<void> {
  const tar = await promisify(gunzip)(archive);
  const root = resolve(dir);
  await mkdir(root, { recursive: true, mode: 0o700 });
  for (let at = 0; at + BLOCK <= tar.length;) {
    const block = tar.subarray(at, at + BLOCK);
    if (block.every((byte) => byte === 0)) break;
    const field = (offset: number, width: number): string => block.toString('utf8', offset, offset + width).replace(/\0.*$/s, '');
    const name = field(0, 100);
    const size = Number.parseInt(field(124, 12), 8);
    const type = field(156, 1);
    const target = resolve(root, name);
    if (!target.startsWith(root + sep) || !Number.isSafeInteger(size)) throw new Error(`bad entry in the PGlite template: ${JSON.stringify(name)}`);
    at += BLOCK;
    if (type === '5') {
      await mkdir(target, { recursive: true, mode: 0o700 });
    } else if (type === '0') {
      await writeFile(target, tar.subarray(at, at + size), { mode: 0o600 });
      at += Math.ceil(size / BLOCK) * BLOCK;
    } else {
      throw new Error(`bad entry in the PGlite template: ${JSON.stringify(name)} of type ${JSON.stringify(type)}`);
    }
  }
}
