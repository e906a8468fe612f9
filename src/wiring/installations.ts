/**
 * Installation by OAuth (many workspaces or an Enterprise Grid org): the sealed installation store
 * on the store's records, Bolt's installer options, the per-event workspace scope and the
 * uninstall purge. Built only when SLACK_CLIENT_ID is configured.
 */
import type { App, Authorize, Installation } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import {
  installerReceiverOptions,
  registerUninstall,
  registerWorkspaceScope,
} from '../slack/installations/oauth-install.ts';
import { currentWorkspace } from '../slack/installations/workspace-scope.ts';
import { REQUIRED_BOT_SCOPES } from '../slack/required-scopes.ts';
import { SlackApi, slackClientOptions } from '../slack/slack-api.ts';
import type { InstallationRecords } from '../store/installation-records.ts';
import { type RefreshedToken, SealedInstallationStore } from '../store/installation-store.ts';
import { TokenSealer } from '../store/token-sealer.ts';
import { purgePatterns, workspaceKey } from '../store/workspace-keys.ts';
import type { WorkspacePurge } from '../store/workspace-purge.ts';
import { NO_SINGLE_WORKSPACE, readSlackIdentity, type SlackIdentity } from './slack-identity.ts';
import { buildStore, type StoreParts } from './store.ts';

export interface WorkspaceInstallations {
  store: SealedInstallationStore;
  /** Options for Bolt's receiver (HTTP or Socket Mode) that serve the install flow. */
  receiverOptions(extraInstallerOptions?: Record<string, unknown>): Record<string, unknown>;
  /** The workspace scope middleware and the uninstall listeners (before every other listener). */
  register(app: App): void;
  /**
   * Adds what else a workspace's uninstall forgets beyond its keys (channel knowledge, built after
   * the Slack access), called with its team id after the purge.
   */
  alsoForget(forget: (teamId: string) => Promise<void>): void;
}

/** What auth.test says of the SLACK_BOT_TOKEN kept beside OAuth (the workspace it served so far). */
export interface LegacyWorkspace {
  token: string;
  teamId: string;
  enterpriseId: string | null;
  botUserId: string | null;
  botId: string | null;
}

/**
 * The store key's workspace part for the event being handled. The SLACK_BOT_TOKEN workspace keeps
 * its unscoped keys; `legacy` is read on each call because it is learnt at start-up, after the store.
 */
export function currentWorkspaceKey(legacy: () => string | null): () => string {
  return () => workspaceKey(currentWorkspace(), legacy());
}

export async function createWorkspaceInstallations(options: {
  config: Config;
  records: InstallationRecords;
  purge: WorkspacePurge;
  legacy: LegacyWorkspace | null;
  logger: Logger;
}): Promise<WorkspaceInstallations> {
  const { config, records, purge, legacy, logger } = options;
  const oauth = config.slack.oauth;
  if (!oauth) throw new Error('installation by OAuth is not configured');
  const oauthClient = new WebClient(undefined, slackClientOptions(config.slack.apiUrl));
  const store = new SealedInstallationStore({
    records,
    sealer: new TokenSealer(config.slack.tokenEncryptionKeys),
    refresh: async (refreshToken) =>
      (await oauthClient.oauth.v2.access({
        client_id: oauth.clientId,
        client_secret: oauth.clientSecret,
        grant_type: 'refresh_token',
        refresh_token: refreshToken,
      })) as unknown as RefreshedToken,
    logger,
  });
  if (legacy) await keepLegacyInstallation(store, legacy, logger);
  const forgetters: Array<(teamId: string) => Promise<void>> = [];
  // One that fails is logged and the others still run: the installation is gone either way.
  const alsoForget = async (teamId: string) => {
    for (const forget of forgetters)
      await forget(teamId).catch((err: unknown) =>
        logger.warn({ err, teamId }, 'app uninstalled: could not forget all that was kept for it'),
      );
  };
  return {
    store,
    receiverOptions: (extra) => installerReceiverOptions(oauth, config.slack.apiUrl, store, logger, extra),
    register(app) {
      registerWorkspaceScope(app);
      registerUninstall(app, {
        installations: store,
        purge: (target) => purge.purge(purgePatterns(target, legacy?.teamId ?? null)),
        alsoForget,
        logger,
      });
    },
    alsoForget(forget) {
      forgetters.push(forget);
    },
  };
}

/** The store, the Slack client and who the bot is; with OAuth, per workspace and the installations. */
export interface SlackAccess {
  stored: StoreParts;
  slack: SlackApi;
  identity: SlackIdentity;
  installations: WorkspaceInstallations | null;
}

export async function buildSlackAccess(
  config: Config,
  metrics: Metrics,
  logger: Logger,
): Promise<SlackAccess> {
  const oauth = config.slack.oauth !== null;
  // With OAuth the SLACK_BOT_TOKEN workspace (if any) keeps its unscoped keys: learnt below.
  let legacyTeamId: string | null = null;
  const stored = buildStore(config, logger, metrics, oauth ? currentWorkspaceKey(() => legacyTeamId) : null);
  const slack = new SlackApi({
    token: config.slack.botToken,
    // With OAuth each call uses the token of the workspace being served.
    ...(oauth ? { tokenOf: () => currentWorkspace()?.botToken } : {}),
    apiUrl: config.slack.apiUrl,
    metrics,
    logger,
  });
  const identity = config.slack.botToken
    ? await readSlackIdentity(slack, logger).catch(async (error: unknown) => {
        await stored.store.close().catch(() => undefined);
        throw error;
      })
    : NO_SINGLE_WORKSPACE;
  if (oauth && identity.defaultTeamId) legacyTeamId = identity.defaultTeamId;
  const installations = oauth ? await buildInstallations(config, stored, identity, logger) : null;
  return { stored, slack, identity, installations };
}

/** Installation by OAuth on the store's records; the SLACK_BOT_TOKEN workspace (if any) kept as one. */
function buildInstallations(
  config: Config,
  stored: StoreParts,
  identity: SlackIdentity,
  logger: Logger,
): Promise<WorkspaceInstallations> {
  const legacy: LegacyWorkspace | null =
    config.slack.botToken && identity.defaultTeamId
      ? {
          token: config.slack.botToken,
          teamId: identity.defaultTeamId,
          enterpriseId: identity.enterpriseId,
          botUserId: identity.botUserId,
          botId: identity.botId,
        }
      : null;
  return createWorkspaceInstallations({
    config,
    records: stored.installationRecords,
    purge: stored.purge,
    legacy,
    logger,
  });
}

/**
 * A deployment moving from SLACK_BOT_TOKEN to OAuth keeps answering in its workspace without a new
 * install: the token is kept as that workspace's installation unless one is there already.
 */
async function keepLegacyInstallation(
  store: SealedInstallationStore,
  legacy: LegacyWorkspace,
  logger: Logger,
): Promise<void> {
  const query = {
    teamId: legacy.teamId,
    enterpriseId: legacy.enterpriseId ?? undefined,
    isEnterpriseInstall: false,
  };
  if (await store.find(query)) return;
  const installation: Installation = {
    team: { id: legacy.teamId },
    enterprise: legacy.enterpriseId ? { id: legacy.enterpriseId } : undefined,
    user: { token: undefined, scopes: undefined, id: '' },
    bot: {
      token: legacy.token,
      scopes: [...REQUIRED_BOT_SCOPES],
      id: legacy.botId ?? '',
      userId: legacy.botUserId ?? '',
    },
    tokenType: 'bot',
    isEnterpriseInstall: false,
    authVersion: 'v2',
  };
  await store.storeInstallation(installation);
  logger.info({ teamId: legacy.teamId }, 'SLACK_BOT_TOKEN kept as its workspace’s installation');
}

/** The authorize function of the installer Bolt built into `receiver` from our options. */
export function installerAuthorize(receiver: unknown): Authorize<boolean> {
  const installer = (receiver as { installer?: { authorize: Authorize<boolean> } }).installer;
  if (!installer) throw new Error('the Slack receiver has no installer: OAuth options were not passed to it');
  return (source, body) => installer.authorize.call(installer, source, body);
}
