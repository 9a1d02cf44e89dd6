/**
 * The process-wide bus. Lives in its own module so every capability (supervision, pools, jobs) can
 * default to it without importing the package index (which would be an import cycle).
 */
import { createTelemetry } from './bus.ts';

/**
 * The process-wide telemetry bus over the built-in catalog. Attach handlers to it; pitboss emits
 * every cataloged event on it unless a component is given its own bus.
 */
export const telemetry = createTelemetry();
