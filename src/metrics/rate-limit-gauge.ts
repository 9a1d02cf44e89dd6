/**
 * `pitboss.queue.rate_limit`: the rate limit each queue is consumed under here, as the job starts per
 * second it allows (`max / perMs`), so a dashboard can draw a queue's start rate against its ceiling.
 * An observable gauge read from the deployment's configuration: nothing to fold, nothing to query.
 */
import type { Attributes, Meter } from '@opentelemetry/api';
import type { RateLimit } from '../jobs/types.ts';

export const rateLimitGaugeName = 'pitboss.queue.rate_limit';

export function registerRateLimitGauge(meter: Meter, rateLimits: () => Readonly<Record<string, RateLimit>>): void {
  const gauge = meter.createObservableGauge(rateLimitGaugeName, {
    description: 'Job starts per second a queue\'s rate limit allows (max / perMs), per rate-limited queue this supervisor consumes.', unit: '{job}/s',
  });
  // One attribute object per queue for the life of the process (STYLE §6).
  const attributes = new Map<string, Attributes>();
  gauge.addCallback((result) => {
    for (const [queue, limit] of Object.entries(rateLimits())) {
      let attrs = attributes.get(queue);
      if (attrs === undefined) attributes.set(queue, (attrs = Object.freeze({ queue })));
      result.observe((limit.max * 1000) / limit.perMs, attrs);
    }
  });
}
