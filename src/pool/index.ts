/** Worker-thread pools: the public surface (the thread runtime is loaded by path, never exported). */
export { Pool, type PoolThreadInfo, type RunOptions } from './pool.ts';
export { SupervisedPool, type PoolChildOptions } from './supervised.ts';
export { defineWorker, type WorkerContext, type WorkerDefinition, type WorkerLogger } from './define.ts';
export type { PoolOptions, RecycleOptions } from './options.ts';
export type { PoolState } from './engine/state.ts';
export {
  PoolClosedError, PoolFailedError, PoolSaturatedError, QueueTimeoutError, TaskFailedError, TaskInterruptedError, TaskTimeoutError, WorkerCrashedError,
} from '../errors/pool.ts';
