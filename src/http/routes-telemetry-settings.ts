/** The telemetry settings API (`/control/telemetry`, `/control/log-levels`): rules and log levels, behind the token. */
import type { FastifyInstance } from 'fastify';
import type { RouteGuard } from './auth.ts';
import type { FleetSettingsSync } from '../fleet/settings-sync.ts';
import type { LogLevelsChange } from '../log/levels.ts';
import type { ControlRuleInput } from '../telemetry/rules.ts';
import { logLevelsBody, telemetryRulesBody } from './schemas.ts';

export function registerTelemetrySettingsRoutes(app: FastifyInstance, settings: FleetSettingsSync, guard: RouteGuard): void {
  app.get('/control/telemetry', { onRequest: guard }, async () => settings.telemetry());
  app.put<{ Body: { rules: ControlRuleInput[] } }>('/control/telemetry', { schema: { body: telemetryRulesBody }, onRequest: guard }, async (request) =>
    settings.setTelemetryRules(request.body.rules));
  app.get('/control/log-levels', { onRequest: guard }, async () => settings.logLevels());
  app.put<{ Body: LogLevelsChange }>('/control/log-levels', { schema: { body: logLevelsBody }, onRequest: guard }, async (request) =>
    settings.setLogLevels(request.body));
}
