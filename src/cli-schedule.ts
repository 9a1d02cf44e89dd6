/**
 * `pitboss schedule list|set|rm`: a running supervisor's cron schedules through its HTTP API
 * (`GET /schedules`, `PUT /schedules/:name`, `DELETE /schedules/:name`). Schedules are the fleet's:
 * any supervisor's address will do.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { api, print, withApi, type ApiOptions } from './cli-api.ts';

interface SetOptions extends ApiOptions {
  readonly data?: string;
  readonly timezone?: string;
  readonly missed?: string;
}

/** Registers the `schedule` command group on `program`. */
export function registerScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description('cron schedules: each tick enqueues one job, once across the fleet');
  withApi(schedule.command('list').description('schedules with their next and last run'))
    .action(async (options: ApiOptions) => {
      print(await api(options).get('/schedules'));
    });
  withApi(schedule.command('set').description('create or replace a schedule').argument('<schedule>', 'schedule name')
    .argument('<cron>', 'cron expression, 5 fields or 6 with seconds first (quote it)').argument('<queue>').argument('<job-name>')
    .option('--data <json>', 'payload of each job, as JSON')
    .option('--timezone <zone>', 'IANA time zone the expression is read in (default UTC)')
    .option('--missed <policy>', 'ticks missed while everything was down: latest (default), all or skip'))
    .action(async (name: string, cron: string, queue: string, jobName: string, options: SetOptions) => {
      let data: unknown;
      if (options.data !== undefined) {
        try {
          data = JSON.parse(options.data);
        } catch {
          throw new InvalidArgumentError('--data must be JSON');
        }
      }
      const body = { cron, queue, name: jobName, data, timezone: options.timezone, missed: options.missed };
      print(await api(options).put(`/schedules/${encodeURIComponent(name)}`, body));
    });
  withApi(schedule.command('rm').description('delete a schedule (jobs it already enqueued stay)').argument('<schedule>', 'schedule name'))
    .action(async (name: string, options: ApiOptions) => {
      print(await api(options).delete(`/schedules/${encodeURIComponent(name)}`));
    });
}
