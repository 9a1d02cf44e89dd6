/** The control API: telemetry rules and log levels, read by anyone, changed with the token. */
import type { FastifyInstance } from 'fastify';
import type { RouteGuard } from './auth.ts';
import type { LogLevelsChange } from '../log/levels.ts';
import type { ControlRuleInput } from '../telemetry/control.ts';
import { logLevelsBody, telemetryRulesBody } from './schemas.ts';
import type { HttpServerOptions } from './options.ts';

export function registerControlRoutes(app: FastifyInstance, options: HttpServerOptions, guard: RouteGuard): void {
  const { control } = options;
  app.get('/control/telemetry', { onRequest: guard }, async () => control.telemetry());
  app.put<{ Body: { rules: ControlRuleInput[] } }>('/control/telemetry', { schema: { body: telemetryRulesBody }, onRequest: guard }, async (request) =>
    control.setTelemetryRules(request.body.rules));
  app.get('/control/log-levels', { onRequest: guard }, async () => control.logLevels());
  app.put<{ Body: LogLevelsChange }>('/control/log-levels', { schema: { body: logLevelsBody }, onRequest: guard }, async (request) =>
    control.setLogLevels(request.body));
}
