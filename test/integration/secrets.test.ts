/**
 * No secret in the logs: the bot runs as a process (`node src/main.ts`) at LOG_LEVEL=debug with
 * known secret values (Slack bot token and signing secret, AWS secret key and session token, a Redis
 * password in REDIS_URL); after it has worked, and failed, none of those values may appear anywhere
 * in what it wrote to stdout or stderr. The child runs in an empty temporary directory so that no
 * `.env` is read, with exactly the environment given here.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { type BotProcess, spawnBot, waitUntilHealthy } from '../support/bot-process.ts';
import { freePort } from '../support/free-port.ts';
import { type RedisServerProcess, startRedisServer } from '../support/redis-server-process.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const secret = (prefix = '') => `${prefix}${randomBytes(16).toString('hex')}`;

/** The bot at LOG_LEVEL=debug on a free port; stopped after the test. */
async function spawnDebugBot(env: Record<string, string>): Promise<BotProcess & { port: number }> {
  const port = await freePort();
  const bot = await spawnBot({ PORT: String(port), LOG_LEVEL: 'debug', ...env });
  cleanups.push(bot.cleanup);
  return { ...bot, port };
}

/** A throwaway redis-server that only takes `password`. */
async function redisWithPassword(password: string): Promise<RedisServerProcess> {
  const server = await startRedisServer();
  cleanups.push(() => server.stop());
  const admin = new Redis(server.url);
  await admin.config('SET', 'requirepass', password);
  admin.disconnect();
  return server;
}

async function standIns(options: { botToken?: string; signingSecret?: string } = {}) {
  const slack = await FakeSlack.start(options);
  const bedrock = await FakeBedrockRuntime.start();
  cleanups.push(
    () => slack.stop(),
    () => bedrock.stop(),
  );
  return { slack, bedrock };
}

function expectNoSecret(output: string, secrets: Record<string, string>): void {
  for (const [name, value] of Object.entries(secrets)) {
    expect(output.includes(value), `${name} appears in the output`).toBe(false);
  }
}

describe('secrets', () => {
  it('never writes a secret to stdout or stderr at debug level, and logs only JSON lines', async () => {
    const secrets = {
      botToken: secret('xoxb-'),
      signingSecret: secret(),
      awsSecretKey: secret(),
      awsSessionToken: secret(),
      redisPassword: secret(),
    };
    const redis = await redisWithPassword(secrets.redisPassword);
    const { slack, bedrock } = await standIns(secrets);
    const bot = await spawnDebugBot({
      SLACK_BOT_TOKEN: secrets.botToken,
      SLACK_SIGNING_SECRET: secrets.signingSecret,
      SLACK_API_URL: slack.apiUrl,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: secrets.awsSecretKey,
      AWS_SESSION_TOKEN: secrets.awsSessionToken,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
      REDIS_URL: `redis://default:${secrets.redisPassword}@127.0.0.1:${redis.port}`,
      REDIS_KEY_PREFIX: 'test:secrets:',
      STREAM_FLUSH_INTERVAL_MS: '100',
    });
    const answerLines = () =>
      bot
        .stdout()
        .split('\n')
        .filter((l) => l.includes('"msg":"answer"')).length;
    await waitUntilHealthy(`http://127.0.0.1:${bot.port}/healthz`, bot);
    slack.setBotEndpoint(`http://127.0.0.1:${bot.port}/slack/events`);
    bedrock.setHandler((request) => {
      const last = JSON.stringify(request.body.messages?.at(-1) ?? '');
      return last.includes('fail please')
        ? { error: 'AccessDeniedException' }
        : { text: `Answer to ${last}` };
    });

    await slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hello' });
    await slack.waitFor(() => answerLines() >= 1, 10_000);
    await slack.sendCommand({ channel: 'C0001', user: 'U0001', text: 'what is new?' });
    await slack.waitFor(() => answerLines() >= 2, 10_000);
    await slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> fail please' });
    await slack.waitFor(() => answerLines() >= 3, 10_000);
    bot.child.kill('SIGTERM');
    const { code } = await bot.exited;

    expect(code, bot.output()).toBe(0);
    expect(bot.stdout()).toContain('"surface":"command","outcome":"answered"');
    expect(bot.stdout()).toContain('"outcome":"failed"');
    const lines = bot
      .stdout()
      .split('\n')
      .filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expectNoSecret(bot.output(), secrets);
  }, 60_000);

  it('names no secret while Redis refuses its password', async () => {
    const secrets = { botToken: secret('xoxb-'), signingSecret: secret(), redisPassword: secret() };
    const redis = await redisWithPassword(secret());
    const { slack } = await standIns(secrets);
    const bot = await spawnDebugBot({
      SLACK_BOT_TOKEN: secrets.botToken,
      SLACK_SIGNING_SECRET: secrets.signingSecret,
      SLACK_API_URL: slack.apiUrl,
      AWS_REGION: 'us-east-1',
      REDIS_URL: `redis://default:${secrets.redisPassword}@127.0.0.1:${redis.port}`,
    });
    await waitUntilHealthy(`http://127.0.0.1:${bot.port}/healthz`, bot);
    slack.setBotEndpoint(`http://127.0.0.1:${bot.port}/slack/events`);

    const sent = await slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hello' });
    await slack.waitFor(
      () => slack.botReplies('C0001', sent.ts).some((m) => /can't reach my memory/.test(m.text)),
      15_000,
    );
    bot.child.kill('SIGTERM');
    await bot.exited;

    expect(bot.output()).toContain('store unavailable');
    expectNoSecret(bot.output(), secrets);
    expectNoSecret(slack.messages.map((m) => m.text).join('\n'), secrets);
  }, 60_000);

  it('names no secret when Slack rejects the bot token at start-up', async () => {
    const secrets = { botToken: secret('xoxb-'), signingSecret: secret() };
    const { slack } = await standIns(); // knows another token: auth.test answers invalid_auth
    const bot = await spawnDebugBot({
      SLACK_BOT_TOKEN: secrets.botToken,
      SLACK_SIGNING_SECRET: secrets.signingSecret,
      SLACK_API_URL: slack.apiUrl,
      AWS_REGION: 'us-east-1',
    });

    const { code } = await bot.exited;

    expect(code).not.toBe(0);
    expect(bot.output()).toContain('SLACK_BOT_TOKEN');
    expectNoSecret(bot.output(), secrets);
  }, 30_000);
});
