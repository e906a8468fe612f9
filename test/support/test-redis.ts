/** The test Redis (found or started by the global setup), shared by test files under their own key prefixes. */
import { randomUUID } from 'node:crypto';
import { inject, onTestFinished } from 'vitest';
import { deleteRedisKeysWithPrefix } from './redis-server-process.ts';

/**
 * The bot's configuration for the test Redis under a key prefix for the calling test alone; the
 * keys are deleted when the test has finished (after its `afterEach` hooks stopped the bots).
 */
export function testRedisEnv(label: string): { REDIS_URL: string; REDIS_KEY_PREFIX: string } {
  const url = inject('redisUrl');
  const prefix = `test:${label}:${randomUUID()}:`;
  onTestFinished(() => deleteRedisKeysWithPrefix(url, prefix));
  return { REDIS_URL: url, REDIS_KEY_PREFIX: prefix };
}
