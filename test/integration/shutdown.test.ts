/**
 * The bot as a process (`node src/main.ts`, what `npm start` runs after its build): start-up with a
 * bad environment, and SIGTERM while an answer streams. The child runs in an empty temporary
 * directory, so a developer's `.env` (read from the working directory) cannot leak in, and gets
 * only the environment given here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeBedrockRuntime } from '../stand-ins/fake-bedrock-runtime.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { type BotProcess, spawnBot, waitUntilHealthy } from '../support/bot-process.ts';
import { freePort } from '../support/free-port.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The bot process, stopped after the test. */
async function startBot(env: Record<string, string>): Promise<BotProcess> {
  const bot = await spawnBot(env);
  cleanups.push(bot.cleanup);
  return bot;
}

/** The bot process on fresh Slack and Bedrock stand-ins, healthy and receiving events. */
async function botOnStandIns(shutdownTimeoutMs: string) {
  const slack = await FakeSlack.start();
  const bedrock = await FakeBedrockRuntime.start();
  cleanups.push(
    () => slack.stop(),
    () => bedrock.stop(),
  );
  const port = await freePort();
  const bot = await startBot({
    SLACK_BOT_TOKEN: slack.botToken,
    SLACK_SIGNING_SECRET: slack.signingSecret,
    SLACK_API_URL: slack.apiUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'test-aws-secret',
    AWS_ENDPOINT_URL_BEDROCK_RUNTIME: bedrock.url,
    PORT: String(port),
    STREAM_FLUSH_INTERVAL_MS: '100',
    SHUTDOWN_TIMEOUT_MS: shutdownTimeoutMs,
  });
  await waitUntilHealthy(`http://127.0.0.1:${port}/healthz`, bot);
  slack.setBotEndpoint(`http://127.0.0.1:${port}/slack/events`);
  return { slack, bedrock, bot, port };
}

describe('the bot process', () => {
  it('exits non-zero with one message naming every missing variable when the environment is empty', async () => {
    const bot = await startBot({});

    const { code } = await bot.exited;

    const output = bot.output();
    expect(code).not.toBe(0);
    expect(output.match(/Invalid configuration/g)).toHaveLength(1);
    expect(output).toContain('SLACK_BOT_TOKEN');
    expect(output).toContain('SLACK_SIGNING_SECRET');
    expect(output).toContain('AWS_REGION');
  });

  it('finishes the answer it is streaming when it gets SIGTERM, takes no new question, then exits 0', async () => {
    const { slack, bedrock, bot, port } = await botOnStandIns('15000');
    // About three seconds of streaming.
    const answer = Array.from({ length: 20 }, (_, i) => `part ${i + 1}`).join(', ');
    bedrock.enqueue({ text: FakeBedrockRuntime.chunksOf(answer, 8), chunkDelayMs: 150 });

    const sent = await slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> go slowly' });
    await slack.waitFor(() => bedrock.requests[0]?.firstTokenAtMs, 10_000);
    bot.child.kill('SIGTERM');
    await slack.waitFor(() => bot.output().includes('"msg":"shutting down"'), 5_000);
    const readyWhileStopping = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status);
    const late = await slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> too late?' });
    const { code } = await bot.exited;

    const replies = slack.botReplies('C0001', sent.ts);
    expect(code, bot.output()).toBe(0);
    expect(readyWhileStopping).toBe(503);
    expect(late.status).toBe(200);
    expect(bedrock.requests).toHaveLength(1);
    expect(slack.botReplies('C0001', late.ts).map((m) => slack.displayText(m))).toEqual([
      expect.stringMatching(/restarting/),
    ]);
    expect(bedrock.requests[0]?.outcome).toBe('completed');
    expect(bedrock.requests[0]?.endedAtMs).toBeGreaterThan(bedrock.requests[0]?.firstTokenAtMs ?? 0);
    expect(replies.map((m) => slack.displayText(m)).join('\n')).toBe(answer);
    expect(replies.every((m) => m.streamState !== 'open')).toBe(true);
  }, 60_000);

  it('stops an answer still running at the shutdown bound with a restart note, tells the question waiting behind it, and exits 0', async () => {
    const { slack, bedrock, bot } = await botOnStandIns('3000');
    // About ten seconds of streaming: 100 chunks, 100 ms apart.
    const answer = Array.from({ length: 100 }, (_, i) => `w${i}`).join(' ');
    bedrock.enqueue({ text: FakeBedrockRuntime.chunksOf(answer, 3), chunkDelayMs: 100 });
    const sent = await slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> go slowly' });
    await slack.waitFor(() => bedrock.requests[0]?.firstTokenAtMs, 10_000);
    const queued = await slack.postUserMessage({
      channel: 'C0001',
      user: 'U0002',
      text: '<@UBOT> and me?',
      threadTs: sent.ts,
    });
    await slack.waitFor(() => slack.messages.find((m) => m.ts === queued.ts)?.reactions.includes('eyes'));

    const signalledAtMs = Date.now();
    bot.child.kill('SIGTERM');
    const { code } = await bot.exited;
    const exitMs = Date.now() - signalledAtMs;

    const texts = slack.botReplies('C0001', sent.ts).map((m) => slack.displayText(m));
    expect(code, bot.output()).toBe(0);
    expect(exitMs).toBeLessThan(3_500);
    expect(bedrock.requests[0]?.outcome).toBe('cancelled');
    const answerText = texts.find((t) => t.startsWith('w0 w1'));
    expect(answerText).toMatch(/Interrupted by a restart/);
    expect(answerText?.length).toBeLessThan(answer.length);
    expect(texts).toContainEqual(expect.stringMatching(/I'm restarting, so I couldn't get to this question/));
    expect(slack.botReplies('C0001', sent.ts).every((m) => m.streamState !== 'open')).toBe(true);
    expect(bedrock.requests).toHaveLength(1);
  }, 60_000);
});
