/**
 * What Slack (or anyone holding the signing secret) can send that is not a well-formed delivery:
 * it gets a 2xx or a clear 4xx, never a 500 that Slack would retry, and the connection it came on
 * keeps working.
 */
import { Agent, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { eventEnvelope, postSigned, slackId } from '../stand-ins/slack/signed-delivery.ts';
import { threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';
import { freePort } from '../support/free-port.ts';
import { turnedAway } from '../support/turned-away.ts';

let h: Harness | undefined;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await h?.stop();
  h = undefined;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Inner events Slack's format does not allow, each of which Bolt 5 alone answers with a 500. */
const MALFORMED_EVENTS: unknown[] = [
  null,
  'app_mention',
  42,
  [],
  {},
  { type: 7, channel: 'C0001' },
  // A field of the wrong type, which Bolt trips over while reading the event.
  { type: 'reaction_added', user: 'U0001', reaction: 'eyes', item: 'C0001' },
];

describe('malformed events', () => {
  it('answers a signed event that is null, not an object or of the wrong shape with 200, and ignores it', async () => {
    h = await startHarness();

    const statuses: number[] = [];
    for (const event of MALFORMED_EVENTS) statuses.push((await h.slack.sendEvent(event)).status);

    expect(statuses).toEqual(MALFORMED_EVENTS.map(() => 200));
    expect((await turnedAway(h.bot)).ignored).toEqual({ malformed: MALFORMED_EVENTS.length });
    const ignoredLines = h.logs.filter((l) => l.msg === 'ignored a malformed Slack event');
    expect(ignoredLines).toHaveLength(MALFORMED_EVENTS.length);
    expect(ignoredLines.every((l) => l.level === 'debug')).toBe(true);
    expect(h.logs.filter((l) => l.level === 'error')).toEqual([]);
    expect(h.slack.calls.filter((c) => c.method.startsWith('chat.'))).toEqual([]);
    expect(h.bedrock.requests).toEqual([]);
  });

  it('survives the same events over Socket Mode, acknowledging all it can read, and keeps answering', async () => {
    const slack = await FakeSlack.start({ socketAckTimeoutMs: 1_000 });
    cleanups.push(() => slack.stop());
    h = await startHarness({ slack, env: { SLACK_APP_TOKEN: 'xapp-test', PORT: String(await freePort()) } });
    await slack.waitForSocket(10_000);

    // A null event stops Slack's Socket Mode client before anything can acknowledge it.
    const [unreadable, ...readable] = MALFORMED_EVENTS;
    await expect(slack.sendEvent(unreadable, { via: 'socket' })).rejects.toThrow(/no ack/);
    // Each of these resolves only once the bot acknowledged its envelope.
    for (const event of readable) await slack.sendEvent(event, { via: 'socket' });
    h.bedrock.enqueue({ text: 'Still here.' });
    const sent = await slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> still there?' },
      { via: 'socket' },
    );
    await waitForAnswers(h, 1);

    expect((await turnedAway(h.bot)).ignored).toMatchObject({ malformed: MALFORMED_EVENTS.length });
    expect(threadText(h, 'C0001', sent.ts)).toBe('Still here.');
  });
});

describe('oversized bodies', () => {
  it('refuses a body over 1 MB with 413 and answers the next event on the same kept-alive connection', async () => {
    h = await startHarness();
    const url = `${h.botUrl}/slack/events`;
    // One kept-alive connection: the second request can only go where the first went.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sign = { contentType: 'application/json' as const, signingSecret: h.slack.signingSecret, agent };
    const oversized = JSON.stringify({ type: 'event_callback', padding: 'x'.repeat(2 * 1024 * 1024) });
    const ts = '1700000000.000100';
    const mention = eventEnvelope({
      event: { type: 'app_mention', channel: 'C0001', user: 'U0001', text: '<@UBOT> after a 413?', ts },
      eventId: slackId('Ev'),
      eventTimeS: Math.floor(Date.now() / 1000),
      teamId: h.slack.teamId,
      appId: h.slack.appId,
      botUserId: h.slack.botUserId,
      verificationToken: 'unused',
    });
    h.bedrock.enqueue({ text: 'Answered after the 413.' });

    try {
      const refused = await postSigned(url, { ...sign, rawBody: oversized });
      const next = await postSigned(url, { ...sign, rawBody: JSON.stringify(mention), timeoutMs: 3_000 });
      await waitForAnswers(h, 1);

      expect(refused.status).toBe(413);
      expect(next.status).toBe(200);
      expect(threadText(h, 'C0001', ts)).toBe('Answered after the 413.');
    } finally {
      agent.destroy();
    }
  });
});

describe('response_url', () => {
  it('does not post an /ask answer to a response_url off Slack’s hosts, and logs only its host', async () => {
    // Stands for any server a forged or tampered response_url could point at.
    const elsewhere: string[] = [];
    const server = createServer((request, response) => {
      elsewhere.push(request.url ?? '');
      response.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    h = await startHarness();
    h.bedrock.enqueue({ text: 'An answer with nowhere to go.' });

    // C0002: the bot is not a member, so the answer would go back through the response_url.
    await h.slack.sendCommand({
      text: 'a question',
      user: 'U0001',
      channel: 'C0002',
      responseUrl: `http://${host}/commands/T0001/secret-path`,
    });
    await waitForAnswers(h, 1);

    expect(elsewhere).toEqual([]);
    const refusals = h.logs.filter((l) => l.msg === 'refused to post to a response_url');
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals[0]).toMatchObject({ host, reason: 'not a Slack host' });
    expect(h.rawLogs()).not.toContain('secret-path');
  });
});
