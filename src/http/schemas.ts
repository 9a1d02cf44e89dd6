/**
 * JSON schemas of every body and param the HTTP API accepts. fastify validates with them before a
 * handler runs, so a bad request is a 400 naming the field; handlers see only valid shapes.
 */
const name = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' } as const;
const level = { type: 'string', enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] } as const;

export const jobIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' } },
} as const;

/** A queue named in a path: the store's queue names (no ':'), so a bad one is a 400 before anything runs. */
export const queueParams = {
  type: 'object',
  required: ['queue'],
  properties: { queue: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' } },
} as const;

const enqueueItem = {
  type: 'object',
  required: ['queue', 'name'],
  additionalProperties: false,
  properties: {
    queue: name,
    name,
    data: {},
    priority: { type: 'integer', minimum: -1000000, maximum: 1000000 },
    maxAttempts: { type: 'integer', minimum: 1, maximum: 100 },
    delayMs: { type: 'integer', minimum: 0, maximum: 31536000000 },
    idempotencyKey: { type: 'string', minLength: 1, maxLength: 256 },
    timeoutMs: { type: 'integer', minimum: 1, maximum: 2147483647 },
    backoff: {
      type: 'object',
      required: ['type', 'delayMs'],
      additionalProperties: false,
      properties: { type: { type: 'string', enum: ['fixed', 'exponential'] }, delayMs: { type: 'integer', minimum: 0, maximum: 86400000 } },
    },
  },
} as const;

/** Jobs one `POST /jobs` array may carry: one group commit, and well inside the 1 MiB body limit for small payloads. */
const MAX_BULK_JOBS = 1000;

/** `POST /jobs`: one job, or an array of 1..1000 jobs (if/then/else, so ajv reports the errors of the shape that was sent). */
export const enqueueBody = {
  if: { type: 'array' },
  then: { type: 'array', minItems: 1, maxItems: MAX_BULK_JOBS, items: enqueueItem },
  else: enqueueItem,
} as const;

export const telemetryRulesBody = {
  type: 'object',
  required: ['rules'],
  additionalProperties: false,
  properties: {
    rules: {
      type: 'array',
      maxItems: 500,
      items: {
        type: 'object',
        required: ['pattern'],
        additionalProperties: false,
        properties: {
          pattern: { type: 'string', minLength: 1, maxLength: 200 },
          rate: { type: 'number', minimum: 0, maximum: 1 },
          enabled: { type: 'boolean' },
          scope: {
            type: 'object',
            additionalProperties: false,
            properties: {
              pool: { anyOf: [{ type: 'string', minLength: 1, maxLength: 64 }, { type: 'null' }] },
              worker: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', pattern: '^[0-9]{1,4}$' }, { type: 'null' }] },
            },
          },
        },
      },
    },
  },
} as const;

export const logLevelsBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    default: level,
    categories: { type: 'object', additionalProperties: { anyOf: [level, { type: 'null' }] } },
    workers: { type: 'object', additionalProperties: { anyOf: [level, { type: 'null' }] } },
  },
} as const;

/** A schedule's name in `/schedules/:name` (the shape of a queue name: it travels in URLs and idempotency keys). */
export const scheduleParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$' } },
} as const;

/** `PUT /schedules/:name`: the expression and zone are checked by croner and Intl (a 400 naming the key). */
export const scheduleBody = {
  type: 'object',
  required: ['cron', 'queue', 'name'],
  additionalProperties: false,
  properties: {
    cron: { type: 'string', minLength: 1, maxLength: 256 },
    queue: name,
    name,
    data: {},
    timezone: { type: 'string', minLength: 1, maxLength: 64 },
    missed: { type: 'string', enum: ['latest', 'all', 'skip'] },
  },
} as const;

const dateTime = { type: 'string', format: 'date-time', maxLength: 64 } as const;

/** `GET /jobs`: every filter optional; query strings stay strings (no coercion), so limit is a pattern, bounded by the handler. */
export const jobListQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    queue: name,
    state: { type: 'string', enum: ['queued', 'running', 'completed', 'failed', 'dead', 'cancelled'] },
    name,
    since: dateTime,
    until: dateTime,
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,5}$' },
    cursor: { type: 'string', minLength: 1, maxLength: 200 },
  },
} as const;

/** `POST /jobs/retry`: which dead, failed or cancelled jobs to retry. */
export const retryFilterBody = {
  type: 'object',
  required: ['state'],
  additionalProperties: false,
  properties: {
    state: { type: 'string', enum: ['dead', 'failed', 'cancelled'] },
    queue: name,
    name,
    errorType: { type: 'string', minLength: 1, maxLength: 200 },
    since: dateTime,
    limit: { type: 'integer', minimum: 1, maximum: 100000 },
  },
} as const;
