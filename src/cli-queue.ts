/**
 * `pitboss queue pause <queue>` and `pitboss queue resume <queue>`: queue control through a running
 * supervisor's HTTP API (with the control token). Each prints the queue's row as `GET /queues` shows it.
 */
import type { Command } from 'commander';
import { api, print, withApi, type ApiOptions } from './cli-api.ts';

export function registerQueueCommands(program: Command): void {
  const queue = program.command('queue').description('pause and resume queues, fleet-wide');
  withApi(queue.command('pause').description('stop starting jobs of a queue on every supervisor (jobs are still accepted; running ones finish)').argument('<queue>'))
    .action(async (name: string, options: ApiOptions) => {
      print(await api(options).post(`/queues/${encodeURIComponent(name)}/pause`, undefined));
    });
  withApi(queue.command('resume').description('start a paused queue\'s jobs again').argument('<queue>'))
    .action(async (name: string, options: ApiOptions) => {
      print(await api(options).post(`/queues/${encodeURIComponent(name)}/resume`, undefined));
    });
}
