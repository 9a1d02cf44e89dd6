/**
 * `pitboss jobs …`: the operator's job commands — list and search, get, cancel, retry one job or
 * every dead, failed or cancelled job matching a filter — through a running supervisor's HTTP API
 * (each needs the control token). Loaded by cli.ts like the other client commands: commander and the
 * HTTP client only.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { api, print, withApi, type ApiOptions } from './cli-api.ts';

const jobId = (value: string): string => {
  if (!/^[1-9][0-9]{0,18}$/.test(value)) throw new InvalidArgumentError('a job id is a positive decimal number');
  return value;
};
const count = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
};

/** A query string of the options that are set, in the order given. */
function query(params: Readonly<Record<string, string | number | undefined>>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

interface ListOptions extends ApiOptions {
  queue?: string;
  state?: string;
  name?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
}

interface RetryOptions extends ApiOptions {
  state?: string;
  queue?: string;
  name?: string;
  errorType?: string;
  since?: string;
  limit?: number;
}

/** Registers `pitboss jobs list|get|cancel|retry`. */
export function registerJobCommands(program: Command): void {
  const jobs = program.command('jobs').description('list, inspect, cancel and retry jobs of a running supervisor');

  withApi(jobs.command('list').description('jobs newest first, one page (the answer\'s `next` is the --cursor of the next page)')
    .option('--queue <queue>').option('--state <state>', 'queued, running, completed, failed, dead or cancelled').option('--name <name>')
    .option('--since <time>', 'created at or after this ISO time').option('--until <time>', 'created before this ISO time')
    .option('--limit <n>', 'page size, 1..500 (default 50)', count).option('--cursor <cursor>', 'continue after a previous page'))
    .action(async (options: ListOptions) => {
      const { queue, state, name, since, until, limit, cursor } = options;
      print(await api(options).get(`/jobs${query({ queue, state, name, since, until, limit, cursor })}`));
    });

  withApi(jobs.command('get').description('a job with its actions').argument('<id>', 'job id', jobId))
    .action(async (id: string, options: ApiOptions) => print(await api(options).get(`/jobs/${id}`)));

  withApi(jobs.command('cancel').description('cancel a waiting or running job').argument('<id>', 'job id', jobId))
    .action(async (id: string, options: ApiOptions) => print(await api(options).post(`/jobs/${id}/cancel`, undefined)));

  withApi(jobs.command('retry').description('retry a dead, failed or cancelled job by id, or every one matching --state and filters')
    .argument('[id]', 'job id', jobId)
    .option('--state <state>', 'retry every dead, failed or cancelled job (with the filters below) instead of one id')
    .option('--queue <queue>').option('--name <name>').option('--error-type <type>', 'the last error\'s type, e.g. TimeoutError')
    .option('--since <time>', 'finished (last updated) at or after this ISO time').option('--limit <n>', 'at most this many (default 1000, max 100000)', count))
    .action(async (id: string | undefined, options: RetryOptions) => {
      const { state, queue, name, errorType, since, limit } = options;
      if (id !== undefined) {
        if (state !== undefined) throw new InvalidArgumentError('give a job id or --state with filters, not both');
        return print(await api(options).post(`/jobs/${id}/retry`, undefined));
      }
      if (state === undefined) throw new InvalidArgumentError('give a job id, or --state dead|failed|cancelled to retry by filter');
      print(await api(options).post('/jobs/retry', { state, queue, name, errorType, since, limit }));
    });
}
