#!/usr/bin/env node
/**
 * The `pitboss` command line: run a deployment, submit jobs, inspect and steer a running supervisor
 * through its HTTP API, migrate the database.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from './config.ts';
import { isDeployment } from './deploy/define.ts';
import { PitbossError } from './errors/classes.ts';
import { api, print, withApi } from './cli-api.ts';
import { startupBanner } from './cli-banner.ts';
import { registerQueueCommands } from './cli-queue.ts';
import { registerScheduleCommands } from './cli-schedule.ts';
import { registerJobCommands } from './cli-jobs.ts';

// The runtime (store, dispatch, pools, metrics, fastify: ~0.5 s of module loading from dist/, more
// through tsx) is imported by the commands that run it, so the client commands (enqueue, status,
// control) load only commander, zod and the HTTP client.

const program = new Command('pitboss').description('supervised worker runtime: pools, jobs, telemetry').showHelpAfterError();
const here = import.meta.url;
const defaultSupervisor = new URL(here.endsWith('.ts') ? '../supervisors/main.ts' : '../supervisors/main.js', here);

const rate = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('rate must be a number in 0..1');
  return n;
};

program.command('start').description('run a deployment (default: supervisors/main)').argument('[supervisor-file]')
  .action(async (file?: string) => {
    let config = loadConfig();
    const url = file === undefined ? defaultSupervisor : pathToFileURL(resolve(file));
    const [{ startDeployment }, module] = await Promise.all([import('./deploy/run.ts'), import(url.href) as Promise<{ default?: unknown }>]);
    const deployment = module.default;
    if (!isDeployment(deployment)) throw new PitbossError('PITBOSS_INVALID_CONFIG', `${url.href} must default-export defineDeployment(...)`);
    let generated = false;
    if (config.controlToken === null && !config.allowLocalControl) {
      config = { ...config, controlToken: randomBytes(18).toString('base64url') };
      generated = true;
    }
    const running = await startDeployment(deployment, config, { handleSignals: true });
    // Supervision gave up: end the process non-zero so an orchestrator restarts it (the deployment
    // has logged why and closed what it could).
    void running.exited.then((exit) => {
      if (exit.kind !== 'failed') return;
      console.error(`pitboss: supervision gave up: ${exit.error.message}`);
      process.exit(1);
    });
    console.error(startupBanner({
      supervisorId: running.supervisorId, url: running.url, storeBackend: running.store.backend, dispatchBackend: running.dispatcher.backend,
      queue: Object.keys(deployment.queues)[0] ?? 'default', host: config.host, token: config.controlToken, generated, allowLocalControl: config.allowLocalControl,
    }));
  });

withApi(program.command('enqueue').description('submit a job, or with --each one job per element in one call').argument('<queue>').argument('<name>')
  .option('--data <json>', 'job payload as JSON', '{}')
  .option('--each <json-array>', 'submit one job per element of this JSON array (its payload), all in one call (at most 1000)')
  .option('--priority <n>', 'higher runs first', (v) => Number.parseInt(v, 10))
  .option('--timeout-ms <ms>', 'deadline of each attempt', (v) => Number.parseInt(v, 10))
  .option('--idempotency-key <key>', 'submitting the same key again returns the existing job'))
  .action(async (queue: string, name: string, options: { data: string; each?: string; priority?: number; timeoutMs?: number; idempotencyKey?: string; url?: string; token?: string }) => {
    const json = (flag: string, text: string): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        throw new InvalidArgumentError(`${flag} must be JSON`);
      }
    };
    const job = (data: unknown) => ({ queue, name, data, priority: options.priority, timeoutMs: options.timeoutMs, idempotencyKey: options.idempotencyKey });
    if (options.each === undefined) return print(await api(options).post('/jobs', job(json('--data', options.data))));
    const each = json('--each', options.each);
    if (!Array.isArray(each)) throw new InvalidArgumentError('--each must be a JSON array of payloads');
    print(await api(options).post('/jobs', each.map(job)));
  });

withApi(program.command('status').description('queues, readiness and control versions of a running supervisor'))
  .action(async (options: { url?: string; token?: string }) => {
    const client = api(options);
    const [ready, queues] = await Promise.all([client.get('/readyz', true), client.get('/queues')]);
    print({ ready, ...(queues as object) });
  });

registerJobCommands(program);

const control = program.command('control').description('change telemetry sampling and log levels at runtime');
withApi(control.command('sample').description('set the keep-rate of events matching a pattern').argument('<pattern>').argument('<rate>', 'fraction kept, 0..1', rate)
  .option('--pool <pool>').option('--worker <id>'))
  .action(async (pattern: string, keep: number, options: { pool?: string; worker?: string; url?: string; token?: string }) => {
    const client = api(options);
    const current = await client.get('/control/telemetry') as { rules: { pattern: string; scope: { pool: string | null; worker: string | null } }[] };
    const scope = { pool: options.pool ?? null, worker: options.worker ?? null };
    const others = current.rules.filter((r) => !(r.pattern === pattern && r.scope.pool === scope.pool && r.scope.worker === scope.worker));
    print(await client.put('/control/telemetry', { rules: [...others, { pattern, rate: keep, scope }] }));
  });
withApi(control.command('log-level').description('set the default, a category\'s or a worker\'s log level').argument('<level>')
  .option('--category <category>').option('--worker <pool/worker_id>'))
  .action(async (level: string, options: { category?: string; worker?: string; url?: string; token?: string }) => {
    const body = options.worker !== undefined ? { workers: { [options.worker]: level } }
      : options.category !== undefined ? { categories: { [options.category]: level } } : { default: level };
    print(await api(options).put('/control/log-levels', body));
  });

registerQueueCommands(program);
registerScheduleCommands(program);

program.command('migrate').description('apply database migrations (DATABASE_URL, or the embedded store)').action(async () => {
  const config = loadConfig();
  const { JobStore } = await import('./jobs/store/index.ts');
  const store = await JobStore.open({ url: config.databaseUrl, dataDir: config.dataDir });
  await store.close();
  console.error(`migrations applied (${config.databaseUrl === null ? `embedded store in ${config.dataDir}` : 'DATABASE_URL'})`);
});

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`pitboss: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(error instanceof PitbossError && error.code === 'PITBOSS_INVALID_CONFIG' ? 78 : 1);
});
