/**
 * The Slack side of people's own tool-server accounts (MCP servers with `auth: user`): the private
 * "Connect <server>" button, `/ask connections` (what the person has connected, each with a
 * Disconnect button), and the page the browser lands on after the authorization.
 */
import type { App } from '@slack/bolt';
import type { Logger } from '../logger.ts';
import { escapeMrkdwn } from './render/slack-safe-text.ts';
import type { SlackApi } from './slack-api.ts';

export const CONNECT_ACTION_ID = 'mcp_connect';
export const DISCONNECT_ACTION_ID = 'mcp_disconnect';

export interface PersonalAccounts {
  /** The personal servers, and whether the person has connected each. */
  list(userId: string): Promise<Array<{ server: string; connected: boolean }>>;
  disconnect(userId: string, server: string): Promise<void>;
}

/** Posts the private Connect step where the person asked. */
export async function offerConnect(
  slack: SlackApi,
  offer: { userId: string; channelId?: string; threadTs?: string; server: string; url: string },
): Promise<void> {
  if (!offer.channelId) return;
  const server = escapeMrkdwn(offer.server);
  await slack.call('chat.postEphemeral', {
    channel: offer.channelId,
    user: offer.userId,
    ...(offer.threadTs ? { thread_ts: offer.threadTs } : {}),
    text: `Connect your ${server} account so I can use it for you.`,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `To use *${server}* for you, I need your own ${server} account. Only you see this.`,
        },
      },
      {
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: CONNECT_ACTION_ID,
            text: { type: 'plain_text', text: `Connect ${offer.server}`.slice(0, 75) },
            url: offer.url,
            style: 'primary',
          },
        ],
      },
    ],
  });
}

/** `/ask connections`: the person's accounts, privately, each with Connect state and a Disconnect button. */
export async function connectionsReply(
  accounts: PersonalAccounts,
  userId: string,
): Promise<Record<string, unknown>> {
  const servers = await accounts.list(userId);
  if (servers.length === 0)
    return { response_type: 'ephemeral', text: 'No tool here uses your own account.' };
  return {
    response_type: 'ephemeral',
    text: 'Your connected accounts',
    blocks: servers.map(({ server, connected }) => ({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${escapeMrkdwn(server)}*: ${connected ? 'connected' : 'not connected (I offer a Connect button when a question needs it)'}`,
      },
      ...(connected
        ? {
            accessory: {
              type: 'button',
              action_id: DISCONNECT_ACTION_ID,
              text: { type: 'plain_text', text: 'Disconnect' },
              value: server,
            },
          }
        : {}),
    })),
  };
}

/** The Connect button only opens a link (acknowledged); Disconnect forgets the person's tokens. */
export function registerConnectionActions(app: App, accounts: PersonalAccounts, logger: Logger): void {
  app.action(CONNECT_ACTION_ID, async ({ ack }) => {
    await ack();
  });
  app.action(DISCONNECT_ACTION_ID, async ({ ack, body, action, respond }) => {
    await ack();
    const server = (action as { value?: string }).value ?? '';
    await accounts.disconnect(body.user.id, server);
    logger.info({ server }, 'a person disconnected a tool server');
    await respond({
      response_type: 'ephemeral',
      replace_original: true,
      text: `Disconnected ${escapeMrkdwn(server)}.`,
    });
  });
}

/** The page the browser shows after the authorization (plain text: nothing from the request is echoed). */
export function connectedPage(
  ok: boolean,
  server: string | null,
  problem?: string,
): { status: number; body: string } {
  return ok
    ? { status: 200, body: `Connected ${server ?? ''}. You can go back to Slack and ask again.` }
    : {
        status: 400,
        body: `The connection did not complete: ${problem ?? 'unknown problem'}. Ask again in Slack for a new link.`,
      };
}
