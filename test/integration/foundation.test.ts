import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { answerLogs, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

describe('the bot on the embedded store', () => {
  it('answers /healthz and /readyz with 200 and serves Prometheus metrics', async () => {
    h = await startHarness();
    const health = await fetch(`${h.botUrl}/healthz`);
    const ready = await fetch(`${h.botUrl}/readyz`);
    const metrics = await fetch(`${h.botUrl}/metrics`);
    expect(health.status).toBe(200);
    expect(ready.status).toBe(200);
    expect(await metrics.text()).toContain('slackbot_answers_total');
  });

  it('writes only JSON lines of its own shape: pino levels, the per-answer line typed, no secret', async () => {
    h = await startHarness({ env: { SLACK_SIGNING_SECRET: 'known-signing-secret-value' } });
    h.bedrock.enqueue({ text: 'Refunds take five days.' });
    await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> how do refunds work?' },
      { signingSecret: 'known-signing-secret-value' },
    );
    await waitForAnswers(h, 1);

    const lines = h.rawLogs().split('\n');
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const line of parsed) {
      expect(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).toContain(line.level);
      expect(line).toMatchObject({ service: 'bedrock-slack-assistant', time: expect.any(Number) });
      expect(typeof line.msg).toBe('string');
    }
    expect(parsed.find((l) => l.level === 'warn' && String(l.msg).includes('single replica'))).toBeDefined();
    const [answer] = answerLogs(h);
    expect(answer).toMatchObject({
      level: 'info',
      thread: expect.stringMatching(/^T0001:C0001:\d+\.\d+$/),
      surface: 'mention',
      outcome: 'answered',
      ref: expect.any(String),
      timeToFirstTokenMs: expect.any(Number),
      durationMs: expect.any(Number),
      inputTokens: expect.any(Number),
      outputTokens: expect.any(Number),
      stopReason: 'end_turn',
      answerChars: 'Refunds take five days.'.length,
    });
    expect(answer?.outputTokens).toBeGreaterThan(0);
    // Message text only with LOG_MESSAGE_TEXT=true; secrets never.
    expect(answer).not.toHaveProperty('question');
    expect(answer).not.toHaveProperty('answer');
    expect(h.rawLogs()).not.toContain('how do refunds work');
    expect(h.rawLogs()).not.toContain('known-signing-secret-value');
    expect(h.rawLogs()).not.toContain('xoxb-test');
  });

  it('answers a signed mention in its thread with the model reply', async () => {
    h = await startHarness();
    h.bedrock.enqueue({ text: 'Refunds take five days.' });

    const sent = await h.slack.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> how do refunds work?',
    });
    await waitForAnswers(h, 1);

    expect(sent.status).toBe(200);
    expect(threadText(h, 'C0001', sent.ts)).toBe('Refunds take five days.');
    const request = h.bedrock.requests.at(-1);
    expect(request?.body.messages).toEqual([{ role: 'user', content: [{ text: 'how do refunds work?' }] }]);
  });
});

/**
 * A properly signed DM, answered: deliveries are handled in the order they arrive, so by then a
 * refused request sent before it would have shown whatever it was going to do.
 */
async function answerOneProperDm(h: Harness): Promise<void> {
  h.bedrock.enqueue({ text: 'The proper one.' });
  const sent = await h.slack.postUserMessage({ channel: 'D0001', user: 'U0001', text: 'a proper question' });
  await waitForAnswers(h, 1);
  expect(threadText(h, 'D0001', sent.ts)).toBe('The proper one.');
}

describe('request verification', () => {
  it('refuses a bad signature with 401 and changes nothing', async () => {
    h = await startHarness();
    const result = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' },
      { signingSecret: 'not-the-secret' },
    );
    await answerOneProperDm(h);

    expect(result.status).toBe(401);
    expect(h.bedrock.requests).toHaveLength(1);
    expect(h.slack.calls.filter((c) => c.method.startsWith('chat.') && c.args.channel === 'C0001')).toEqual(
      [],
    );
  });

  it('refuses a request older than five minutes with 401 and changes nothing', async () => {
    h = await startHarness();
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 360;
    const result = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' },
      { timestampS: sixMinutesAgo },
    );
    await answerOneProperDm(h);

    expect(result.status).toBe(401);
    expect(h.bedrock.requests).toHaveLength(1);
    expect(answerLogs(h)).toHaveLength(1);
  });

  it('accepts a correctly signed request built by hand', async () => {
    h = await startHarness();
    const body = JSON.stringify({ type: 'url_verification', challenge: 'abc123', token: 'x' });
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = `v0=${createHmac('sha256', 'test-signing-secret').update(`v0:${timestamp}:${body}`).digest('hex')}`;
    const response = await fetch(`${h.botUrl}/slack/events`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-slack-signature': signature,
        'x-slack-request-timestamp': String(timestamp),
      },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('abc123');
  });
});
