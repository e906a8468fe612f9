/** The bot's configuration for installation by OAuth against the Slack stand-in (no SLACK_BOT_TOKEN). */
import { randomBytes } from 'node:crypto';
import type { FakeSlack } from '../stand-ins/fake-slack.ts';

export function oauthEnv(slack: FakeSlack, keys: Buffer[] = [randomBytes(32)]): Record<string, string> {
  return {
    SLACK_BOT_TOKEN: '',
    SLACK_CLIENT_ID: slack.oauth.clientId,
    SLACK_CLIENT_SECRET: slack.oauth.clientSecret,
    SLACK_STATE_SECRET: 'a-state-secret-of-at-least-32-characters',
    TOKEN_ENCRYPTION_KEYS: keys.map((key) => key.toString('base64')).join(','),
  };
}
