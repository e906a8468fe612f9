import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, loadConfig } from '../../src/config.ts';

const minimal = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'secret', AWS_REGION: 'eu-west-1' };

describe('configuration', () => {
  it('names every missing required variable in one error', () => {
    const error = (() => {
      try {
        loadConfig({});
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('SLACK_BOT_TOKEN is required');
    expect(message).toContain('SLACK_SIGNING_SECRET is required');
    expect(message).toContain('AWS_REGION is required');
  });

  it('lists invalid values by name without echoing them', () => {
    const env = {
      ...minimal,
      SLACK_BOT_TOKEN: 'xoxp-user-token-value',
      PORT: 'eighty',
      REDIS_URL: 'http://x',
    };
    expect(() => loadConfig(env)).toThrow(ConfigError);
    try {
      loadConfig(env);
    } catch (error) {
      const { problems, message } = error as ConfigError;
      expect(problems.map((p) => p.split(' ')[0])).toEqual(
        expect.arrayContaining(['SLACK_BOT_TOKEN', 'PORT', 'REDIS_URL']),
      );
      expect(message).not.toContain('xoxp-user-token-value');
    }
  });

  it('does not need a signing secret in Socket Mode', () => {
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-1',
      SLACK_APP_TOKEN: 'xapp-1',
      AWS_REGION: 'us-east-1',
    });
    expect(config.slack.appToken).toBe('xapp-1');
    expect(config.slack.signingSecret).toBeNull();
  });

  it('applies the documented defaults', () => {
    const config = loadConfig(minimal);
    expect(config.port).toBe(3000);
    expect(config.slack.apiUrl).toBe('https://slack.com/api/');
    expect(config.redis).toBeNull();
    expect(config.bedrock.modelId).toMatch(/^us\.anthropic\.claude-sonnet/);
    expect(config.conversation.threadReplyPolicy).toBe('participants');
    expect(config.bedrock.knowledgeBaseId).toBeNull();
  });

  it('parses lists, booleans and a Redis cluster URL', () => {
    const config = loadConfig({
      ...minimal,
      ALLOWED_CHANNEL_IDS: 'C1, C2,,',
      REDIS_URL: 'rediss://user:pw@cache:6379',
      REDIS_CLUSTER: 'true',
      SLACK_API_URL: 'http://127.0.0.1:9999/api',
    });
    expect(config.conversation.allowedChannelIds).toEqual(['C1', 'C2']);
    expect(config.redis).toEqual({
      url: 'rediss://user:pw@cache:6379',
      cluster: true,
      keyPrefix: 'slackbot:',
    });
    expect(config.slack.apiUrl).toBe('http://127.0.0.1:9999/api/');
  });

  it('needs a named guardrail version with a guardrail id, and streams it async unless told sync', () => {
    const problems = (() => {
      try {
        loadConfig({ ...minimal, BEDROCK_GUARDRAIL_ID: 'gr1' });
      } catch (error) {
        return (error as ConfigError).problems;
      }
    })();
    const config = loadConfig({ ...minimal, BEDROCK_GUARDRAIL_ID: 'gr1', BEDROCK_GUARDRAIL_VERSION: '2' });

    expect(problems).toEqual([expect.stringMatching(/^BEDROCK_GUARDRAIL_VERSION is required/)]);
    expect(config.bedrock.guardrail).toEqual({ id: 'gr1', version: '2', streamProcessingMode: 'async' });
  });

  it('reads a price table as JSON and names it when it is not valid', () => {
    const prices = '{"acme.model": {"input": 1, "output": 2}}';
    const config = loadConfig({ ...minimal, BEDROCK_PRICES: prices });

    expect(config.bedrock.prices).toEqual({ 'acme.model': { input: 1, output: 2 } });
    for (const bad of ['{not json', '{"acme.model": {"input": "cheap"}}'])
      expect(() => loadConfig({ ...minimal, BEDROCK_PRICES: bad })).toThrow(/BEDROCK_PRICES/);
  });

  it('offers the default model among the channel model choices, once', () => {
    const config = loadConfig({
      ...minimal,
      BEDROCK_MODEL_ID: 'amazon.nova-pro-v1:0',
      BEDROCK_MODEL_CHOICES: 'amazon.nova-lite-v1:0, amazon.nova-pro-v1:0',
    });

    expect(config.bedrock.modelChoices).toEqual(['amazon.nova-pro-v1:0', 'amazon.nova-lite-v1:0']);
  });

  it('reads trusted link hosts as lower-case punycode names, and none by default', () => {
    const config = loadConfig({ ...minimal, TRUSTED_LINK_HOSTS: ' Example.COM, docs.bücher.example. ,' });

    expect(config.slack.trustedLinkHosts).toEqual(['example.com', 'docs.xn--bcher-kva.example']);
    expect(loadConfig(minimal).slack.trustedLinkHosts).toEqual([]);
  });

  it('refuses a trusted link host written as a URL, a pattern or with a port', () => {
    for (const value of [
      'https://docs.example.com',
      '*.example.com',
      'example.com:443',
      'example.com/docs',
    ]) {
      expect(() => loadConfig({ ...minimal, TRUSTED_LINK_HOSTS: value }), value).toThrow(
        /TRUSTED_LINK_HOSTS/,
      );
    }
  });
});

describe('the configuration guide (docs/configuration.md)', () => {
  it('documents every configuration variable the bot reads', () => {
    const guide = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    const undocumented = CONFIG_VARIABLES.filter((name) => !guide.includes(`| \`${name}\` |`));
    expect(undocumented).toEqual([]);
  });
});
