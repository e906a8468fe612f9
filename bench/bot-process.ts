/**
 * Child process: the real bot, started exactly as `npm start` starts it (environment → loadConfig →
 * createLogger → startBot, JSON logs on stdout), with the probe attached so that event-loop lag,
 * RSS and CPU are the bot's alone. Store calls are counted per operation by wrapping the two store
 * adapters' methods here (nothing in src/ changes), and Redis round trips as ioredis sends them.
 * BENCH_TRACE=1 adds per-question step timestamps.
 */
import { startBot } from '../src/bot.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { MemoryStore } from '../src/store/memory-store.ts';
import { RedisStore } from '../src/store/redis-store.ts';
import { countRedisCommands, countStoreCalls, recordBoltReceipts, traceSteps } from './instrument.ts';
import { installProbe } from './probe.ts';

const receipts = recordBoltReceipts();
const trace = process.env.BENCH_TRACE === '1' ? traceSteps() : null;
const storeCalls = countStoreCalls([MemoryStore, RedisStore], trace?.onStoreCall);
const redisCommands = process.env.REDIS_KEY_PREFIX ? countRedisCommands(process.env.REDIS_KEY_PREFIX) : null;

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
      receipts.reset();
      trace?.reset();
      storeCalls.reset();
      redisCommands?.reset();
      bot.metrics.slackRateLimited.reset();
      bot.metrics.slackCalls.reset();
      bot.metrics.answers.reset();
    },
    async read() {
      return {
        receipts: receipts.read(),
        storeCalls: storeCalls.read(),
        ...(redisCommands ? { redisCommands: redisCommands.read() } : {}),
        slackRateLimited: await counterValues(bot.metrics.slackRateLimited),
        slackCalls: await counterValues(bot.metrics.slackCalls),
        answers: await counterValues(bot.metrics.answers),
        ...(trace ? { trace: trace.read() } : {}),
      };
    },
  },
  shutdown: async () => {
    await bot.shutdown(2_000);
    logger.flush();
  },
});
probe.ready({ port: bot.port });
