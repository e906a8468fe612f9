/** `/healthz` (process alive), `/readyz` (store reachable, not shutting down), `/metrics` (Prometheus). */
import type { ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import type { Registry } from 'prom-client';

export interface HealthDeps {
  /** Resolves when the store answers. */
  ping: () => Promise<void>;
  registry: Registry;
  shuttingDown: () => boolean;
  readyTimeoutMs?: number;
}

function send(res: ServerResponse, status: number, body: string, type = 'application/json'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export function healthRoutes(deps: HealthDeps): CustomRoute[] {
  const timeoutMs = deps.readyTimeoutMs ?? 1_000;
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
        if (deps.shuttingDown()) return send(res, 503, '{"status":"shutting_down"}');
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('store ping timed out')), timeoutMs);
        });
        Promise.race([deps.ping(), timeout])
          .then(
            () => send(res, 200, '{"status":"ready"}'),
            () => send(res, 503, '{"status":"store_unreachable"}'),
          )
          .finally(() => clearTimeout(timer));
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: (_req, res) => {
        deps.registry.metrics().then(
          (text) => send(res, 200, text, deps.registry.contentType),
          () => send(res, 500, '{"status":"metrics_failed"}'),
        );
      },
    },
  ];
}
