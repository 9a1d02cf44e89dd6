/**
 * A tiny client for a running supervisor's HTTP API, and the helpers every client command of the CLI
 * shares (the `--url`/`--token` options, the client they configure, JSON output).
 */
import type { Command } from 'commander';
import { loadConfig } from './config.ts';
import { PitbossError } from './errors/classes.ts';

/** Options every client command takes. */
export interface ApiOptions {
  readonly url?: string;
  readonly token?: string;
}

/** The client for a command's `--url`/`--token`, defaulting to the environment's HOST, PORT and control token. */
export function api(options: ApiOptions): ApiClient {
  const config = loadConfig();
  return new ApiClient(options.url ?? `http://${config.host}:${config.port}`, options.token ?? config.controlToken);
}

/** Adds `--url` and `--token` to a client command. */
export function withApi(command: Command): Command {
  return command
    .option('--url <url>', 'supervisor HTTP address (default http://$HOST:$PORT)')
    .option('--token <token>', 'control token (default $PITBOSS_CONTROL_TOKEN)');
}

/** Prints an answer as indented JSON on stdout. */
export function print(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export class ApiClient {
  readonly #base: string;
  readonly #token: string | null;

  constructor(base: string, token: string | null) {
    this.#base = base.replace(/\/$/, '');
    this.#token = token;
  }

  get(path: string, acceptAnyStatus = false): Promise<unknown> {
    return this.#request('GET', path, undefined, acceptAnyStatus);
  }

  post(path: string, body: unknown): Promise<unknown> {
    return this.#request('POST', path, body, false);
  }

  put(path: string, body: unknown): Promise<unknown> {
    return this.#request('PUT', path, body, false);
  }

  delete(path: string): Promise<unknown> {
    return this.#request('DELETE', path, undefined, false);
  }

  async #request(method: string, path: string, body: unknown, acceptAnyStatus: boolean): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.#token !== null) headers.authorization = `Bearer ${this.#token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.#base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (error) {
      throw new PitbossError('PITBOSS_INVALID_CONFIG', `cannot reach ${this.#base} (${(error as Error).message}); is a supervisor running? set --url`);
    }
    const text = await response.text();
    const parsed: unknown = text === '' ? null : JSON.parse(text);
    if (!response.ok && !acceptAnyStatus) {
      const reason = (parsed as { reason?: string } | null)?.reason ?? response.statusText;
      throw new Error(`${method} ${path} → ${response.status}: ${reason}`);
    }
    return parsed;
  }
}
