/**
 * Composition root: builds every adapter from the configuration, wires them together and starts
 * Bolt. `main.ts` calls it for the real process; tests, the benchmark and the playground call it
 * in-process with the same code path. Each piece has its builder in `wiring/`; adding a piece is
 * adding a builder and one line here.
 */
import type { Config } from './config.ts';
import type { ConversationService } from './conversation/conversation-service.ts';
import type { AnswerModel, ConversationStore } from './conversation/ports.ts';
import type { ChannelKnowledge } from './knowledge/channel-knowledge.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { SlackApi } from './slack/slack-api.ts';
import { buildAnswerControls } from './wiring/answer-controls.ts';
import { buildConversations } from './wiring/conversations.ts';
import { buildHttpRoutes } from './wiring/http-routes.ts';
import { buildKnowledge } from './wiring/knowledge.ts';
import { buildModel } from './wiring/model.ts';
import { shutdownBot } from './wiring/shutdown.ts';
import { buildSlackApp, registerSlackListeners, startSlackApp } from './wiring/slack-app.ts';
import { readSlackIdentity } from './wiring/slack-identity.ts';
import { buildStore } from './wiring/store.ts';
import { buildTools } from './wiring/tools.ts';

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
  const stored = buildStore(config, logger, metrics);
  const slack = new SlackApi({ token: config.slack.botToken, apiUrl: config.slack.apiUrl, metrics, logger });
  const identity = await readSlackIdentity(slack, logger).catch(async (error: unknown) => {
    await stored.store.close().catch(() => undefined);
    throw error;
  });
  const { model, answering } = await buildModel(config, options.model, metrics, logger);
  const controls = buildAnswerControls(config, answering, stored.store, metrics, logger);
  const knowledge = await buildKnowledge(config, { stored, slack, controls, logger });
  const tools = await buildTools(config, logger, slack, knowledge ? [knowledge.toolbox] : []);
  const parts = buildConversations(config, {
    stored,
    model,
    controls: controls.controls,
    tools,
    slack,
    identity,
    logger,
    metrics,
    ...(knowledge ? { knowledge: knowledge.knowledge } : {}),
  });
  const http = buildHttpRoutes(stored.store, metrics, logger);
  const slackApp = buildSlackApp(config, { http, identity, logger, metrics });
  registerSlackListeners(slackApp.app, config, {
    parts,
    controls,
    slack,
    identity,
    logger,
    metrics,
    ...(knowledge ? { knowledge: knowledge.knowledge } : {}),
  });

  const port = await startSlackApp(slackApp, config.port);
  http.storeHealth.start();
  http.setLifecycle('ready');
  logger.info(
    {
      port,
      mode: slackApp.socketMode ? 'socket' : 'http',
      store: config.redis ? 'redis' : 'memory',
      model: config.bedrock.modelId,
    },
    'bot started',
  );
  const { conversations } = parts;
  return {
    port,
    metrics,
    store: stored.store,
    conversations,
    knowledge: knowledge?.knowledge ?? null,
    shutdown: (timeoutMs = config.shutdownTimeoutMs) =>
      shutdownBot({ http, slackApp, conversations, tools, stored, logger, knowledge }, timeoutMs),
  };
}
