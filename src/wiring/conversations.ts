/**
 * The core and the Slack side it answers into: people (names, thread reading), the answer surface
 * (streams, notices, approvals), files, and the conversation service that wires them to the model,
 * the store, the controls and the tools.
 */
import { SharpImageFitter } from '../bedrock/image-fitter.ts';
import type { Config } from '../config.ts';
import type { AnswerControls } from '../conversation/answer-controls.ts';
import { ConversationService } from '../conversation/conversation-service.ts';
import type { KnowledgeGrounding } from '../conversation/knowledge-ports.ts';
import type { AnswerModel } from '../conversation/ports.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { currentWorkspace } from '../slack/installations/workspace-scope.ts';
import { responseUrlPoster } from '../slack/response-url.ts';
import type { SlackApi } from '../slack/slack-api.ts';
import { SlackFiles } from '../slack/slack-files.ts';
import { SlackPeople } from '../slack/slack-people.ts';
import { SlackSurface } from '../slack/slack-surface.ts';
import type { SlackIdentity } from './slack-identity.ts';
import type { StoreParts } from './store.ts';
import type { ToolParts } from './tools.ts';

export interface ConversationParts {
  conversations: ConversationService;
  people: SlackPeople;
  postToResponseUrl: ReturnType<typeof responseUrlPoster>;
}

export interface ConversationInputs {
  stored: StoreParts;
  model: AnswerModel;
  controls: AnswerControls;
  tools: ToolParts | null;
  slack: SlackApi;
  identity: SlackIdentity;
  logger: Logger;
  metrics: Metrics;
  /** Channel knowledge, when KNOWLEDGE_INDEX is set. */
  knowledge?: KnowledgeGrounding;
}

export function buildConversations(config: Config, inputs: ConversationInputs): ConversationParts {
  const { stored, slack, identity, logger, metrics, tools } = inputs;
  const self = selfIn(identity);
  const people = new SlackPeople(slack, logger, {
    get botId() {
      return self.botId;
    },
    distribution: config.slack.appDistribution,
  });
  const postToResponseUrl = responseUrlPoster({ slackApiUrl: config.slack.apiUrl, logger });
  const surface = new SlackSurface({
    slack,
    logger,
    streaming: config.slack.streaming,
    flushIntervalMs: config.slack.flushIntervalMs,
    budget: stored.budget,
    self,
    trustedLinkHosts: config.slack.trustedLinkHosts,
    postToResponseUrl,
  });
  const conversations = new ConversationService({
    store: stored.store,
    model: inputs.model,
    surface,
    ...(tools ? { tools } : {}),
    threadReader: people,
    controls: inputs.controls,
    files: new SlackFiles({ botToken: () => slack.token(), slackApiUrl: config.slack.apiUrl, slack }),
    images: new SharpImageFitter(),
    stops: stored.stops,
    ...(inputs.knowledge ? { knowledge: inputs.knowledge } : {}),
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
  return { conversations, people, postToResponseUrl };
}

/** The bot's own ids: with installation by OAuth they differ per workspace, read from the one served. */
function selfIn(identity: SlackIdentity): { readonly botId: string | null; readonly userId: string | null } {
  return {
    get botId() {
      return currentWorkspace()?.botId ?? identity.botId;
    },
    get userId() {
      return currentWorkspace()?.botUserId ?? identity.botUserId;
    },
  };
}
