/**
 * Composition root: builds every adapter from the configuration, wires them together and starts
 * Bolt. `main.ts` calls it for the real process; tests, the benchmark and the playground call it
 * in-process with the same code path. Each piece has its builder in `wiring/`; adding a piece is
 * adding a builder and one line here.
 */
import type { Config } from './config.ts';
import type { ConversationService } from './conversation/conversation-service.ts';
import type { AnswerModel, ConversationStore } from './conversation/ports.ts';
import type { Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { buildAnswerControls } from './wiring/answer-controls.ts';
import { buildConversations } from './wiring/conversations.ts';
import { buildHttpRoutes } from './wiring/http-routes.ts';
import { buildSlackAccess } from './wiring/installations.ts';
import { buildModel } from './wiring/model.ts';
import { shutdownBot } from './wiring/shutdown.ts';
import { buildSlackApp, registerSlackListeners, startSlackApp } from './wiring/slack-app.ts';
import { buildTools } from './wiring/tools.ts';

export interface RunningBot {
  /** The port `/slack/events` (HTTP mode) and the health routes listen on. */
  port: number;
  metrics: Metrics;
  store: ConversationStore;
  conversations: ConversationService;
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
  const { stored, slack, identity, installations } = await buildSlackAccess(config, metrics, logger);
  const { model, answering } = await buildModel(config, options.model, metrics, logger);
  const controls = buildAnswerControls(config, answering, stored.store, metrics, logger, (userId) =>
    parts.people.emailOf(userId),
  );
  let listeningPort = config.port;
  const tools = await buildTools(config, logger, slack, {
    records: stored.personalTokenRecords,
    port: () => listeningPort,
    defaultTeamId: () => identity.defaultTeamId,
  });
  const parts = buildConversations(config, {
    stored,
    model,
    controls: controls.controls,
    tools,
    slack,
    identity,
    logger,
    metrics,
  });
  const http = buildHttpRoutes(stored.store, metrics, logger);
  if (tools?.personal) http.customRoutes.push(tools.personal.route);
  const slackApp = buildSlackApp(config, { http, identity, logger, metrics, installations });
  const personal = tools?.personal ?? null;
  const listenerInputs = { parts, controls, slack, identity, logger, metrics, installations, personal };
  registerSlackListeners(slackApp.app, config, listenerInputs);

  const port = await startSlackApp(slackApp, config.port);
  listeningPort = port;
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
    shutdown: (timeoutMs = config.shutdownTimeoutMs) =>
      shutdownBot({ http, slackApp, conversations, tools, stored, logger }, timeoutMs),
  };
}
