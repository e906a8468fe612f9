/**
 * The bot as a process after a programming error: an uncaught exception, or a promise rejection
 * nobody handles, is logged at fatal and ends the process with a non-zero code, for the
 * orchestrator to restart it. The error is injected from outside the bot's code: the test preloads
 * a module (`node --import`) that throws, or rejects, when the process gets SIGUSR2.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_AFTER_CRASH } from '../../src/crash-policy.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { type BotProcess, spawnBot, waitUntilHealthy } from '../support/bot-process.ts';
import { freePort } from '../support/free-port.ts';

const injector = fileURLToPath(new URL('../support/inject-fault.ts', import.meta.url));

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A healthy bot process with the fault injector loaded. */
async function startFaultyBot(fault: 'exception' | 'rejection'): Promise<BotProcess> {
  const slack = await FakeSlack.start();
  cleanups.push(() => slack.stop());
  const port = await freePort();
  const bot = await spawnBot(
    {
      SLACK_BOT_TOKEN: slack.botToken,
      SLACK_SIGNING_SECRET: slack.signingSecret,
      SLACK_API_URL: slack.apiUrl,
      AWS_REGION: 'us-east-1',
      PORT: String(port),
      INJECT_FAULT: fault,
    },
    { nodeArgs: ['--import', injector] },
  );
  cleanups.push(bot.cleanup);
  await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, bot);
  return bot;
}

/** The exit code, or 'still running' after `ms`. */
async function exitCodeWithin(bot: BotProcess, ms: number): Promise<number | null | 'still running'> {
  let timer: NodeJS.Timeout | undefined;
  const running = new Promise<'still running'>((resolve) => {
    timer = setTimeout(() => resolve('still running'), ms);
  });
  const result = await Promise.race([bot.exited.then(({ code }) => code), running]);
  clearTimeout(timer);
  return result;
}

describe('after a programming error', () => {
  it.each([
    ['an uncaught exception', 'exception', 'uncaughtException'],
    ['an unhandled promise rejection', 'rejection', 'unhandledRejection'],
  ] as const)(
    'logs %s at fatal and exits non-zero instead of running on',
    async (_name, fault, origin) => {
      const bot = await startFaultyBot(fault);

      bot.child.kill('SIGUSR2');
      const code = await exitCodeWithin(bot, 10_000);

      expect(code, bot.output()).toBe(EXIT_AFTER_CRASH);
      const lines = bot
        .stdout()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const fatal = lines.find((line) => line.level === 'fatal');
      expect(fatal).toMatchObject({ origin, err: { message: expect.stringContaining('injected fault') } });
      expect(bot.output()).not.toContain('injected-secret');
    },
    30_000,
  );
});
