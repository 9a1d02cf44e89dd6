/**
 * Queue control: `POST /queues/:queue/pause` and `POST /queues/:queue/resume` (both need the
 * control token). Each answers 200 with the queue's row as `GET /queues` shows it; pause answers
 * once no job of the queue can start anywhere in the fleet (see JobSystem.pauseQueue).
 */
import type { FastifyInstance } from 'fastify';
import type { JobSystem } from '../jobs/system.ts';
import type { RouteGuard } from './auth.ts';
import { queueParams } from './schemas.ts';

export function registerQueueRoutes(app: FastifyInstance, jobs: JobSystem, guard: RouteGuard): void {
  app.post<{ Params: { queue: string } }>('/queues/:queue/pause', { schema: { params: queueParams }, onRequest: guard }, async (request) => jobs.pauseQueue(request.params.queue));
  app.post<{ Params: { queue: string } }>('/queues/:queue/resume', { schema: { params: queueParams }, onRequest: guard }, async (request) => jobs.resumeQueue(request.params.queue));
}
