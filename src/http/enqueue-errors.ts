/**
 * The 400 of a bad `POST /jobs` body names the job and its field the way the store does
 * (`jobs[3].queue must match pattern …`), for the array form too: the client of a 1000-job call
 * learns which item to fix. The whole call is refused, and nothing is written (the body is checked
 * before the handler runs).
 */
import type { FastifySchemaValidationError, SchemaErrorDataVar } from 'fastify/types/schema.js';

/** ajv's `/3/backoff/type` → `jobs[3].backoff.type` (an array body) or `body.backoff.type` (one job). */
function fieldOf(error: FastifySchemaValidationError, array: boolean): string {
  const parts = error.instancePath.split('/').slice(1).map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  const extra = error.params.missingProperty ?? error.params.additionalProperty;
  if (typeof extra === 'string') parts.push(extra);
  let field = array ? 'jobs' : 'body';
  parts.forEach((part, i) => {
    field += array && i === 0 ? `[${part}]` : `.${part}`;
  });
  return field;
}

/** The schemaErrorFormatter of `POST /jobs`: the first real error (not if/then/else's own), as `field message`. */
export function enqueueErrorFormatter(errors: FastifySchemaValidationError[], dataVar: SchemaErrorDataVar): Error {
  const real = errors.filter((e) => e.keyword !== 'if');
  const first = real[0] ?? errors[0];
  if (first === undefined || dataVar !== 'body') return new Error(`${dataVar} is invalid`);
  const array = first.schemaPath.startsWith('#/then');
  const field = fieldOf(first, array);
  const reason = first.keyword === 'additionalProperties' ? 'is not a job field'
    : first.keyword === 'required' ? 'is required'
      : first.keyword === 'maxItems' && first.instancePath === '' ? `must hold at most ${String(first.params.limit)} jobs`
        : first.keyword === 'minItems' && first.instancePath === '' ? 'must hold at least one job' : first.message ?? 'is invalid';
  return new Error(`${field} ${reason}`);
}
