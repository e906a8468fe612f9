/**
 * The store and what lives beside it: Redis (shared by every replica) when `REDIS_URL` is set,
 * else the in-process twins. The Slack write budget and the stop signals share the store's Redis
 * connection, so they are built here too.
 */
import type { Config } from '../config.ts';
import type { KnowledgeStore } from '../conversation/knowledge-ports.ts';
import type { ConversationStore, StopSignals } from '../conversation/ports.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import {
  BackoffOnlyBudget,
  MemoryWriteBudget,
  RedisWriteBudget,
  type WriteBudget,
} from '../slack/write-budget/index.ts';
import {
  type InstallationRecords,
  MemoryInstallationRecords,
  RedisInstallationRecords,
  timedInstallationRecords,
} from '../store/installation-records.ts';
import { InstrumentedStore } from '../store/instrumented-store.ts';
import { MemoryKnowledgeStore } from '../store/memory-knowledge-store.ts';
import { MemoryStore } from '../store/memory-store.ts';
import { createRedisClient } from '../store/redis-client.ts';
import { RedisKnowledgeStore } from '../store/redis-knowledge-store.ts';
import { RedisStopSignals } from '../store/redis-stop-signals.ts';
import { RedisStore } from '../store/redis-store.ts';
import { MemoryStopSignals } from '../store/stop-signals.ts';
import {
  PerWorkspaceMemoryStores,
  RedisWorkspacePurge,
  type WorkspacePurge,
} from '../store/workspace-purge.ts';

export interface StoreParts {
  /** The conversation store, timed into the store latency histogram. */
  store: ConversationStore;
  budget: WriteBudget;
  stops: StopSignals;
  /** Installations by OAuth, sealed (timed into the same histogram). */
  installationRecords: InstallationRecords;
  /** People's own tool-server tokens (MCP servers with `auth: user`). */
  personalTokenRecords: InstallationRecords;
  /** Deletes a workspace's keys when it uninstalls. */
  purge: WorkspacePurge;
  /** Channel knowledge's catalogue and vectors (used when KNOWLEDGE_INDEX is set). */
  knowledge: KnowledgeStore;
}

/**
 * `workspaceKey` (installation by OAuth): the workspace part of every key, read per call, so each
 * workspace's keys sit under one prefix; null keeps single-workspace keys as they always were.
 */
export function buildStore(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  workspaceKey: (() => string) | null = null,
): StoreParts {
  const created = createStore(config, logger, metrics, workspaceKey);
  return {
    ...created,
    store: new InstrumentedStore(created.store, metrics.storeLatency),
    installationRecords: timedInstallationRecords(created.installationRecords, metrics.storeLatency),
  };
}

function createStore(
  config: Config,
  logger: Logger,
  metrics: Metrics,
  workspaceKey: (() => string) | null,
): StoreParts {
  const scale = config.slack.writeBudgetScale;
  const learning = {
    scale,
    ceiling: config.slack.writeBudgetCeiling,
    onAllowance: (method: string, perMinute: number) =>
      metrics.slackWriteAllowance.set({ method }, Math.round(perMinute * 10) / 10),
  };
  if (!config.redis) return createMemoryStore(logger, workspaceKey, scale > 0 ? learning : null);
  const client = createRedisClient({
    url: config.redis.url,
    cluster: config.redis.cluster,
    commandTimeoutMs: 2_000,
    connectTimeoutMs: 5_000,
    logger,
  });
  const budget =
    scale > 0
      ? new RedisWriteBudget({
          client,
          keyPrefix: config.redis.keyPrefix,
          ...learning,
          onError: (err) => logger.debug({ err }, 'shared Slack write budget unavailable; writing anyway'),
        })
      : new BackoffOnlyBudget();
  return {
    store: new RedisStore({
      client,
      keyPrefix: config.redis.keyPrefix,
      commandTimeoutMs: 2_000,
      logger,
      ...(workspaceKey ? { workspaceKey } : {}),
    }),
    ...redisSecretRecords(client, config.redis.keyPrefix),
    budget,
    stops: new RedisStopSignals({
      client,
      keyPrefix: config.redis.keyPrefix,
      onError: (err) => logger.debug({ err }, 'stop signals: Redis subscription error'),
    }),
    knowledge: new RedisKnowledgeStore({ client, keyPrefix: config.redis.keyPrefix }),
  };
}

/** The in-process store: one replica only (said at start); `learning` null: Slack's 429s alone pace writes. */
function createMemoryStore(
  logger: Logger,
  workspaceKey: (() => string) | null,
  learning: ConstructorParameters<typeof MemoryWriteBudget>[0] | null,
): StoreParts {
  logger.warn(
    'REDIS_URL is not set: using the in-process store, which serves a single replica only and forgets everything on restart',
  );
  const perWorkspace = workspaceKey ? new PerWorkspaceMemoryStores(workspaceKey) : null;
  return {
    store: perWorkspace?.store ?? new MemoryStore(),
    budget: learning ? new MemoryWriteBudget(learning) : new BackoffOnlyBudget(),
    stops: new MemoryStopSignals(),
    installationRecords: new MemoryInstallationRecords(),
    personalTokenRecords: new MemoryInstallationRecords(),
    purge: perWorkspace ?? { purge: async () => 0 },
    knowledge: new MemoryKnowledgeStore(),
  };
}

function redisSecretRecords(client: ReturnType<typeof createRedisClient>, keyPrefix: string) {
  return {
    installationRecords: new RedisInstallationRecords({ client, keyPrefix }),
    personalTokenRecords: new RedisInstallationRecords({ client, keyPrefix, namespace: 'mcp' }),
    purge: new RedisWorkspacePurge({ client, keyPrefix }),
  };
}
