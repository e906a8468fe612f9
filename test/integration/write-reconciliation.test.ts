import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.ts';
import { createMetrics } from '../../src/metrics.ts';
import { SlackApi, SlackCallError } from '../../src/slack/slack-api.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { botMessages, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { freePort } from '../support/free-port.ts';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

const PARAGRAPHS = [
  'Refunds are issued to the original payment method.',
  'Card refunds take three to five business days.',
  'Bank transfers can take up to ten days.',
  'Ask the billing team when a refund is late.',
];
const ANSWER = PARAGRAPHS.join('\n\n');

/** The answer in word-sized deltas, slow enough that it takes several writes to show. */
function streamSlowly(h: Harness, text = ANSWER): void {
  h.bedrock.enqueue({ text: text.split(/(?<= )/), chunkDelayMs: 15 });
}

function occurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** What a person sees: every paragraph once, in one finished answer message, no stream left open. */
function expectShownOnce(h: Harness, threadTs: string, text = ANSWER): void {
  const messages = botMessages(h, 'C0001', threadTs);
  const shown = threadText(h, 'C0001', threadTs);
  for (const paragraph of text.split('\n\n')) expect(occurrences(shown, paragraph)).toBe(1);
  expect(shown).toBe(text);
  expect(messages.filter((m) => m.streamState === 'open')).toEqual([]);
}

function lostCalls(h: Harness, method: string): number {
  return h.slack.callsTo(method).filter((call) => call.responseLost).length;
}

describe('a Slack write whose response is lost after Slack applied it', () => {
  it('shows the paragraph of a lost chat.appendStream once, in one stopped message', async () => {
    h = await startHarness();
    h.slack.failNext('chat.appendStream', { appliedButLost: true });
    streamSlowly(h);

    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);

    expect(lostCalls(h, 'chat.appendStream')).toBe(1);
    expectShownOnce(h, sent.ts);
    expect(botMessages(h, 'C0001', sent.ts)).toMatchObject([{ streamState: 'stopped' }]);
  });

  it('adopts the stream of a lost chat.startStream instead of opening a second one', async () => {
    h = await startHarness();
    h.slack.failNext('chat.startStream', { appliedButLost: true });
    streamSlowly(h);

    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);

    expect(lostCalls(h, 'chat.startStream')).toBe(1);
    expectShownOnce(h, sent.ts);
    expect(botMessages(h, 'C0001', sent.ts)).toMatchObject([{ streamState: 'stopped' }]);
  });

  it('does not repeat the last paragraph when the response of chat.stopStream is lost', async () => {
    h = await startHarness();
    h.slack.failNext('chat.stopStream', { appliedButLost: true });
    streamSlowly(h);

    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);

    expect(lostCalls(h, 'chat.stopStream')).toBe(1);
    expectShownOnce(h, sent.ts);
    expect(botMessages(h, 'C0001', sent.ts)).toMatchObject([{ streamState: 'stopped' }]);
  });

  it('adopts the message of a lost chat.postMessage instead of posting the answer twice', async () => {
    h = await startHarness({ env: { SLACK_STREAMING: 'update' } });
    h.slack.failNext('chat.postMessage', { appliedButLost: true });
    streamSlowly(h);

    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> refunds?' });
    await waitForAnswers(h, 1);

    expect(lostCalls(h, 'chat.postMessage')).toBe(1);
    expectShownOnce(h, sent.ts);
    expect(botMessages(h, 'C0001', sent.ts)).toHaveLength(1);
  });

  it('never takes an earlier answer’s stream in the thread for a lost stream start', async () => {
    // Stream starts unbudgeted, so that every message of both answers is a native stream.
    h = await startHarness({ env: { SLACK_WRITE_BUDGET_SCALE: '0' } });
    const first = Array.from({ length: 50 }, (_, i) => `First ${i}: ${'word '.repeat(80).trim()}.`).join(
      '\n\n',
    );
    h.bedrock.enqueue({ text: first.match(/[\s\S]{1,400}/g) ?? [], chunkDelayMs: 40 });
    streamSlowly(h);
    const root = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> first' });
    await h.slack.waitFor(() => h.slack.callsTo('chat.startStream').length === 1);

    // Asked while the first answer streams: that answer's second message (after about 12,000 of its
    // 20,000 characters) comes after this question; the second answer starts only once it ended.
    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> refunds?',
      threadTs: root.ts,
    });
    await h.slack.waitFor(() => h.slack.callsTo('chat.startStream').length >= 2);
    h.slack.failNext('chat.startStream', { appliedButLost: true });
    await waitForAnswers(h, 2, 20_000);

    expect(lostCalls(h, 'chat.startStream')).toBe(1);
    const messages = botMessages(h, 'C0001', root.ts);
    expect(messages.filter((m) => m.streamState !== 'stopped')).toEqual([]);
    expect(h.slack.displayText(messages.at(-1) as never)).toBe(ANSWER);
    expect(
      messages
        .slice(0, -1)
        .map((m) => h.slack.displayText(m))
        .join('')
        .replace(/\s+/g, ' '),
    ).toBe(first.replace(/\s+/g, ' '));
  }, 30_000);

  it('adopts a lost continuation message of a long answer, keeping every page once', async () => {
    h = await startHarness({ env: { SLACK_STREAMING: 'update' } });
    const paragraphs = Array.from(
      { length: 40 },
      (_, i) => `Paragraph ${i}: ${'detail '.repeat(60).trim()}.`,
    );
    const answer = paragraphs.join('\n\n');
    h.bedrock.enqueue({ text: answer.match(/[\s\S]{1,400}/g) ?? [], chunkDelayMs: 10 });

    const sent = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> everything',
    });
    // The first message is posted normally; the post that continues it is the one whose response is lost.
    await h.slack.waitFor(() => h.slack.callsTo('chat.postMessage').length === 1);
    h.slack.failNext('chat.postMessage', { appliedButLost: true });
    await waitForAnswers(h, 1);

    expect(lostCalls(h, 'chat.postMessage')).toBe(1);
    expect(botMessages(h, 'C0001', sent.ts)).toHaveLength(2);
    const shown = botMessages(h, 'C0001', sent.ts)
      .map((m) => h.slack.displayText(m))
      .join('');
    for (const paragraph of paragraphs) expect(occurrences(shown, paragraph)).toBe(1);
    expect(shown.replace(/\s+/g, ' ')).toBe(answer.replace(/\s+/g, ' '));
  });
});

describe('telling a write Slack may have applied from one it never got', () => {
  function slackApiAt(apiUrl: string): SlackApi {
    return new SlackApi({
      token: 'xoxb-test',
      apiUrl,
      metrics: createMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: 'silent' }),
    });
  }

  async function failureOf(call: Promise<unknown>): Promise<SlackCallError> {
    const error = await call.then(
      () => null,
      (thrown: unknown) => thrown,
    );
    if (!(error instanceof SlackCallError)) throw new Error('expected a SlackCallError');
    return error;
  }

  it('says a dropped response may have been applied, and a refused connection was not', async () => {
    const slack = await FakeSlack.start();
    try {
      slack.failNext('chat.postMessage', { appliedButLost: true });
      const lost = await failureOf(
        slackApiAt(slack.apiUrl).call('chat.postMessage', { channel: 'C0001', text: 'x' }),
      );
      const refused = await failureOf(
        slackApiAt(`http://127.0.0.1:${await freePort()}/api/`).call('chat.postMessage', {
          channel: 'C0001',
          text: 'x',
        }),
      );

      expect(lost).toMatchObject({ code: 'request_failed', mayHaveApplied: true });
      expect(refused).toMatchObject({ code: 'request_failed', mayHaveApplied: false });
    } finally {
      await slack.stop();
    }
  });
});
