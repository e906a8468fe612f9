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
import { buildAnswerControls } from './wiring/answer-controls.ts';
import { buildConversations } from './wiring/conversations.ts';
import { buildHttpRoutes } from './wiring/http-routes.ts';
import { buildSlackAccess } from './wiring/installations.ts';
import { buildKnowledge } from './wiring/knowledge.ts';
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
  const access = await buildSlackAccess(config, metrics, logger);
  const { stored, identity, installations } = access;
  const core = await buildCore(config, access, { model: options.model, metrics, logger });
  const { parts, tools, knowledge } = core;
  const http = buildHttpRoutes(stored.store, metrics, logger);
  if (tools?.personal) http.customRoutes.push(tools.personal.route);
  const slackApp = buildSlackApp(config, { http, identity, logger, metrics, installations });
  registerSlackListeners(slackApp.app, config, {
    parts,
    controls: core.controls,
    slack: access.slack,
    identity,
    logger,
    metrics,
    installations,
    personal: tools?.personal ?? null,
    ...(knowledge ? { knowledge: knowledge.knowledge } : {}),
  });

  const port = await startSlackApp(slackApp, config.port);
  core.listeningOn(port);
  http.storeHealth.start();
  http.setLifecycle('ready');
  const mode = slackApp.socketMode ? 'socket' : 'http';
  const store = config.redis ? 'redis' : 'memory';
  logger.info({ port, mode, store, model: config.bedrock.modelId }, 'bot started');
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

/**
 * What answers: the model, the channel controls, channel knowledge, the tools and the conversation
 * service. `listeningOn` tells the personal tools' OAuth callback the port the bot listens on.
 */
async function buildCore(
  config: Config,
  access: Awaited<ReturnType<typeof buildSlackAccess>>,
  inputs: { model: AnswerModel | undefined; metrics: Metrics; logger: Logger },
) {
  const { stored, slack, identity } = access;
  const { metrics, logger } = inputs;
  const { model, answering } = await buildModel(config, inputs.model, metrics, logger);
  const controls = buildAnswerControls(config, answering, stored.store, metrics, logger, (userId) =>
    parts.people.emailOf(userId),
  );
  const knowledge = await buildKnowledge(config, { stored, slack, controls, logger });
  // An uninstalled workspace's channel knowledge goes with its other data.
  if (knowledge) access.installations?.alsoForget((teamId) => knowledge.knowledge.forgetWorkspace(teamId));
  let listeningPort = config.port;
  const personalInputs = {
    records: stored.personalTokenRecords,
    port: () => listeningPort,
    defaultTeamId: () => identity.defaultTeamId,
  };
  const toolboxes = knowledge ? [knowledge.toolbox] : [];
  const tools = await buildTools(config, logger, slack, personalInputs, toolboxes);
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
  const listeningOn = (port: number) => {
    listeningPort = port;
  };
  return { controls, knowledge, tools, parts, listeningOn };
}
