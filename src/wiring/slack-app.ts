/**
 * The Bolt app: its receiver (HTTP with the request edge in front, or Socket Mode), the listeners
 * with what they need, and its start on PORT.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, SocketModeReceiver } from '@slack/bolt';
import type { Config } from '../config.ts';
import type { KnowledgeControls } from '../conversation/knowledge-ports.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import { boltLogger } from '../slack/bolt-logger.ts';
import { ControlReplies } from '../slack/control-replies.ts';
import { HomeTab } from '../slack/home-tab.ts';
import { registerListeners } from '../slack/listeners/index.ts';
import {
  ignoringMalformedEvents,
  refusingOversizedBodies,
  survivingUnreadableEnvelopes,
} from '../slack/receiver-edge.ts';
import { escapeMrkdwn } from '../slack/render/slack-safe-text.ts';
import { SlackAdmins } from '../slack/slack-admins.ts';
import { type SlackApi, slackClientOptions } from '../slack/slack-api.ts';
import type { ControlParts } from './answer-controls.ts';
import type { ConversationParts } from './conversations.ts';
import type { HttpRoutes } from './http-routes.ts';
import { installerAuthorize, type WorkspaceInstallations } from './installations.ts';
import type { PersonalTools } from './personal-tools.ts';
import type { SlackIdentity } from './slack-identity.ts';

/** Largest request body `/slack/events` takes (Slack's payloads are far smaller). */
const BODY_LIMIT_BYTES = 1024 * 1024;

export interface SlackAppParts {
  app: App;
  /** Set in Socket Mode: its connection is closed first on shutdown. */
  socketMode: SocketModeReceiver | null;
}

export function buildSlackApp(
  config: Config,
  inputs: {
    http: HttpRoutes;
    identity: SlackIdentity;
    logger: Logger;
    metrics: Metrics;
    /** Installation by OAuth: Bolt's installer options for the receiver. */
    installations?: WorkspaceInstallations | null;
  },
): SlackAppParts {
  const { http, identity, logger, metrics, installations } = inputs;
  const { customRoutes } = http;
  const boltReceiver =
    config.slack.appToken !== null
      ? new SocketModeReceiver({
          appToken: config.slack.appToken ?? '',
          logger: boltLogger(logger),
          customRoutes,
          installerOptions: { port: config.port, clientOptions: { slackApiUrl: config.slack.apiUrl } },
          ...installations?.receiverOptions({ port: config.port }),
        })
      : new HTTPReceiver({
          signingSecret: config.slack.signingSecret ?? '',
          endpoints: '/slack/events',
          customRoutes,
          logger: boltLogger(logger),
          processBeforeResponse: false,
          bodyLimit: BODY_LIMIT_BYTES,
          ...installations?.receiverOptions(),
        });
  const ignoreMalformed = () => metrics.messagesIgnored.inc({ reason: 'malformed' });
  if (boltReceiver instanceof HTTPReceiver) refusingOversizedBodies(boltReceiver, BODY_LIMIT_BYTES, logger);
  else survivingUnreadableEnvelopes(boltReceiver.client, logger, ignoreMalformed);
  const app = new App({
    receiver: ignoringMalformedEvents(boltReceiver, logger, ignoreMalformed),
    // With OAuth, Bolt's installer authorizes each event from the installation store (handed over
    // here: the receiver Bolt sees is the edge wrapper, which has no installer of its own).
    ...(installations
      ? { authorize: installerAuthorize(boltReceiver) }
      : { token: config.slack.botToken ?? '' }),
    ...(identity.botUserId ? { botUserId: identity.botUserId } : {}),
    ...(identity.botId ? { botId: identity.botId } : {}),
    tokenVerificationEnabled: false,
    // The question builder turns the bot's own messages away itself (and counts them, reason "self").
    ignoreSelf: false,
    // Bolt's per-event conversation context is unused here (thread state lives in the store).
    convoStore: false,
    clientOptions: slackClientOptions(config.slack.apiUrl),
    logger: boltLogger(logger),
  });
  return { app, socketMode: boltReceiver instanceof SocketModeReceiver ? boltReceiver : null };
}

/** The listeners, each handed what it needs: the conversation service, the Home tab, `/ask` replies. */
export function registerSlackListeners(
  app: App,
  config: Config,
  inputs: {
    parts: ConversationParts;
    controls: ControlParts;
    slack: SlackApi;
    identity: SlackIdentity;
    logger: Logger;
    metrics: Metrics;
    installations?: WorkspaceInstallations | null;
    personal?: PersonalTools | null;
    /** Channel knowledge: file events, `/ask learn`, `/ask forget`, the Home tab's sources. */
    knowledge?: KnowledgeControls;
  },
): void {
  const { parts, controls, slack, identity, logger, metrics, installations, personal } = inputs;
  const knowledge = inputs.knowledge ? { knowledge: inputs.knowledge } : {};
  // First: every later listener runs in its workspace (and uninstalls purge it).
  installations?.register(app);
  personal?.register(app);
  const { channelSettings, usage } = controls;
  const { postToResponseUrl } = parts;
  const admins = new SlackAdmins({
    userIds: config.settings.adminUserIds,
    usergroupId: config.settings.adminUsergroupId,
    slack,
    logger,
  });
  registerListeners(app, {
    conversations: parts.conversations,
    homeTab: new HomeTab({ slack, settings: channelSettings, usage, admins, logger, metrics, ...knowledge }),
    ...knowledge,
    controlReplies: new ControlReplies({ settings: channelSettings, usage, postToResponseUrl }),
    replyPrivately: (url, text) =>
      postToResponseUrl(url, { response_type: 'ephemeral', text: escapeMrkdwn(text) }),
    people: parts.people,
    ...(personal ? { accounts: personal.accounts } : {}),
    slack,
    logger,
    metrics,
    identity: (context, body) => ({
      botUserId: context.botUserId ?? identity.botUserId,
      botId: context.botId ?? identity.botId,
      teamId: (body as { team_id?: string }).team_id ?? context.teamId ?? identity.defaultTeamId,
    }),
  });
  app.error(async (error) => {
    logger.error({ err: error }, 'unhandled error in a Slack listener');
  });
}

/** Starts Bolt on PORT and returns the port it listens on (PORT=0 in tests picks a free one). */
export async function startSlackApp(slackApp: SlackAppParts, port: number): Promise<number> {
  const started = (await slackApp.app.start(port)) as unknown;
  // In Socket Mode the health server is the receiver's own; read its port back too.
  const server = slackApp.socketMode
    ? (slackApp.socketMode as unknown as { httpServer?: Server }).httpServer
    : (started as Server);
  const address = server?.address();
  return address && typeof address === 'object' ? (address as AddressInfo).port : port;
}
