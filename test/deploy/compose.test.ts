/**
 * The deployment files: docker-compose.yml must parse with Docker Compose (`config` interpolates and
 * validates without an engine) and describe the production shape — postgres, redis, the supervisor
 * built from supervisors/deploy/Dockerfile, prometheus and grafana, each with a health check and a
 * restart policy — with every secret coming from the env file and none written into the file.
 * The Prometheus and Grafana files it mounts must exist and agree with it.
 *
 * Compose is the v2 plugin (`docker compose`) or the standalone `docker-compose` (Debian's
 * package). Skipped only when this machine has no Docker client at all.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config.ts';
import { repoRoot } from './grafana.ts';

const envExample = join(repoRoot, 'supervisors/deploy/.env.example');
const services = ['postgres', 'redis', 'supervisor', 'prometheus', 'grafana'];
const secrets = ['POSTGRES_PASSWORD', 'GRAFANA_DB_PASSWORD', 'REDIS_PASSWORD', 'PITBOSS_CONTROL_TOKEN', 'GRAFANA_ADMIN_PASSWORD'];

const succeeds = (command: string, args: string[]): boolean => spawnSync(command, args, { stdio: 'ignore', timeout: 30_000 }).status === 0;
const hasDocker = succeeds('docker', ['--version']) || succeeds('docker-compose', ['version']);
const compose: string[] | null = succeeds('docker', ['compose', 'version']) ? ['docker', 'compose'] : succeeds('docker-compose', ['version']) ? ['docker-compose'] : null;

/** The environment compose sees: this process's, minus anything that could stand in for the env file. */
const cleanEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([key]) => !secrets.includes(key) && !key.startsWith('POSTGRES_') && !key.startsWith('GRAFANA_')));

function runCompose(envFile: string) {
  const [command, ...prefix] = compose!;
  // --project-directory pins relative paths (and the default .env lookup) to the repository root.
  return spawnSync(command!, [...prefix, '--project-directory', repoRoot, '-f', join(repoRoot, 'docker-compose.yml'), '--env-file', envFile, 'config'], {
    encoding: 'utf8', timeout: 60_000, env: cleanEnv(), cwd: repoRoot,
  });
}

const scratch = mkdtempSync(join(tmpdir(), 'pitboss-compose-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.skipIf(!hasDocker)('docker-compose.yml', () => {
  it('a Compose implementation is available next to the Docker client', () => {
    expect(compose, 'a Docker client is installed but neither `docker compose` nor `docker-compose` works: install the compose plugin or Debian\'s docker-compose (`apt-get install -y --no-install-recommends docker-compose`; .ci/run does)').not.toBeNull();
  });

  const resolved = () => {
    const run = runCompose(envExample);
    expect(run.status, `compose config failed:\n${run.stderr}`).toBe(0);
    return parse(run.stdout) as { services: Record<string, Record<string, unknown>>; volumes?: Record<string, unknown> };
  };

  it('parses with the example env file and has every service, each with a health check and a restart policy', () => {
    const config = resolved();
    expect(Object.keys(config.services).sort()).toEqual([...services].sort());
    for (const name of services) {
      const service = config.services[name]!;
      expect(service.restart, name).toBe('unless-stopped');
      expect((service.healthcheck as { test?: unknown } | undefined)?.test, `${name} has no healthcheck`).toBeTruthy();
    }
  });

  it('builds the supervisor from supervisors/deploy/Dockerfile and points it at the services', () => {
    const supervisor = resolved().services.supervisor!;
    const build = supervisor.build as { context: string; dockerfile: string };
    expect(build.context.replace(/\/$/, '')).toBe(repoRoot.replace(/\/$/, ''));
    expect(build.dockerfile).toBe('supervisors/deploy/Dockerfile');
    const env = supervisor.environment as Record<string, string>;
    const example = Object.fromEntries(readFileSync(envExample, 'utf8').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => l.split('=', 2) as [string, string]));
    expect(env).toMatchObject({ HOST: '0.0.0.0', PORT: '8000', PITBOSS_CONTROL_TOKEN: example.PITBOSS_CONTROL_TOKEN });
    expect(new URL(env.DATABASE_URL!).host).toBe('postgres:5432');
    expect(new URL(env.REDIS_URL!).host).toBe('redis:6379');
    expect(Object.keys(supervisor.depends_on as object).sort()).toEqual(['postgres', 'redis']);
  });

  it('refuses to resolve without the secrets: nothing has a default', () => {
    const empty = join(scratch, 'empty.env');
    writeFileSync(empty, '# no secrets\n');
    const run = runCompose(empty);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/POSTGRES_PASSWORD|GRAFANA_DB_PASSWORD|REDIS_PASSWORD|PITBOSS_CONTROL_TOKEN|GRAFANA_ADMIN_PASSWORD/);
    const file = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    for (const secret of secrets) expect(file, secret).toMatch(new RegExp(`\\$\\{${secret}:\\?`));
    for (const line of readFileSync(envExample, 'utf8').split('\n').filter((l) => secrets.some((s) => l.startsWith(`${s}=`)))) expect(line).toMatch(/=change-me/);
  });

  it('publishes every port on 127.0.0.1 by default, and Prometheus without its lifecycle API', () => {
    const { services: resolvedServices } = resolved();
    for (const name of ['supervisor', 'prometheus', 'grafana']) {
      const ports = (resolvedServices[name]!.ports ?? []) as ({ host_ip?: string } | string)[];
      expect(ports.length, name).toBeGreaterThan(0);
      // Compose v2 resolves to the long syntax (host_ip), Debian's docker-compose to "ip:host:container".
      for (const port of ports) expect(typeof port === 'string' ? port.split(':')[0] : port.host_ip, name).toBe('127.0.0.1');
    }
    for (const name of ['postgres', 'redis']) expect(resolvedServices[name]!.ports, name).toBeUndefined();
    expect(resolvedServices.prometheus!.command).not.toContain('--web.enable-lifecycle');
  });

  it('refuses the .env.example placeholder secrets at start: the supervisor in its config, Grafana in its entrypoint', () => {
    const { services: resolvedServices } = resolved();
    const supervisorEnv = resolvedServices.supervisor!.environment as Record<string, string>;
    let refusal: unknown = null;
    try { loadConfig(supervisorEnv); } catch (error) { refusal = error; }
    expect(refusal).toMatchObject({ code: 'PITBOSS_INVALID_CONFIG' });
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'PITBOSS_CONTROL_TOKEN']) expect((refusal as Error).message).toMatch(new RegExp(`${key}: [^;]*placeholder`));
    expect((refusal as Error).message).not.toContain('change-me-postgres-password');
    const real: Record<string, string> = { ...supervisorEnv, PITBOSS_CONTROL_TOKEN: 'a-generated-token-0123456789' };
    for (const key of ['DATABASE_URL', 'REDIS_URL'] as const) real[key] = real[key]!.replace(/change-me[\w-]*/, 'a-generated-password');
    expect(loadConfig(real).controlToken).toBe('a-generated-token-0123456789');

    // Grafana: run its entrypoint script as the container would ($$ is compose's escaped $).
    const [shell, flag, script, ...args] = resolvedServices.grafana!.entrypoint as string[];
    expect([shell, flag]).toEqual(['/bin/sh', '-c']);
    const grafanaEnv = resolvedServices.grafana!.environment as Record<string, string>;
    const run = (env: Record<string, string>) => spawnSync('/bin/sh', ['-c', script!.replaceAll('$$', '$'), ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
    const placeholder = run(grafanaEnv);
    expect(placeholder.status).toBe(1);
    expect(placeholder.stderr).toMatch(/refusing to start: .*placeholder/);
    const replaced = run({ ...grafanaEnv, GF_SECURITY_ADMIN_PASSWORD: 'generated-1', GRAFANA_DB_PASSWORD: 'generated-2' });
    // Past the check it execs the image's /run.sh, which this machine does not have.
    expect(replaced.stderr).not.toMatch(/refusing/);
    expect(replaced.stderr).toMatch(/run\.sh/);
  });

  it('mounts files that exist', () => {
    for (const service of Object.values(resolved().services)) {
      for (const volume of (service.volumes ?? []) as ({ type?: string; source?: string } | string)[]) {
        const source = typeof volume === 'string' ? volume.split(':')[0]! : volume.source ?? '';
        if (source.startsWith('/')) expect(existsSync(source), source).toBe(true);
      }
    }
  });
});

describe('files the compose services mount', () => {
  it('the Dockerfile builds with npm ci && npm run build and starts the default supervisor from dist', () => {
    const dockerfile = readFileSync(join(repoRoot, 'supervisors/deploy/Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/RUN npm ci\b/);
    expect(dockerfile).toMatch(/RUN npm run build/);
    expect(dockerfile).toContain('CMD ["node", "dist/src/cli.js", "start", "dist/supervisors/main.js"]');
    const build = JSON.parse(readFileSync(join(repoRoot, 'tsconfig.build.json'), 'utf8')) as { compilerOptions: { rootDir: string }; include: string[] };
    expect(build.compilerOptions.rootDir).toBe('.');
    expect(build.include).toEqual(expect.arrayContaining(['src', 'supervisors', 'workers']));
  });

  it('prometheus discovers every supervisor replica by DNS on the HTTP port and passes promtool', () => {
    const file = join(repoRoot, 'supervisors/deploy/prometheus/prometheus.yml');
    const config = parse(readFileSync(file, 'utf8')) as { scrape_configs: { job_name: string; metrics_path: string; dns_sd_configs?: { names: string[]; type: string; port: number }[] }[] };
    const pitboss = config.scrape_configs.find((c) => c.job_name === 'pitboss')!;
    expect(pitboss.metrics_path).toBe('/metrics');
    expect(pitboss.dns_sd_configs).toEqual([expect.objectContaining({ names: ['supervisor'], type: 'A', port: 8000 })]);
    const check = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8', timeout: 30_000 });
    if ((check.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') throw new Error('promtool is not installed: `apt-get install -y prometheus` (Debian; .ci/run does)');
    expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
  });

  it('grafana provisions both datasources and loads dashboards from where compose mounts them', () => {
    const datasources = parse(readFileSync(join(repoRoot, 'supervisors/deploy/grafana/provisioning/datasources/pitboss.yml'), 'utf8')) as { datasources: { uid: string; type: string; url: string }[] };
    expect(datasources.datasources.map((d) => [d.uid, d.type, d.url])).toEqual([
      ['pitboss-prometheus', 'prometheus', 'http://prometheus:9090'],
      ['pitboss-postgres', 'grafana-postgresql-datasource', 'postgres:5432'],
    ]);
    const providers = parse(readFileSync(join(repoRoot, 'supervisors/deploy/grafana/provisioning/dashboards/pitboss.yml'), 'utf8')) as { providers: { options: { path: string } }[] };
    const composeFile = readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8');
    expect(composeFile).toContain(`./supervisors/deploy/grafana/dashboards:${providers.providers[0]!.options.path}:ro`);
    expect(existsSync(join(repoRoot, 'supervisors/deploy/grafana/dashboards/pitboss.json'))).toBe(true);
  });
});
