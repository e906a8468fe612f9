/** Installation by OAuth is configured all together or not at all, and says exactly what is missing. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';

const base = { SLACK_SIGNING_SECRET: 'secret', AWS_REGION: 'eu-west-1' };
const key = randomBytes(32).toString('base64');
const oauth = {
  SLACK_CLIENT_ID: '1111.2222',
  SLACK_CLIENT_SECRET: 'client-secret-value',
  SLACK_STATE_SECRET: 'a-state-secret-of-at-least-32-characters',
  TOKEN_ENCRYPTION_KEYS: key,
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
}

describe('installation by OAuth in the configuration', () => {
  it('needs no bot token when the app installs by OAuth', () => {
    const config = loadConfig({ ...base, ...oauth });

    expect(config.slack.botToken).toBeNull();
    expect(config.slack.oauth).toEqual({
      clientId: '1111.2222',
      clientSecret: 'client-secret-value',
      stateSecret: 'a-state-secret-of-at-least-32-characters',
      redirectUri: null,
    });
    expect(config.slack.tokenEncryptionKeys).toEqual([Buffer.from(key, 'base64')]);
  });

  it('keeps single-workspace mode with the bot token alone', () => {
    const config = loadConfig({ ...base, SLACK_BOT_TOKEN: 'xoxb-1' });

    expect(config.slack.oauth).toBeNull();
    expect(config.slack.botToken).toBe('xoxb-1');
  });

  it('asks for the bot token or OAuth when neither is set', () => {
    expect(problemsOf(base)).toEqual([
      'SLACK_BOT_TOKEN is required (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install by OAuth)',
    ]);
  });

  it('names each OAuth setting that is missing', () => {
    expect(problemsOf({ ...base, SLACK_CLIENT_ID: '1111.2222' })).toEqual([
      'SLACK_CLIENT_SECRET is required to install by OAuth (with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)',
      'SLACK_STATE_SECRET is required to install by OAuth (with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)',
      'TOKEN_ENCRYPTION_KEYS is required to install by OAuth (with SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)',
    ]);
  });

  it('refuses a short state secret and keys that are not 32 bytes, without echoing them', () => {
    const problems = problemsOf({
      ...base,
      ...oauth,
      SLACK_STATE_SECRET: 'short',
      TOKEN_ENCRYPTION_KEYS: `${key},${randomBytes(16).toString('base64')}`,
    });

    expect(problems).toEqual([
      'SLACK_STATE_SECRET must be at least 32 characters (a random secret)',
      'TOKEN_ENCRYPTION_KEYS must be a comma-separated list of 32-byte keys in base64 (openssl rand -base64 32), newest first',
    ]);
    expect(problems.join('\n')).not.toContain(key);
  });
});
