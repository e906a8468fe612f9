/**
 * Measuring hooks installed in the bot's and the baseline's processes by wrapping library and
 * adapter prototypes (src/ is not changed; behaviour is not either). Times are epoch milliseconds
 * (`performance.timeOrigin + performance.now()`), the clock every process of the benchmark shares.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { App } from '@slack/bolt';
import { Redis } from 'ioredis';

type Method = (...args: unknown[]) => unknown;
type Prototype = Record<string, Method>;

const now = () => performance.timeOrigin + performance.now();

/**
 * When Bolt got each event, by the message ts in it (`App.processEvent` runs as soon as the
 * receiver has read and verified the request): splits "event sent → first text" into the Slack
 * stand-in's delivery and the app's own part.
 */
export function recordBoltReceipts(): { reset(): void; read(): Record<string, number> } {
  const receipts = new Map<string, number>();
  const app = App.prototype as unknown as Prototype;
  const processEvent = app.processEvent as Method;
  app.processEvent = function (this: unknown, ...args: unknown[]) {
    const ts = (args[0] as { body?: { event?: { ts?: unknown } } }).body?.event?.ts;
    if (typeof ts === 'string' && !receipts.has(ts)) receipts.set(ts, now());
    return processEvent.apply(this, args);
  };
  return {
    reset: () => receipts.clear(),
    read: () => Object.fromEntries(receipts),
  };
}

/** Redis commands by name, on the conversation store's keys and on the shared write budget's. */
export interface RedisCommandCounts {
  store: Record<string, number>;
  budget: Record<string, number>;
}

/**
 * Counts round trips as the client sends them (commands a Lua script runs inside Redis are not
 * sent, so not counted; a pipelined command counts as one): every command ioredis writes, on the
 * keys under `keyPrefix`. Counted in the bot's process: watching from outside (MONITOR) would slow
 * Redis and take CPU from the process being measured.
 */
export function countRedisCommands(keyPrefix: string): { reset(): void; read(): RedisCommandCounts } {
  const counts: RedisCommandCounts = { store: {}, budget: {} };
  // A command can pass through sendCommand more than once (offline queue, cluster redirects).
  let seen = new WeakSet<object>();
  const redis = Redis.prototype as unknown as Prototype;
  const sendCommand = redis.sendCommand as Method;
  redis.sendCommand = function (this: unknown, ...args: unknown[]) {
    const command = args[0] as { name?: string; args?: unknown[] } | undefined;
    if (command && !seen.has(command)) {
      seen.add(command);
      const keys = (command.args ?? []).filter(
        (arg): arg is string => typeof arg === 'string' && arg.startsWith(keyPrefix),
      );
      if (keys.length > 0) {
        const bucket = keys.some((key) => key.includes('{budget:')) ? counts.budget : counts.store;
        const name = String(command.name).toLowerCase();
        bucket[name] = (bucket[name] ?? 0) + 1;
      }
    }
    return sendCommand.apply(this, args);
  };
  return {
    reset() {
      counts.store = {};
      counts.budget = {};
      seen = new WeakSet();
    },
    read: () => ({ store: { ...counts.store }, budget: { ...counts.budget } }),
  };
}

/** Counts calls to the store port's methods, on both adapters (every store the bot can build). */
export function countStoreCalls(
  adapters: Array<{ prototype: object }>,
  onCall?: (operation: string, args: unknown[], result: unknown) => void,
): { reset(): void; read(): Record<string, number> } {
  const prototypes = adapters.map((adapter) => adapter.prototype as Prototype);
  const [first, ...others] = prototypes;
  // The port's methods: those every adapter has, except connection housekeeping.
  const operations = Object.getOwnPropertyNames(first ?? {}).filter(
    (name) =>
      !['constructor', 'ping', 'connected', 'close'].includes(name) &&
      others.every((prototype) => Object.getOwnPropertyNames(prototype).includes(name)),
  );
  const calls = new Map<string, number>();
  for (const prototype of prototypes) {
    for (const operation of operations) {
      const original = prototype[operation];
      if (typeof original !== 'function') continue;
      prototype[operation] = function (this: unknown, ...args: unknown[]) {
        calls.set(operation, (calls.get(operation) ?? 0) + 1);
        const result = original.apply(this, args);
        onCall?.(operation, args, result);
        return result;
      };
    }
  }
  return {
    reset: () => calls.clear(),
    read: () => Object.fromEntries(calls),
  };
}

/**
 * BENCH_TRACE=1: per question, when each step started and ended (store calls by the message or
 * thread ts in their key, the ConverseStream call by the question id in its text).
 */
export function traceSteps(): {
  onStoreCall(operation: string, args: unknown[], result: unknown): void;
  reset(): void;
  read(): Record<string, Record<string, number>>;
} {
  const trace = new Map<string, Record<string, number>>();
  const stamp = (key: string | undefined, step: string) => {
    if (!key) return;
    const entry = trace.get(key) ?? {};
    entry[step] ??= now();
    trace.set(key, entry);
  };
  const client = BedrockRuntimeClient.prototype as unknown as Prototype;
  const send = client.send as Method;
  client.send = function (this: unknown, ...args: unknown[]) {
    const input = (args[0] as { input?: { messages?: Array<{ content?: Array<{ text?: string }> }> } }).input;
    const text = (input?.messages?.at(-1)?.content ?? []).map((block) => block.text ?? '').join(' ');
    const id = /Q\[([A-Za-z0-9_-]+)\]/.exec(text)?.[1];
    if (id) stamp(`id:${id}`, 'model_send');
    return send.apply(this, args);
  };
  return {
    onStoreCall(operation, args, result) {
      // Claim keys end with the message ts, thread ids with the thread ts.
      const key = /(\d+\.\d+)$/.exec(String(args[0]))?.[1];
      stamp(key, `${operation}_start`);
      if (result instanceof Promise)
        result.finally(() => stamp(key, `${operation}_end`)).catch(() => undefined);
    },
    reset: () => trace.clear(),
    read: () => Object.fromEntries(trace),
  };
}
