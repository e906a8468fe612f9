/**
 * The routes beside `/slack/events`: `/healthz`, `/readyz` (follows the bot's lifecycle) and
 * `/metrics`, with the Redis health watch they report.
 */
import type { ConversationStore } from '../conversation/ports.ts';
import { healthRoutes, type Lifecycle } from '../http/health-routes.ts';
import { StoreHealth } from '../http/store-health.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';

export interface HttpRoutes {
  /** Bolt's `customRoutes`, served by the HTTP receiver, or by the Socket Mode receiver's own server. */
  customRoutes: ReturnType<typeof healthRoutes>;
  storeHealth: StoreHealth;
  /** Moves `/readyz` along: 503 while starting or draining, 200 when ready. */
  setLifecycle(next: Lifecycle): void;
}

export function buildHttpRoutes(store: ConversationStore, metrics: Metrics, logger: Logger): HttpRoutes {
  let lifecycle: Lifecycle = 'starting';
  const storeHealth = new StoreHealth({ ping: () => store.ping(), gauge: metrics.storeUp, logger });
  const customRoutes = healthRoutes({ registry: metrics.registry, lifecycle: () => lifecycle, storeHealth });
  return {
    customRoutes,
    storeHealth,
    setLifecycle(next) {
      lifecycle = next;
    },
  };
}
