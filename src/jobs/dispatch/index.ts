/**
 * Dispatch: who runs what next. Two implementations of the one `Dispatcher` interface (see
 * ../types.ts), both run through test/jobs/dispatch/conformance.ts: BullMQ on Redis for a fleet, and
 * in-process for the embedded default.
 */
export { BullmqDispatcher } from './bullmq.ts';
export type { BullmqDispatcherOptions } from './bullmq.ts';
export { LocalDispatcher } from './local.ts';
export type { LocalDispatcherOptions } from './local.ts';
