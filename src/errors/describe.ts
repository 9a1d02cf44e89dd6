/**
 * How any thrown value is reported in telemetry metadata and logs. Runs on both sides of the thread
 * boundary (span exceptions in worker code, failures on the supervisor), so it imports nothing.
 */

/** `error_type` (the error's class name) and `error` (its message) for exception events. */
export function describeError(error: unknown): { error_type: string; error: string } {
  if (error instanceof Error) return { error_type: error.name || error.constructor.name, error: error.message };
  // Error-like objects, e.g. a thread's error after crossing the thread boundary (not an Error here).
  const { name, message } = (typeof error === 'object' && error !== null ? error : {}) as { name?: unknown; message?: unknown };
  if (typeof message === 'string') return { error_type: typeof name === 'string' && name !== '' ? name : 'Error', error: message };
  return { error_type: typeof error, error: String(error) };
}
