/**
 * Configuration from the environment, validated at startup: a bad value fails fast with the
 * offending key. Missing `DATABASE_URL` means the embedded PGlite store; missing `REDIS_URL` means
 * in-process dispatch.
 */
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { PitbossError } from './errors.ts';
import { logLevelNames, type LogLevel } from './log/levels.ts';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

const envSchema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  PORT: port.default(8000),
  HOST: z.string().min(1).default('127.0.0.1'),
  PITBOSS_CONTROL_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  PITBOSS_ALLOW_LOCAL_CONTROL: bool.default(false),
  PITBOSS_DATA_DIR: z.string().min(1).default('.data/pglite'),
  PITBOSS_SUPERVISOR_ID: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1-64 of [A-Za-z0-9_.:-]').optional(),
  PITBOSS_THREADS: positiveInt.max(256).optional(),
  PITBOSS_SHUTDOWN_TIMEOUT_MS: positiveInt.default(10_000),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  LOG_LEVEL: z.enum(logLevelNames).default('info'),
});

/** The validated configuration of a supervisor process. */
export interface PitbossConfig {
  readonly databaseUrl: string | null;
  readonly redisUrl: string | null;
  readonly port: number;
  readonly host: string;
  readonly controlToken: string | null;
  readonly allowLocalControl: boolean;
  readonly dataDir: string;
  readonly supervisorId: string | null;
  readonly threads: number;
  readonly shutdownTimeoutMs: number;
  readonly otlpEndpoint: string | null;
  readonly logLevel: LogLevel;
}

/** Parses `env` (default `process.env`); throws `PITBOSS_INVALID_CONFIG` naming every bad key. */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): PitbossConfig {
  // Empty strings mean "unset", as shells and compose files often pass them.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new PitbossError('PITBOSS_INVALID_CONFIG', `invalid configuration — ${problems.join('; ')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL ?? null,
    redisUrl: e.REDIS_URL ?? null,
    port: e.PORT,
    host: e.HOST,
    controlToken: e.PITBOSS_CONTROL_TOKEN ?? null,
    allowLocalControl: e.PITBOSS_ALLOW_LOCAL_CONTROL,
    dataDir: e.PITBOSS_DATA_DIR,
    supervisorId: e.PITBOSS_SUPERVISOR_ID ?? null,
    threads: e.PITBOSS_THREADS ?? Math.max(1, availableParallelism()),
    shutdownTimeoutMs: e.PITBOSS_SHUTDOWN_TIMEOUT_MS,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT ?? null,
    logLevel: e.LOG_LEVEL,
  };
}
