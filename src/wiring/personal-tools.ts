/**
 * Composition of people's own tool-server accounts (MCP servers with `auth: user`): the SDK-based
 * authorization (tools/mcp-user-auth.ts) on the store's sealed records, the Slack Connect step and
 * `/ask connections` (slack/personal-connections.ts), and the `/mcp/oauth/callback` route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, CustomRoute } from '@slack/bolt';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { currentWorkspace } from '../slack/installations/workspace-scope.ts';
import {
  connectedPage,
  offerConnect,
  type PersonalAccounts,
  registerConnectionActions,
} from '../slack/personal-connections.ts';
import type { SlackApi } from '../slack/slack-api.ts';
import type { InstallationRecords } from '../store/installation-records.ts';
import { TokenSealer } from '../store/token-sealer.ts';
import type { PersonalToolAccess } from '../tools/mcp-toolbox.ts';
import { ConnectionRefusedError, MCP_CALLBACK_PATH, McpUserAuth } from '../tools/mcp-user-auth.ts';
import type { McpServerConfig } from '../tools/tool-config.ts';

export interface PersonalTools {
  access: PersonalToolAccess;
  accounts: PersonalAccounts;
  route: CustomRoute;
  register(app: App): void;
}

/** What bot.ts hands over for people's own accounts. */
export interface PersonalToolInputs {
  records: InstallationRecords;
  /** The port the bot listens on (known once it started), for the default callback URL. */
  port: () => number;
  defaultTeamId: () => string;
}

export function createPersonalTools(
  options: PersonalToolInputs & {
    config: Config;
    servers: McpServerConfig[];
    slack: SlackApi;
    logger: Logger;
  },
): PersonalTools {
  const { config, servers, records, slack, logger } = options;
  const stateSecret = config.slack.oauth?.stateSecret ?? config.mcpStateSecret;
  if (!stateSecret || config.slack.tokenEncryptionKeys.length === 0)
    throw new Error(
      'MCP_CONFIG has a server with auth: user, which needs TOKEN_ENCRYPTION_KEYS and SLACK_STATE_SECRET (people’s tokens are sealed, and each connection’s state signed)',
    );
  const base = () => config.publicUrl ?? `http://localhost:${options.port()}`;
  const auth = new McpUserAuth({
    records,
    sealer: new TokenSealer(config.slack.tokenEncryptionKeys),
    get callbackUrl() {
      return new URL(MCP_CALLBACK_PATH, base()).toString();
    },
    stateSecret,
    logger,
  });
  // Tokens are kept per person: the workspace and the Slack user.
  const personOf = (userId: string) => `${currentWorkspace()?.teamId ?? options.defaultTeamId()}:${userId}`;
  const accounts: PersonalAccounts = {
    list: async (userId) =>
      Promise.all(
        servers.map(async (server) => ({
          server: server.name,
          connected: await auth.connected(personOf(userId), server.name),
        })),
      ),
    disconnect: (userId, server) => auth.disconnect(personOf(userId), server),
  };
  return {
    access: { auth, personOf, offerConnect: (offer) => offerConnect(slack, offer) },
    accounts,
    route: callbackRoute(auth, servers, logger),
    register: (app) => registerConnectionActions(app, accounts, logger),
  };
}

/** `/mcp/oauth/callback`: where the browser lands after a person authorized a tool server. */
function callbackRoute(auth: McpUserAuth, servers: McpServerConfig[], logger: Logger): CustomRoute {
  return {
    path: MCP_CALLBACK_PATH,
    method: ['GET'],
    handler: async (request: IncomingMessage, response: ServerResponse) => {
      const url = new URL(request.url ?? '/', 'http://localhost');
      const code = url.searchParams.get('code') ?? '';
      const state = url.searchParams.get('state') ?? '';
      let page: { status: number; body: string };
      try {
        const done = await auth.complete(code, state, servers);
        page = connectedPage(true, done.server);
      } catch (error) {
        logger.warn({ err: error }, 'a tool server connection did not complete');
        page = connectedPage(
          false,
          null,
          error instanceof ConnectionRefusedError ? error.message : 'the tool server refused it',
        );
      }
      response.writeHead(page.status, { 'content-type': 'text/plain; charset=utf-8' });
      response.end(page.body);
    },
  };
}
