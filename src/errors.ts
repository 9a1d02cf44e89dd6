/**
 * Typed errors with stable codes. Every error pitboss raises on purpose is a `PitbossError` whose
 * `code` is listed in `errorCodes`; the README's error table is pinned against this table by a test.
 */

/** Every stable error code, with the one-line meaning documented in the README. */
export const errorCodes = {
  PITBOSS_HANDLER_EXISTS: 'a telemetry handler with this id is already attached',
  PITBOSS_UNKNOWN_EVENT: 'the event name (or pattern) matches nothing in the telemetry catalog',
  PITBOSS_INVALID_EVENT_SPEC: 'a host-registered event definition is malformed or clashes with an existing event',
  PITBOSS_INVALID_RULE: 'a telemetry control rule has a bad pattern, rate or scope',
  PITBOSS_INVALID_TRACEPARENT: 'a W3C traceparent header could not be parsed',
} as const;

/** A stable error code; switch on it rather than on messages. */
export type ErrorCode = keyof typeof errorCodes;

/** Base class of every error pitboss raises deliberately. */
export class PitbossError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Misuse of the telemetry API: unknown events, duplicate handler ids, bad rules or event specs. */
export class TelemetryError extends PitbossError {}
