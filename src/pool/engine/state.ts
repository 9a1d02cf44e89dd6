/**
 * A pool's lifecycle state. Its own module because the core sets it and the parts the core drives
 * (tasks.ts, task-outcomes.ts) read it: declared in core.ts, their imports of it closed a cycle.
 */

/** 'idle' → 'starting' → 'running' → 'closing' → 'closed', or 'failed' when the pool gives up. */
export type PoolState = 'idle' | 'starting' | 'running' | 'closing' | 'closed' | 'failed';
