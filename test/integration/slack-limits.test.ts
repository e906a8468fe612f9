/**
 * Slack's real limits, end to end: the budget shaped like Slack's tiers (per-minute windows) decides
 * how each answer is written, and every answer lands exactly, however tight it is.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { IN_PROGRESS_BLOCK_ID } from '../../src/slack/answer-stream/message-blocks.ts';
import type { FakeMessage, RecordedCall } from '../stand-ins/fake-slack.ts';
import { botMessages, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { testRedisEnv } from '../support/test-redis.ts';

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

const hasMark = (message: FakeMessage) => JSON.stringify(message.blocks ?? []).includes(IN_PROGRESS_BLOCK_ID);

describe("Slack's limits", () => {
  it('shows that a posted-and-edited answer is still being written until its final write', async () => {
    const bot = await startHarness({ env: { SLACK_STREAMING: 'update', STREAM_FLUSH_INTERVAL_MS: '200' } });
    h = bot;
    const answer = Array.from({ length: 12 }, (_, i) => `Part ${i} of the answer.`).join(' ');
    h.bedrock.enqueue({ text: chunks(answer, 25), chunkDelayMs: 120 });
    const seen: Array<{ text: string; marked: boolean }> = [];
    bot.slack.events.on('message', (message: FakeMessage) => {
      if (message.botId === bot.slack.botId && message.threadTs)
        seen.push({ text: bot.slack.displayText(message), marked: hasMark(message) });
    });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> explain' });
    await waitForAnswers(h, 1);

    const partials = seen.slice(0, -1).filter((state) => state.text.startsWith('Part'));
    const last = seen.at(-1);
    expect(partials.length).toBeGreaterThan(1);
    expect(partials.every((state) => state.marked)).toBe(true);
    expect(last).toEqual({ text: answer, marked: false });
    expect(threadText(h, 'C0001', sent.ts)).toBe(answer);
  });

  it('in a flood beyond the budget, posts answers whole once complete with the working status shown, and loses none', async () => {
    // A tenth of the tiers: 2 stream starts and stops, 5 edits, 10 appends a minute, one post per
    // channel in 10 s; the stand-in enforces the same per-minute windows.
    // On Redis, as replicas share it: budget calls take a round trip, during which more text arrives.
    h = await startHarness({
      env: {
        SLACK_WRITE_BUDGET_SCALE: '0.1',
        STREAM_FLUSH_INTERVAL_MS: '200',
        ...testRedisEnv('slack-limits'),
      },
    });
    const limits = { 'chat.startStream': 2, 'chat.stopStream': 2, 'chat.update': 5, 'chat.appendStream': 10 };
    for (const [method, perMinute] of Object.entries(limits)) h.slack.setRateLimit(method, { perMinute });
    h.slack.setRateLimit('chat.postMessage', { perMinute: 6, perChannel: true });
    const channels = Array.from({ length: 9 }, (_, i) => `C1${String(i).padStart(3, '0')}`);
    for (const id of channels) h.slack.addChannel({ id, name: id.toLowerCase() });
    const answerFor = (channel: string) => `The answer for ${channel}: ${'words of it '.repeat(12).trim()}.`;
    h.bedrock.setHandler((request) => {
      const question = JSON.stringify(request.body.messages);
      const channel = channels.find((id) => question.includes(id)) ?? '';
      return { text: chunks(answerFor(channel), 20), chunkDelayMs: 60 };
    });

    const sent = await Promise.all(
      channels.map((channel) =>
        h?.slack.postUserMessage({ channel, user: 'U0001', text: `<@UBOT> question in ${channel}` }),
      ),
    );
    await waitForAnswers(h, channels.length, 20_000);

    const messages = channels.map((channel, i) => botMessages(h as Harness, channel, sent[i]?.ts ?? ''));
    channels.forEach((channel, i) => {
      expect(threadText(h as Harness, channel, sent[i]?.ts ?? '')).toBe(answerFor(channel));
    });
    expect(messages.every((list) => list.length === 1)).toBe(true);
    const streamed = messages.filter((list) => list[0]?.streamState !== null);
    const postedWhole = messages.filter((list) => {
      const ts = list[0]?.ts;
      return list[0]?.streamState === null && !h?.slack.callsTo('chat.update').some((c) => c.args.ts === ts);
    });
    expect(streamed).toHaveLength(2);
    expect(postedWhole.length).toBeGreaterThan(0);
    for (const [message] of postedWhole) {
      const working = h.slack
        .callsTo('assistant.threads.setStatus')
        .filter((c: RecordedCall) => c.args.thread_ts === message?.threadTs && c.args.status !== '');
      expect(working.length).toBeGreaterThan(0);
      expect(hasMark(message as FakeMessage)).toBe(false);
    }
    expect(h.slack.calls.filter((call) => call.status === 429)).toEqual([]);
  });

  it('lowers the allowance it assumes after a 429 and shows it in /metrics', async () => {
    h = await startHarness();
    h.slack.failNext('chat.appendStream', { status: 429, retryAfterS: 1 });
    h.bedrock.enqueue({
      text: chunks('A short answer that streams in a few appends.', 6),
      chunkDelayMs: 150,
    });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' });
    await waitForAnswers(h, 1);

    const metrics = await (await fetch(`${h.botUrl}/metrics`)).text();
    expect(metrics).toContain('slackbot_slack_write_allowance_per_minute{method="chat.appendStream"} 75');
    expect(threadText(h, 'C0001', sent.ts)).toBe('A short answer that streams in a few appends.');
  });
});
