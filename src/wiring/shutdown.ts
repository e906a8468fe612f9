/**
 * A replica's graceful stop: stop taking work (Socket Mode: close the connection first, so Slack
 * sends new envelopes to the other replicas), let answers in flight finish within the bound, then
 * close everything in order.
 */
import type { ConversationService } from '../conversation/conversation-service.ts';
import type { Logger } from '../logger.ts';
import type { HttpRoutes } from './http-routes.ts';
import type { SlackAppParts } from './slack-app.ts';
import type { StoreParts } from './store.ts';
import type { ToolParts } from './tools.ts';

export interface StoppableParts {
  http: HttpRoutes;
  slackApp: SlackAppParts;
  conversations: ConversationService;
  tools: ToolParts | null;
  stored: StoreParts;
  logger: Logger;
  /** Channel knowledge: learning in flight finishes, its clients close. */
  knowledge?: { close(): Promise<void> } | null;
}

export async function shutdownBot(parts: StoppableParts, timeoutMs: number): Promise<{ drained: boolean }> {
  const { http, slackApp, conversations, tools, stored, logger } = parts;
  http.setLifecycle('draining');
  conversations.stopAccepting();
  if (slackApp.socketMode) {
    // Stop receiving first: Slack then sends new envelopes to the other replicas' connections.
    const client = slackApp.socketMode.client;
    await Promise.race([client.disconnect(), new Promise((resolve) => setTimeout(resolve, 1_000))]).catch(
      (err: unknown) => logger.warn({ err }, 'error closing the Socket Mode connection'),
    );
  }
  const drained = await conversations.drain(timeoutMs);
  if (!drained)
    logger.warn({ inFlight: conversations.inFlight }, 'shutdown timed out with answers in flight');
  await slackApp.app.stop().catch((err: unknown) => logger.warn({ err }, 'error stopping Bolt'));
  http.storeHealth.stop();
  await conversations.close().catch((err: unknown) => logger.warn({ err }, 'error closing stop signals'));
  await parts.knowledge
    ?.close()
    .catch((err: unknown) => logger.warn({ err }, 'error closing channel knowledge'));
  await tools?.toolbox.close().catch((err: unknown) => logger.warn({ err }, 'error closing tool servers'));
  // Leases go back before the store's Redis connection closes.
  await stored.budget
    .close()
    .catch((err: unknown) => logger.debug({ err }, 'error closing the write budget'));
  await stored.store.close().catch((err: unknown) => logger.warn({ err }, 'error closing the store'));
  logger.info({ drained }, 'bot stopped');
  return { drained };
}
