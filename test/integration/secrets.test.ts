/**
 * No secret in the logs: the bot runs as a process at LOG_LEVEL=debug with known secret values
 * (Slack bot token and signing secret, AWS secret key and session token, a Redis password in
 * REDIS_URL), answers a mention, a /ask and a failing model call; then none of those values may
 * appear anywhere in what it wrote to stdout or stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-server-process.ts';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';

const mainPath = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const secret = (prefix = '') => `${prefix}${randomBytes(16).toString('hex')}`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitUntilHealthy(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the bot exited early:\n${output()}`);
    const status = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the bot did not answer ${url}:\n${output()}`);
}

describe('secrets', () => {
  it('never writes a secret to stdout or stderr, even at debug level, and logs JSON lines', async () => {
    const secrets = {
      botToken: secret('xoxb-'),
      signingSecret: secret(),
      awsSecretKey: secret(),
      awsSessionToken: secret(),
      redisPassword: secret(),
    };
    const redisServer = await startRedisServer();
    cleanups.push(() => redisServer.stop());
    const admin = new Redis(redisServer.url);
    await admin.config('SET', 'requirepass', secrets.redisPassword);
    admin.disconnect();
    const slack = await FakeSlack.start({ botToken: secrets.botToken, signingSecret: secrets.signingSecret });
    const bedrock = await FakeBedrockRuntime.start();
    cleanups.push(
      () => slack.stop(),
      () => bedrock.stop(),
    );
    const port = await freePort();
    const cwd = await mkdtemp(join(tmpdir(), 'bot-secrets-'));
    const child = spawn(process.execPath, [mainPath], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: cwd,
        SLACK_BOT_TOKEN: secrets.botToken,
        SLACK_SIGNING_SECRET: secrets.signingSecret,
        SLACK_API_URL: slack.apiUrl,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: secrets.awsSecretKey,
        AWS_SESSION_TOKEN: secrets.awsSessionToken,
        AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
        REDIS_URL: `redis://default:${secrets.redisPassword}@127.0.0.1:${redisServer.port}`,
        REDIS_KEY_PREFIX: 'test:secrets:',
        PORT: String(port),
        LOG_LEVEL: 'debug',
        STREAM_FLUSH_INTERVAL_MS: '100',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      await rm(cwd, { recursive: true, force: true });
    });
    const output = () => `${stdout}\n${stderr}`;
    const answerLines = () => stdout.split('\n').filter((line) => line.includes('"msg":"answer"')).length;

    await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, child, output);
    slack.setBotEndpoint(`http://127.0.0.1:${port}/slack/events`);
    bedrock.setHandler((request) => {
      const last = JSON.stringify(request.body.messages?.at(-1) ?? '');
      return last.includes('fail please') ? { error: 'AccessDeniedException' } : { text: `Answer to ${last}` };
    });
    await slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hello' });
    await slack.waitFor(() => answerLines() >= 1, 10_000);
    await slack.sendCommand({ channel: 'C0001', user: 'U0001', text: 'what is new?' });
    await slack.waitFor(() => answerLines() >= 2, 10_000);
    await slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> fail please' });
    await slack.waitFor(() => answerLines() >= 3, 10_000);
    child.kill('SIGTERM');
    const code = await exited;

    expect(code, output()).toBe(0);
    expect(stdout).toContain('"surface":"command","outcome":"answered"');
    expect(stdout).toContain('"outcome":"failed"');
    const lines = stdout.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(5);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    for (const [name, value] of Object.entries(secrets)) {
      expect(output().includes(value), `${name} appears in the output`).toBe(false);
    }
  }, 60_000);

  it('names no secret when Slack rejects the bot token at start-up and Redis refuses the password', async () => {
    const secrets = { botToken: secret('xoxb-'), signingSecret: secret(), redisPassword: secret() };
    const redisServer = await startRedisServer();
    cleanups.push(() => redisServer.stop());
    const admin = new Redis(redisServer.url);
    await admin.config('SET', 'requirepass', secret());
    admin.disconnect();
    const slack = await FakeSlack.start(); // knows another bot token: auth.test answers invalid_auth
    cleanups.push(() => slack.stop());
    const cwd = await mkdtemp(join(tmpdir(), 'bot-secrets-'));
    cleanups.push(() => rm(cwd, { recursive: true, force: true }));
    const child = spawn(process.execPath, [mainPath], {
      cwd,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: cwd,
        SLACK_BOT_TOKEN: secrets.botToken,
        SLACK_SIGNING_SECRET: secrets.signingSecret,
        SLACK_API_URL: slack.apiUrl,
        AWS_REGION: 'us-east-1',
        REDIS_URL: `redis://default:${secrets.redisPassword}@127.0.0.1:${redisServer.port}`,
        PORT: String(await freePort()),
        LOG_LEVEL: 'debug',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);

    expect(code).not.toBe(0);
    expect(output).toContain('SLACK_BOT_TOKEN');
    for (const [name, value] of Object.entries(secrets)) {
      expect(output.includes(value), `${name} appears in the output`).toBe(false);
    }
  }, 30_000);
});
