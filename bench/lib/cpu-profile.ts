/**
 * Where a side's CPU goes: one extra round under the V8 sampling profiler (`node:inspector`, the
 * same profiler `--cpu-prof` writes), summarised as self time by code area and the top functions.
 * Main thread only: pool threads are isolates of their own and are not sampled.
 */
import { Session } from 'node:inspector/promises';
import type { RoundSide } from './embedded-sides.ts';

interface ProfileNode {
  readonly id: number;
  readonly hitCount?: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

/** The code area a frame belongs to, from its script URL. */
function area(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  // PGlite's Postgres, compiled to WebAssembly: its functions' scripts are wasm://wasm/<hash>.
  if (url.startsWith('wasm://')) return 'pglite wasm';
  if (url.includes('@electric-sql/pglite')) return 'pglite js';
  if (url.startsWith('node:')) return 'node internals';
  const dist = /\/dist\/(src\/[^/]+(?:\/[^/]+)?)\//.exec(url);
  if (dist !== null) return `dist/${dist[1]}`;
  if (url.includes('/node_modules/')) return `node_modules/${/\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)![1]}`;
  if (url.includes('/bench/')) return 'bench';
  return 'other';
}

const percent = (part: number, whole: number): string => `${((part / whole) * 100).toFixed(0)}%`;

/** Runs one round of `side` (opened and closed outside the profile) and returns a one-line summary. */
export async function profileRound(side: RoundSide, jobs: number): Promise<string> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await side.open();
    await session.post('Profiler.start');
    await side.run(jobs);
    const { profile } = (await session.post('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
    await side.close();
    const byArea = new Map<string, number>();
    const byFunction = new Map<string, number>();
    let total = 0;
    for (const node of profile.nodes) {
      const hits = node.hitCount ?? 0;
      if (hits === 0 || node.callFrame.functionName === '(idle)') continue;
      total += hits;
      const where = area(node.callFrame.url, node.callFrame.functionName);
      byArea.set(where, (byArea.get(where) ?? 0) + hits);
      const name = `${node.callFrame.functionName || '(anonymous)'} [${where}]`;
      byFunction.set(name, (byFunction.get(name) ?? 0) + hits);
    }
    const top = (m: Map<string, number>, n: number): string => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k} ${percent(v, total)}`).join(', ');
    return `cpu profile of one extra ${side.name} round (${jobs} jobs, main thread only, self time of non-idle samples): by area ${top(byArea, 8)}; top functions ${top(byFunction, 8)}`;
  } finally {
    await session.post('Profiler.disable').catch(() => {});
    session.disconnect();
  }
}
