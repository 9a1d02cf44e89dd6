/**
 * What `pitboss start` prints once the deployment runs. The `try` line is meant to be pasted into a
 * shell as it is, so it must say how the token really reaches the routes: a generated token is
 * printed inline; one from the environment is referenced as "$PITBOSS_CONTROL_TOKEN" in double
 * quotes (single quotes would send the literal text and get a 401); open local control sends none.
 */
import { isLoopback } from './http/auth.ts';

export interface BannerInput {
  readonly supervisorId: string;
  readonly url: string;
  readonly storeBackend: string;
  readonly dispatchBackend: string;
  /** The first queue of the deployment (what the `try` line submits to). */
  readonly queue: string;
  readonly host: string;
  /** The token the server checks, or null. */
  readonly token: string | null;
  /** True when `pitboss start` made the token up for this run. */
  readonly generated: boolean;
  readonly allowLocalControl: boolean;
}

/**
 * How a user reaches the 🔒 routes of this run: the banner's token line, and the curl option that
 * carries the token ('' when none is needed; null when the server refuses those routes anyway).
 */
function access(input: BannerInput): { line: string; header: string | null } {
  if (input.token !== null && input.generated) {
    return { line: `${input.token}  (generated for this run; set PITBOSS_CONTROL_TOKEN to choose one)`, header: `-H 'authorization: Bearer ${input.token}'` };
  }
  if (input.token !== null) return { line: 'from PITBOSS_CONTROL_TOKEN', header: '-H "authorization: Bearer $PITBOSS_CONTROL_TOKEN"' };
  if (input.allowLocalControl && isLoopback(input.host)) {
    return { line: `none: PITBOSS_ALLOW_LOCAL_CONTROL=true opens control and job routes to local clients on ${input.host}`, header: '' };
  }
  // The server refuses the routes (auth.ts): no line to try.
  return { line: `none: control and job routes are refused (PITBOSS_ALLOW_LOCAL_CONTROL only opens them on a loopback HOST, not ${input.host}); set PITBOSS_CONTROL_TOKEN`, header: null };
}

/** The banner's lines (stderr), ending with an empty line. */
export function startupBanner(input: BannerInput): string {
  const { url } = input;
  const { line, header } = access(input);
  const auth = header === null || header === '' ? '' : ` ${header}`;
  // No `try` line the server would refuse.
  return [
    '',
    `pitboss supervisor ${input.supervisorId} is running (store: ${input.storeBackend}, dispatch: ${input.dispatchBackend})`,
    `  status     ${url}/status   queues ${url}/queues   health ${url}/readyz`,
    `  metrics    ${url}/metrics`,
    `  token      ${line}`,
    ...(header === null ? [] : [`  try        curl -s -X POST ${url}/jobs${auth} -H 'content-type: application/json' -d '{"queue":"${input.queue}","name":"demo","data":{"seed":1}}'`]),
    '  stop       Ctrl-C (drains running jobs first)',
    '',
  ].join('\n');
}
