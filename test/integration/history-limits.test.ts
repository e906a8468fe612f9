/**
 * Slack's history limits for apps distributed outside the Marketplace (SLACK_APP_DISTRIBUTION=
 * commercial): conversations.replies once a minute, 15 messages. A thread is read once and kept;
 * a read Slack would refuse is not tried, and the answer says so in one line.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

const UNREAD_NOTE = "Slack lets me read this thread's earlier messages only once a minute here";

let harnesses: Harness[] = [];
async function start(env: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness({ env: { SLACK_APP_DISTRIBUTION: 'commercial', ...env } });
  harnesses.push(h);
  return h;
}
afterEach(async () => {
  for (const h of harnesses.reverse()) await h.stop();
  harnesses = [];
});

/** A thread people wrote in before anyone asked the bot there. */
function existingThread(h: Harness, text: string): string {
  return h.slack.addMessage({ channel: 'C0001', user: 'U0002', text });
}

describe('history limits for apps distributed outside the Marketplace', () => {
  it('reads a thread once, at most 15 messages, and not again for a follow-up', async () => {
    const h = await start();
    h.bedrock.enqueue({ text: 'Code 42 means the disk is full.' }, { text: 'Free some space.' });
    const root = existingThread(h, 'The deploy failed with code 42.');

    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> what does it mean?',
      threadTs: root,
    });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> and what do I do?',
      threadTs: root,
    });
    await waitForAnswers(h, 2);

    const reads = h.slack.callsTo('conversations.replies');
    expect(reads.map((call) => [call.args.ts, Number(call.args.limit)])).toEqual([[root, 15]]);
    expect(JSON.stringify(h.bedrock.requests[0]?.body.messages)).toContain('The deploy failed with code 42.');
    expect(JSON.stringify(h.bedrock.requests[1]?.body.messages)).toContain('The deploy failed with code 42.');
  });

  it('answers a second thread within the minute without reading it, and says so in one line', async () => {
    const h = await start();
    h.bedrock.enqueue({ text: 'First thread answered.' }, { text: 'Second thread answered.' });
    const first = existingThread(h, 'First thread context.');
    const second = existingThread(h, 'Second thread context.');

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> one?', threadTs: first });
    await waitForAnswers(h, 1);
    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> two?',
      threadTs: second,
    });
    await waitForAnswers(h, 2);

    expect(h.slack.callsTo('conversations.replies').map((call) => call.args.ts)).toEqual([first]);
    expect(threadText(h, 'C0001', first)).not.toContain(UNREAD_NOTE);
    const said = threadText(h, 'C0001', second);
    expect(said).toContain('Second thread answered.');
    expect(said.split('\n').filter((line) => line.includes(UNREAD_NOTE))).toHaveLength(1);
    expect(JSON.stringify(h.bedrock.requests[1]?.body.messages)).not.toContain('Second thread context.');
  });

  it('answers with what it has when Slack refuses the read, and says so', async () => {
    const h = await start();
    h.bedrock.enqueue({ text: 'Answered anyway.' });
    const root = existingThread(h, 'Some context.');
    h.slack.failNext('conversations.replies', { status: 429, retryAfterS: 60 });

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> help?', threadTs: root });
    await waitForAnswers(h, 1);

    const said = threadText(h, 'C0001', root);
    expect(said).toContain('Answered anyway.');
    expect(said).toContain(UNREAD_NOTE);
  });

  it('reads every thread it needs under the internal limits', async () => {
    const h = await start({ SLACK_APP_DISTRIBUTION: 'internal' });
    h.bedrock.enqueue({ text: 'One.' }, { text: 'Two.' });
    const first = existingThread(h, 'First.');
    const second = existingThread(h, 'Second.');

    await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> one?', threadTs: first });
    await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> two?',
      threadTs: second,
    });
    await waitForAnswers(h, 2);

    expect(
      h.slack
        .callsTo('conversations.replies')
        .map((call) => call.args.ts)
        .sort(),
    ).toEqual([first, second].sort());
    expect(threadText(h, 'C0001', second)).not.toContain(UNREAD_NOTE);
  });
});
