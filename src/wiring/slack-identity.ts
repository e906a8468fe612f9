/**
 * Who the bot is in Slack (`auth.test`): its user id, bot id and workspace. A token Slack rejects
 * stops the start; scopes the token lacks against manifest.yml are named in a warning.
 */
import type { Logger } from '../logger.ts';
import { missingScopes } from '../slack/required-scopes.ts';
import type { SlackApi } from '../slack/slack-api.ts';

export interface SlackIdentity {
  botUserId: string | null;
  botId: string | null;
  /** The token's workspace, for payloads that do not name one. */
  defaultTeamId: string;
}

type AuthTest = {
  user_id?: string;
  bot_id?: string;
  team_id?: string;
  response_metadata?: { scopes?: string[] };
};

export async function readSlackIdentity(slack: SlackApi, logger: Logger): Promise<SlackIdentity> {
  let identity: AuthTest;
  try {
    identity = await slack.call<AuthTest>('auth.test', {});
  } catch (error) {
    throw new Error(`Slack rejected SLACK_BOT_TOKEN at auth.test (${(error as Error).message}).`, {
      cause: error,
    });
  }
  const missing = missingScopes(identity.response_metadata?.scopes);
  if (missing && missing.length > 0) {
    logger.warn(
      { missingScopes: missing },
      `The bot token lacks scopes that manifest.yml asks for: ${missing.join(', ')}. Reinstall the app to grant them.`,
    );
  }
  return {
    botUserId: identity.user_id ?? null,
    botId: identity.bot_id ?? null,
    defaultTeamId: identity.team_id ?? '',
  };
}
