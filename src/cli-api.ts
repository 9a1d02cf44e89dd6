/** A tiny client for a running supervisor's HTTP API (used by the CLI). */
import { PitbossError } from './errors/classes.ts';

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
