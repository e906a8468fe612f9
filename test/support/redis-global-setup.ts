/**
 * vitest globalSetup: finds or starts a real Redis and hands its URL to tests (`inject('redisUrl')`).
 * Order: $REDIS_URL, then a server on 127.0.0.1:6379, then a throwaway redis-server from the PATH.
 * Without any of them the run fails: Redis tests are never skipped silently.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { answersPing, type RedisServerProcess, startRedisServer } from './redis-server-process.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

const execFileAsync = promisify(execFile);
const localRedisUrl = 'redis://127.0.0.1:6379';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let ownServer: RedisServerProcess | null = null;
  let url: string;
  const envUrl = process.env.REDIS_URL;
  if (envUrl !== undefined && envUrl !== '') {
    await assertAnswers(envUrl);
    url = envUrl;
  } else if (await answersPing('127.0.0.1', 6379, 500)) {
    url = localRedisUrl;
  } else if (await isRedisServerInstalled()) {
    ownServer = await startRedisServer();
    url = ownServer.url;
  } else {
    throw new Error(
      'No Redis for the tests: set REDIS_URL, start redis-server on 127.0.0.1:6379, or install it (apt-get install redis-server).',
    );
  }
  project.provide('redisUrl', url);
  return async () => {
    await ownServer?.stop();
  };
}

/** Fails the run when $REDIS_URL does not answer, rather than failing every Redis test one by one. */
async function assertAnswers(url: string): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 2_000, retryStrategy: () => null });
  // The connection error (e.g. ECONNREFUSED) says more than the "Connection is closed." that follows it.
  let connectionError: Error | undefined;
  client.on('error', (error: Error) => {
    connectionError = error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    // The URL may hold a password: name the variable, not its value.
    const cause = connectionError ?? error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`REDIS_URL is set but Redis does not answer there: ${reason}`);
  } finally {
    client.disconnect();
  }
}

async function isRedisServerInstalled(): Promise<boolean> {
  try {
    await execFileAsync('redis-server', ['--version']);
    return true;
  } catch {
    return false;
  }
}
