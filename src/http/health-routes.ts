/**
 * `/healthz` (the process is alive), `/readyz` (this process can take work: 503 while starting or
 * draining, never because of the shared store), `/metrics` (Prometheus).
 */
import type { ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import type { Registry } from 'prom-client';
import type { StoreHealth } from './store-health.ts';

export type Lifecycle = 'starting' | 'ready' | 'draining';

export interface HealthDeps {
  registry: Registry;
  lifecycle: () => Lifecycle;
  storeHealth: StoreHealth;
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function storeWord(up: boolean | null): string {
  if (up === null) return 'unknown';
  return up ? 'up' : 'down';
}

export function healthRoutes(deps: HealthDeps): CustomRoute[] {
  return [
    {
      path: '/healthz',
      method: ['GET', 'HEAD'],
      handler: (_req, res) => send(res, 200, '{"status":"ok"}'),
    },
    {
      path: '/readyz',
      method: ['GET', 'HEAD'],
      handler: (_req, res) => {
        const state = deps.lifecycle();
        // The store's state is a detail for people reading the body; it never fails readiness.
        const body = JSON.stringify({ status: state, store: storeWord(deps.storeHealth.up) });
        send(res, state === 'ready' ? 200 : 503, body);
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: (_req, res) => {
        // A scrape sees the store's health as of now, not as of the last periodic check.
        deps.storeHealth
          .check()
          .then(() => deps.registry.metrics())
          .then(
            (text) => send(res, 200, text, deps.registry.contentType),
            () => send(res, 500, '{"status":"metrics_failed"}'),
          );
      },
    },
  ];
}
