/**
 * Composition root: builds every adapter from the configuration, wires them together and starts
 * Bolt. `main.ts` calls it for the real process; tests, the benchmark and the playground call it
 * in-process with the same code path.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import { createAnswerModel } from './bedrock/bedrock-models.ts';
import { createKnowledgeBaseSearchTool } from './bedrock/kb-search-tool.ts';
import { PriceTable } from './bedrock/model-prices.ts';
import type { Config } from './config.ts';
import { AnswerControls } from './conversation/answer-controls.ts';
import { ChannelSettings } from './conversation/channel-settings.ts';
import { ConversationService } from './conversation/conversation-service.ts';
import type { KnowledgeStore } from './conversation/knowledge-ports.ts';
import type { AnswerModel, ConversationStore, StopSignals, Toolbox } from './conversation/ports.ts';
import { UsageLedger } from './conversation/usage-ledger.ts';
import { healthRoutes, type Lifecycle } from './http/health-routes.ts';
import { StoreHealth } from './http/store-health.ts';
import type { ChannelKnowledge } from './knowledge/channel-knowledge.ts';
import { startKnowledge } from './knowledge/start-knowledge.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { boltLogger } from './slack/bolt-logger.ts';
import { ControlReplies } from './slack/control-replies.ts';
import { HomeTab } from './slack/home-tab.ts';
import { registerListeners } from './slack/listeners/index.ts';
import {
  ignoringMalformedEvents,
  refusingOversizedBodies,
  survivingUnreadableEnvelopes,
} from './slack/receiver-edge.ts';
import { escapeMrkdwn } from './slack/render/slack-safe-text.ts';
import { missingScopes } from './slack/required-scopes.ts';
import { responseUrlPoster } from './slack/response-url.ts';
import { SlackAdmins } from './slack/slack-admins.ts';
import { SlackApi, slackClientOptions } from './slack/slack-api.ts';
import { SlackFiles } from './slack/slack-files.ts';
import { SlackPeople } from './slack/slack-people.ts';
import { SlackSearchTool } from './slack/slack-search-tool.ts';
import { SlackSurface } from './slack/slack-surface.ts';
import {
  BackoffOnlyBudget,
  MemoryWriteBudget,
  RedisWriteBudget,
  type WriteBudget,
} from './slack/write-budget.ts';
import { InstrumentedStore } from './store/instrumented-store.ts';
import { MemoryKnowledgeStore } from './store/memory-knowledge-store.ts';
import { MemoryStore } from './store/memory-store.ts';
import { RedisKnowledgeStore } from './store/redis-knowledge-store.ts';
import { RedisStopSignals } from './store/redis-stop-signals.ts';
import { createRedisClient, RedisStore } from './store/redis-store.ts';
import { MemoryStopSignals } from './store/stop-signals.ts';
import { builtInToolbox } from './tools/built-in-tool.ts';
import { CombinedToolbox } from './tools/combined-toolbox.ts';

/** Largest request body `/slack/events` takes (Slack's payloads are far smaller). */
const BODY_LIMIT_BYTES = 1024 * 1024;

export interface RunningBot {
  /** The port `/slack/events` (HTTP mode) and the health routes listen on. */
  port: number;
  metrics: Metrics;
  store: ConversationStore;
  conversations: ConversationService;
  /** Channel knowledge, when KNOWLEDGE_INDEX is set (tests wait for its learning with `idle()`). */
  knowledge: ChannelKnowledge | null;
  /** Stops taking work, lets answers in flight finish within `timeoutMs`, closes everything. */
  shutdown(timeoutMs?: number): Promise<{ drained: boolean }>;
}

export interface BotOptions {
  logger: Logger;
  /** Replaces the model built from the configuration (tests of the composition, the playground). */
  model?: AnswerModel;
  /** Collects default process metrics; off when several bots share one process. */
  defaultMetrics?: boolean;
}

export async function startBot(config: Config, options: BotOptions): Promise<RunningBot> {
  const { logger } = options;
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics });
  const created = createStore(config, logger, metrics);
  const store = new InstrumentedStore(created.store, metrics.storeLatency);
  const slack = new SlackApi({ token: config.slack.botToken, apiUrl: config.slack.apiUrl, metrics, logger });

  type AuthTest = {
    user_id?: string;
    bot_id?: string;
    team_id?: string;
    response_metadata?: { scopes?: string[] };
  };
  let identity: AuthTest;
  try {
    identity = await slack.call<AuthTest>('auth.test', {});
  } catch (error) {
    await store.close().catch(() => undefined);
    throw new Error(`Slack rejected SLACK_BOT_TOKEN at auth.test (${(error as Error).message}).`, {
      cause: error,
    });
  }
  const missing = missingScopes(identity.response_metadata?.scopes);
  if (missing && missing.length > 0) {
    logger.warn(
      { missingScopes: missing },
      `The bot token lacks scopes that manifest.yml asks for: ${missing.join(', ')}. Reinstall the app to grant them.`,
    );
  }
  const botUserId = identity.user_id ?? null;
  const botId = identity.bot_id ?? null;
  const defaultTeamId = identity.team_id ?? '';

  // With the Knowledge Base as a tool, the model decides when to look: answers are plain ones.
  const answering = config.builtinTools.includes('search_knowledge_base')
    ? withoutKnowledgeBase(config)
    : config;
  const model =
    options.model ??
    (await createAnswerModel(answering, {
      onFeatureRefused: ({ modelId, feature, message }) => {
        metrics.modelFeatureRefusals.inc({ model: modelId, feature });
        logger.warn(
          { model: modelId, feature, bedrockMessage: message },
          'model refused a feature; sending it without from now on',
        );
      },
    }));
  // Channel knowledge (issue 22) is built after the settings; a change of learning reaches it here.
  let knowledgeRef: ChannelKnowledge | null = null;
  const channelSettings = new ChannelSettings({
    onChange: (change) => knowledgeRef?.settingsChanged(change),
    store,
    defaults: {
      enabled: true,
      modelId: config.bedrock.modelId,
      systemPrompt: config.bedrock.systemPrompt,
      knowledgeBaseId: answering.bedrock.knowledgeBaseId,
      kbMode: config.bedrock.kbMode,
      threadReplyPolicy: config.conversation.threadReplyPolicy,
      serviceTier: config.bedrock.serviceTier,
      tools: null,
      learnFromFiles: false,
      learnFromAnswers: false,
    },
    modelChoices: config.bedrock.modelChoices,
    cacheTtlMs: config.settings.cacheTtlMs,
    logger,
  });
  const usage = new UsageLedger({
    store,
    prices: new PriceTable(config.bedrock.prices),
    budgets: {
      userDailyUsd: config.usage.dailyBudgetUserUsd,
      channelDailyUsd: config.usage.dailyBudgetChannelUsd,
    },
    metrics,
    logger,
  });
  const controls = new AnswerControls({ settings: channelSettings, usage, logger });
  const people = new SlackPeople(slack, logger, { botId, distribution: config.slack.appDistribution });
  const postToResponseUrl = responseUrlPoster({ slackApiUrl: config.slack.apiUrl, logger });
  const surface = new SlackSurface({
    slack,
    logger,
    streaming: config.slack.streaming,
    flushIntervalMs: config.slack.flushIntervalMs,
    budget: created.budget,
    self: { botId, userId: botUserId },
    trustedLinkHosts: config.slack.trustedLinkHosts,
    postToResponseUrl,
  });
  const files = new SlackFiles({ botToken: config.slack.botToken, slackApiUrl: config.slack.apiUrl, slack });
  const knowledge = await startKnowledge(config, {
    store: created.knowledge,
    slack,
    files,
    settings: channelSettings,
    usage,
    logger,
  });
  knowledgeRef = knowledge?.knowledge ?? null;
  const tools = await startTools(config, logger, slack, knowledge ? [builtInToolbox(knowledge.tool)] : []);
  const conversations = new ConversationService({
    store,
    model,
    surface,
    ...(tools ? { tools } : {}),
    threadReader: people,
    controls,
    files,
    stops: created.stops,
    ...(knowledge ? { knowledge: knowledge.knowledge } : {}),
    mayStopOthers: (userId) => people.isAdmin(userId),
    logger,
    metrics,
    settings: {
      ...config.conversation,
      systemPrompt: config.bedrock.systemPrompt,
      modelAttempts: config.bedrock.maxAttempts,
      logMessageText: config.log.messageText,
    },
  });

  let lifecycle: Lifecycle = 'starting';
  const storeHealth = new StoreHealth({ ping: () => store.ping(), gauge: metrics.storeUp, logger });
  const customRoutes = healthRoutes({ registry: metrics.registry, lifecycle: () => lifecycle, storeHealth });
  const socketMode = config.slack.appToken !== null;
  const boltReceiver = socketMode
    ? new SocketModeReceiver({
        appToken: config.slack.appToken ?? '',
        logger: boltLogger(logger),
        customRoutes,
        installerOptions: { port: config.port, clientOptions: { slackApiUrl: config.slack.apiUrl } },
      })
    : new HTTPReceiver({
        signingSecret: config.slack.signingSecret ?? '',
        endpoints: '/slack/events',
        customRoutes,
        logger: boltLogger(logger),
        processBeforeResponse: false,
        bodyLimit: BODY_LIMIT_BYTES,
      });
  const ignoreMalformed = () => metrics.messagesIgnored.inc({ reason: 'malformed' });
  if (boltReceiver instanceof HTTPReceiver) refusingOversizedBodies(boltReceiver, BODY_LIMIT_BYTES, logger);
  else survivingUnreadableEnvelopes(boltReceiver.client, logger, ignoreMalformed);
  const receiver = ignoringMalformedEvents(boltReceiver, logger, ignoreMalformed);
  const app = new App({
    receiver,
    token: config.slack.botToken,
    ...(botUserId ? { botUserId } : {}),
    ...(botId ? { botId } : {}),
    tokenVerificationEnabled: false,
    // The question builder turns the bot's own messages away itself (and counts them, reason "self").
    ignoreSelf: false,
    // Bolt's per-event conversation context is unused here (thread state lives in the store).
    convoStore: false,
    clientOptions: slackClientOptions(config.slack.apiUrl),
    logger: boltLogger(logger),
  });
  const admins = new SlackAdmins({
    userIds: config.settings.adminUserIds,
    usergroupId: config.settings.adminUsergroupId,
    slack,
    logger,
  });
  registerListeners(app, {
    conversations,
    homeTab: new HomeTab({
      slack,
      settings: channelSettings,
      usage,
      admins,
      logger,
      metrics,
      ...(knowledge ? { knowledge: knowledge.knowledge } : {}),
    }),
    ...(knowledge ? { knowledge: knowledge.knowledge } : {}),
    controlReplies: new ControlReplies({ settings: channelSettings, usage, postToResponseUrl }),
    replyPrivately: (url, text) =>
      postToResponseUrl(url, { response_type: 'ephemeral', text: escapeMrkdwn(text) }),
    people,
    slack,
    logger,
    metrics,
    identity: (context, body) => ({
      botUserId: context.botUserId ?? botUserId,
      botId: context.botId ?? botId,
      teamId: (body as { team_id?: string }).team_id ?? context.teamId ?? defaultTeamId,
    }),
  });
  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });

  const started = (await app.start(config.port)) as unknown;
  // In Socket Mode the health server is the receiver's own; read its port back too (PORT=0 in tests).
  const server = socketMode
    ? (boltReceiver as unknown as { httpServer?: Server }).httpServer
    : (started as Server);
  const address = server?.address();
  const port = address && typeof address === 'object' ? (address as AddressInfo).port : config.port;
  storeHealth.start();
  lifecycle = 'ready';
  logger.info(
    {
      port,
      mode: socketMode ? 'socket' : 'http',
      store: config.redis ? 'redis' : 'memory',
      model: config.bedrock.modelId,
    },
    'bot started',
  );

  return {
    port,
    metrics,
    store,
    conversations,
    knowledge: knowledge?.knowledge ?? null,
    async shutdown(timeoutMs = config.shutdownTimeoutMs) {
      lifecycle = 'draining';
      conversations.stopAccepting();
      if (socketMode) {
        // Stop receiving first: Slack then sends new envelopes to the other replicas' connections.
        const client = (boltReceiver as SocketModeReceiver).client;
        await Promise.race([client.disconnect(), new Promise((resolve) => setTimeout(resolve, 1_000))]).catch(
          (err: unknown) => logger.warn({ err }, 'error closing the Socket Mode connection'),
        );
      }
      const drained = await conversations.drain(timeoutMs);
      if (!drained)
        logger.warn({ inFlight: conversations.inFlight }, 'shutdown timed out with answers in flight');
      await app.stop().catch((err: unknown) => logger.warn({ err }, 'error stopping Bolt'));
      storeHealth.stop();
      await conversations.close().catch((err: unknown) => logger.warn({ err }, 'error closing stop signals'));
      await knowledge
        ?.close()
        .catch((err: unknown) => logger.warn({ err }, 'error closing channel knowledge'));
      await tools?.toolbox
        .close()
        .catch((err: unknown) => logger.warn({ err }, 'error closing tool servers'));
      // Leases go back before the store's Redis connection closes.
      await created.budget
        .close()
        .catch((err: unknown) => logger.debug({ err }, 'error closing the write budget'));
      await store.close().catch((err: unknown) => logger.warn({ err }, 'error closing the store'));
      logger.info({ drained }, 'bot stopped');
      return { drained };
    },
  };
}

/**
 * The MCP servers named by MCP_CONFIG, connected (a server that is down is retried in the
 * background, so start-up waits at most a few seconds for them); null without MCP_CONFIG.
 */
async function startTools(
  config: Config,
  logger: Logger,
  slack: SlackApi,
  /** Built-in toolboxes made elsewhere (channel knowledge's search). */
  extra: Toolbox[] = [],
): Promise<{
  toolbox: Toolbox;
  timeoutMs: number;
  maxRounds: number;
  approvers: string[];
  approvalTtlMs: number;
} | null> {
  if (!config.mcpConfigPath && config.builtinTools.length === 0 && extra.length === 0) return null;
  // Loaded only when tools are configured: the MCP SDK and the YAML parser hold about 30 MB of a
  // replica's memory that a bot without tools never needs.
  const { loadToolConfig, NO_TOOLS } = await import('./tools/tool-config.ts');
  const toolConfig = config.mcpConfigPath ? loadToolConfig(config.mcpConfigPath, process.env) : NO_TOOLS;
  const boxes: Toolbox[] = [...extra];
  if (config.builtinTools.includes('search_slack')) boxes.push(builtInToolbox(new SlackSearchTool(slack)));
  if (config.builtinTools.includes('search_knowledge_base'))
    boxes.push(builtInToolbox(await createKnowledgeBaseSearchTool(config)));
  if (toolConfig.servers.length > 0) {
    const { McpToolbox } = await import('./tools/mcp-toolbox.ts');
    const mcp = new McpToolbox({ config: toolConfig, logger });
    await Promise.race([mcp.start(), new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    boxes.push(mcp);
  }
  return {
    toolbox: new CombinedToolbox(boxes),
    timeoutMs: toolConfig.toolTimeoutMs,
    maxRounds: toolConfig.maxToolRounds,
    approvers: toolConfig.approvers,
    approvalTtlMs: toolConfig.approvalTtlSeconds * 1000,
  };
}

function withoutKnowledgeBase(config: Config): Config {
  return { ...config, bedrock: { ...config.bedrock, knowledgeBaseId: null } };
}

function createStore(
  config: Config,
  logger: Logger,
  metrics: Metrics,
): { store: ConversationStore; budget: WriteBudget; stops: StopSignals; knowledge: KnowledgeStore } {
  const scale = config.slack.writeBudgetScale;
  const learning = {
    scale,
    ceiling: config.slack.writeBudgetCeiling,
    onAllowance: (method: string, perMinute: number) =>
      metrics.slackWriteAllowance.set({ method }, Math.round(perMinute * 10) / 10),
  };
  if (!config.redis) {
    logger.warn(
      'REDIS_URL is not set: using the in-process store, which serves a single replica only and forgets everything on restart',
    );
    return {
      store: new MemoryStore(),
      budget: scale > 0 ? new MemoryWriteBudget(learning) : new BackoffOnlyBudget(),
      stops: new MemoryStopSignals(),
      knowledge: new MemoryKnowledgeStore(),
    };
  }
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
    store: new RedisStore({ client, keyPrefix: config.redis.keyPrefix, commandTimeoutMs: 2_000, logger }),
    budget,
    stops: new RedisStopSignals({
      client,
      keyPrefix: config.redis.keyPrefix,
      onError: (err) => logger.debug({ err }, 'stop signals: Redis subscription error'),
    }),
    knowledge: new RedisKnowledgeStore({ client, keyPrefix: config.redis.keyPrefix }),
  };
}
