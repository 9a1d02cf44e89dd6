/**
 * A canary for transpile-hooks.ts: loaded after the hooks are registered, it must come out of
 * TypeScript. esbuild's keepNames (tsx) would have wrapped `inner` in a `__name(…)` call, which shows
 * in the function's source text.
 */
export function namedClosureFactory(): () => number {
  const inner = (): number => 0;
  return inner;
}

/** Throws when this module was compiled by something that adds per-closure work TypeScript does not. */
export function assertTranspiledByTypeScript(): void {
  if (namedClosureFactory.toString().includes('__name')) {
    throw new Error('bench modules were compiled by esbuild keepNames (tsx), not TypeScript: the hooks in bench/lib/transpile-hooks.ts did not take effect');
  }
}
