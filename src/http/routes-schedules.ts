/**
 * The schedules API: list cron schedules with their next and last run; create, replace and delete
 * them at runtime (token-guarded, like every mutating route). Readers without the token see the
 * schedules without their job payloads (`data`), as `GET /jobs/:id` hides a job's payload.
 */
import type { FastifyInstance } from 'fastify';
import type { ScheduleInput, ScheduleRecord } from '../jobs/schedules/spec.ts';
import { tokenCheck, type RouteGuard } from './auth.ts';
import type { HttpServerOptions } from './options.ts';
import { scheduleBody, scheduleParams } from './schemas.ts';

const HIDDEN_REASON = 'schedule data needs the bearer token (or PITBOSS_PUBLIC_READS=true)';

export function registerScheduleRoutes(app: FastifyInstance, options: HttpServerOptions, guard: RouteGuard): void {
  const { jobs } = options;
  const mayRead = tokenCheck(options);

  app.get('/schedules', async (request) => {
    const schedules = await jobs.schedules.list();
    if (options.publicReads === true || mayRead(request) === null) return { schedules };
    return { schedules: schedules.map((s): ScheduleRecord => ({ ...s, data: null })), hidden: HIDDEN_REASON };
  });

  app.put<{ Params: { name: string }; Body: ScheduleInput }>('/schedules/:name', { schema: { params: scheduleParams, body: scheduleBody }, onRequest: guard }, async (request) => {
    return jobs.schedules.set(request.params.name, request.body);
  });

  app.delete<{ Params: { name: string } }>('/schedules/:name', { schema: { params: scheduleParams }, onRequest: guard }, async (request, reply) => {
    if (!(await jobs.schedules.remove(request.params.name))) return reply.code(404).send({ error: 'not_found', reason: `no schedule ${request.params.name}` });
    return { deleted: request.params.name };
  });
}
