/**
 * Installation by OAuth through Bolt's own installer: `/slack/install` sends the person to Slack's
 * consent page, `/slack/oauth_redirect` exchanges the code (oauth.v2.access) and keeps the
 * installation in the store. Every event then runs in its workspace (see workspace-scope.ts), and
 * `app_uninstalled` / `tokens_revoked` delete the installation and purge what was kept for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, InstallationQuery, InstallationStore } from '@slack/bolt';
import type { Config } from '../../config.ts';
import type { Logger } from '../../logger.ts';
import { REQUIRED_BOT_SCOPES } from '../required-scopes.ts';
import { slackClientOptions } from '../slack-api.ts';
import { inWorkspace, workspaceOf } from './workspace-scope.ts';

export const INSTALL_PATH = '/slack/install';
export const REDIRECT_PATH = '/slack/oauth_redirect';

type OAuthConfig = NonNullable<Config['slack']['oauth']>;

/** The options Bolt's receivers take to serve the install flow. */
export function installerReceiverOptions(
  oauth: OAuthConfig,
  apiUrl: string,
  installationStore: InstallationStore,
  logger: Logger,
  extra: Record<string, unknown> = {},
) {
  return {
    clientId: oauth.clientId,
    clientSecret: oauth.clientSecret,
    stateSecret: oauth.stateSecret,
    installationStore,
    scopes: [...REQUIRED_BOT_SCOPES],
    ...(oauth.redirectUri ? { redirectUri: oauth.redirectUri } : {}),
    installerOptions: {
      ...extra,
      installPath: INSTALL_PATH,
      redirectUriPath: REDIRECT_PATH,
      // Straight to Slack's consent page: the bot serves no page of its own.
      directInstall: true,
      // Slack's consent page sits beside its Web API (the stand-in serves both the same way).
      authorizationUrl: new URL('../oauth/v2/authorize', apiUrl).toString(),
      clientOptions: slackClientOptions(apiUrl),
      callbackOptions: {
        failure: (error: Error, _options: unknown, _request: IncomingMessage, response: ServerResponse) => {
          logger.warn({ err: error }, 'an installation failed');
          response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
          response.end('The installation did not complete. Please try again from the install link.');
        },
      },
    },
  };
}

export interface UninstallDeps {
  installations: Required<Pick<InstallationStore, 'deleteInstallation'>>;
  /** Deletes everything kept for the workspace (or the whole org); the number of keys. */
  purge: (target: {
    enterpriseId: string | null;
    teamId: string | null;
    wholeOrg: boolean;
  }) => Promise<number>;
  /** What else is kept per team outside its keys (channel knowledge): forgotten after the purge. */
  alsoForget: (teamId: string) => Promise<void>;
  logger: Logger;
}

/** Runs every listener inside the workspace Bolt's authorize found for the payload. */
export function registerWorkspaceScope(app: App): void {
  app.use(async ({ context, next }) => inWorkspace(workspaceOf(context), next));
}

interface UninstallContext {
  enterpriseId?: string | undefined;
  teamId?: string | undefined;
  isEnterpriseInstall?: boolean | undefined;
}

/** `app_uninstalled` and `tokens_revoked` (bot tokens): the installation and its data go. */
export function registerUninstall(app: App, deps: UninstallDeps): void {
  app.event('app_uninstalled', async ({ context }) => {
    await forgetInstallation(deps, context);
  });
  app.event('tokens_revoked', async ({ event, context }) => {
    // Only the bot's tokens matter: the bot keeps no Slack user tokens.
    if ((event.tokens.bot ?? []).length > 0) await forgetInstallation(deps, context);
  });
}

async function forgetInstallation(deps: UninstallDeps, context: UninstallContext): Promise<void> {
  const wholeOrg = context.isEnterpriseInstall === true;
  const query: InstallationQuery<boolean> = {
    enterpriseId: context.enterpriseId,
    teamId: context.teamId,
    isEnterpriseInstall: wholeOrg,
  };
  await deps.installations.deleteInstallation(query);
  const target = { enterpriseId: context.enterpriseId ?? null, teamId: context.teamId ?? null, wholeOrg };
  const purged = await deps.purge(target);
  // Channel knowledge is kept per team, with no record of the team's org: an org-wide uninstall
  // forgets the knowledge of the team its event names (if any), not of the org's other workspaces.
  if (target.teamId) await deps.alsoForget(target.teamId);
  else deps.logger.warn(target, 'app uninstalled org-wide: channel knowledge of its workspaces is kept');
  deps.logger.info(
    { ...target, purgedKeys: purged },
    'app uninstalled: installation deleted and its data purged',
  );
}
