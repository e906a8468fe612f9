/**
 * The Redis connection the store and the stop signals share: standalone or Cluster, plain or TLS,
 * with every failure bounded (no offline queue, a timeout on each command, reconnecting forever
 * with capped, jittered backoff) and an outage logged once.
 */
import type { DNSLookupFunction } from 'ioredis';
import { Cluster, Redis } from 'ioredis';

/** The slice of a pino-style logger the store uses. */
export interface StoreLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface RedisClientOptions {
  /** `redis://` or `rediss://` (TLS), with optional `user:password@` and, standalone only, `/db`. */
  url: string;
  /** True: `url` is one node of a Redis Cluster; the other nodes are discovered. */
  cluster: boolean;
  /** A command without a reply after this long fails. */
  commandTimeoutMs: number;
  /** A connection attempt that has not completed after this long is abandoned (and retried). */
  connectTimeoutMs: number;
  /** Told when the connection is lost (once per outage) and when it is back. */
  logger?: StoreLogger;
}

const maxReconnectDelayMs = 2_000;

/**
 * A Redis or Cluster client whose failures are bounded: commands fail fast while disconnected
 * (no offline queue), each command times out, and it reconnects on its own forever with capped backoff.
 */
export function createRedisClient(options: RedisClientOptions): Redis | Cluster {
  const target = parseRedisUrl(options.url);
  const retryStrategy = (attempt: number): number =>
    // Exponential up to a cap, with jitter so that replicas do not reconnect in lockstep.
    Math.min(50 * 2 ** Math.min(attempt, 10), maxReconnectDelayMs) + Math.floor(Math.random() * 100);
  const connectionOptions = {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    maxRetriesPerRequest: 1,
  };

  const client: Redis | Cluster = options.cluster
    ? new Cluster([{ host: target.host, port: target.port }], {
        enableOfflineQueue: false,
        // Commands issued in the same tick share one write (many answers at once, fewer syscalls).
        enableAutoPipelining: true,
        clusterRetryStrategy: retryStrategy,
        redisOptions: connectionOptions,
        // With TLS the certificate names the host, so it must not be replaced by its IP address.
        dnsLookup: target.tls ? keepHostname : undefined,
      })
    : new Redis({
        host: target.host,
        port: target.port,
        db: target.db,
        ...connectionOptions,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        retryStrategy,
      });

  // Without an 'error' listener a refused connection would be an unhandled 'error' event and crash.
  let outage = false;
  client.on('error', (error: Error) => {
    if (outage) return;
    outage = true;
    options.logger?.warn({ err: { name: error.name, message: error.message } }, 'Redis is unreachable');
  });
  client.on('ready', () => {
    if (!outage) return;
    outage = false;
    options.logger?.info({}, 'Redis connection restored');
  });
  return client;
}

const keepHostname: DNSLookupFunction = (hostname, callback) => callback(null, hostname);

interface RedisTarget {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number | undefined;
  tls: boolean;
}

/** Parses a redis:// or rediss:// URL. Errors never repeat the URL: it may hold a password. */
export function parseRedisUrl(url: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('REDIS_URL is not a valid URL (expected redis://host:port or rediss://host:port)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') throw new Error('REDIS_URL has no host');
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && !Number.isInteger(db)) {
    throw new Error('REDIS_URL path must be a database number, e.g. redis://host:6379/0');
  }
  return {
    // URL keeps the brackets of an IPv6 host; the socket wants the bare address.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    db,
    tls: parsed.protocol === 'rediss:',
  };
}
