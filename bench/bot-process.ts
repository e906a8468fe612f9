/**
 * Child process: the real bot, started exactly as `npm start` starts it (environment → loadConfig →
 * createLogger → startBot, JSON logs on stdout), with the probe attached so that event-loop lag,
 * RSS and CPU are the bot's alone. Store calls are counted per operation by wrapping the two store
 * adapters' methods here (nothing in src/ changes); round trips are also counted at the Redis server
 * by the benchmark when it runs one.
 */
import { startBot } from '../src/bot.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { MemoryStore } from '../src/store/memory-store.ts';
import { RedisStore } from '../src/store/redis-store.ts';
import { installProbe } from './probe.ts';

/** The store port's methods: the ones both adapters have, except connection housekeeping. */
const storeOperations = Object.getOwnPropertyNames(MemoryStore.prototype).filter(
  (name) =>
    !['constructor', 'ping', 'close'].includes(name) &&
    Object.getOwnPropertyNames(RedisStore.prototype).includes(name),
);

const storeCalls = new Map<string, number>();
for (const adapter of [MemoryStore, RedisStore]) {
  const prototype = adapter.prototype as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const operation of storeOperations) {
    const original = prototype[operation];
    if (typeof original !== 'function') continue;
    prototype[operation] = function (this: unknown, ...args: unknown[]) {
      storeCalls.set(operation, (storeCalls.get(operation) ?? 0) + 1);
      return original.apply(this, args);
    };
  }
}

const config = loadConfig(process.env);
const logger = createLogger({ level: config.log.level });
process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));

const bot = await startBot(config, { logger });

async function counterValues(counter: {
  get(): Promise<{ values: Array<{ value: number; labels: Record<string, string | number> }> }>;
}) {
  const { values } = await counter.get();
  return values.map((entry) => ({ labels: entry.labels, value: entry.value }));
}

const probe = installProbe({
  extra: {
    reset() {
      storeCalls.clear();
      bot.metrics.slackRateLimited.reset();
      bot.metrics.slackCalls.reset();
      bot.metrics.answers.reset();
    },
    async read() {
      return {
        storeCalls: Object.fromEntries(storeCalls),
        slackRateLimited: await counterValues(bot.metrics.slackRateLimited),
        slackCalls: await counterValues(bot.metrics.slackCalls),
        answers: await counterValues(bot.metrics.answers),
      };
    },
  },
  shutdown: async () => {
    await bot.shutdown(2_000);
    logger.flush();
  },
});
probe.ready({ port: bot.port });
