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

  it('logs JSON lines and warns that the in-process store serves one replica', async () => {
    h = await startHarness();
    expect(
      h
        .rawLogs()
        .split('\n')
        .every((line) => JSON.parse(line)),
    ).toBeTruthy();
    const warning = h.logs.find((l) => l.level === 'warn' && String(l.msg).includes('single replica'));
    expect(warning).toBeDefined();
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

describe('request verification', () => {
  it('refuses a bad signature with 401 and changes nothing', async () => {
    h = await startHarness();
    const result = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' },
      { signingSecret: 'not-the-secret' },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(result.status).toBe(401);
    expect(h.bedrock.requests).toHaveLength(0);
    expect(h.slack.calls.filter((c) => c.method.startsWith('chat.'))).toHaveLength(0);
  });

  it('refuses a request older than five minutes with 401 and changes nothing', async () => {
    h = await startHarness();
    const sixMinutesAgo = Math.floor(Date.now() / 1000) - 360;
    const result = await h.slack.postUserMessage(
      { channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' },
      { timestampS: sixMinutesAgo },
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(result.status).toBe(401);
    expect(h.bedrock.requests).toHaveLength(0);
    expect(answerLogs(h)).toHaveLength(0);
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
