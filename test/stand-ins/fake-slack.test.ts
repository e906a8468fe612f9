import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LogLevel, SocketModeClient } from '@slack/socket-mode';
import { ErrorCode, type View, WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeSlack } from './fake-slack.ts';

interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  rawBody: string;
  signatureValid: boolean;
}

/** A stand-in bot endpoint that checks Slack's signature itself and answers 200. */
async function startReceiver(
  signingSecret: string,
): Promise<{ url: string; received: ReceivedRequest[]; server: Server }> {
  const received: ReceivedRequest[] = [];
  const server = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const timestamp = String(request.headers['x-slack-request-timestamp']);
    const expected = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex')}`;
    const given = String(request.headers['x-slack-signature']);
    const signatureValid =
      given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
    received.push({ headers: request.headers, rawBody, signatureValid });
    response.writeHead(signatureValid ? 200 : 401).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/slack/events`, received, server };
}

const ignore = (): void => undefined;
/** The WebClient logs Slack's error details; the refusals here are on purpose. */
const quietLogger = {
  debug: ignore,
  info: ignore,
  warn: ignore,
  error: ignore,
  setLevel: ignore,
  setName: ignore,
  getLevel: () => LogLevel.ERROR,
};

function slackError(error: unknown): string | undefined {
  return (error as { data?: { error?: string } }).data?.error;
}

async function errorOf(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (error) {
    return slackError(error);
  }
  throw new Error('expected the call to fail');
}

describe('FakeSlack Web API', () => {
  let fake: FakeSlack;
  let client: WebClient;
  let clockMs: number;

  beforeEach(async () => {
    clockMs = 1_700_000_000_000;
    fake = await FakeSlack.start({ now: () => clockMs, grantedScopes: ['chat:write', 'app_mentions:read'] });
    client = new WebClient('xoxb-test', {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logger: quietLogger,
    });
  });

  afterEach(async () => {
    await fake.stop();
  });

  it('answers auth.test with the bot identity and the granted scopes', async () => {
    const result = await client.auth.test();

    expect(result).toMatchObject({ ok: true, team_id: 'T0001', user_id: 'UBOT', bot_id: 'BBOT' });
    expect(result.response_metadata?.scopes).toEqual(['chat:write', 'app_mentions:read']);
  });

  it('refuses a wrong token and records the call', async () => {
    const stranger = new WebClient('xoxb-wrong', {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logger: quietLogger,
    });

    const error = await errorOf(stranger.chat.postMessage({ channel: 'C0001', text: 'hi' }));

    expect(error).toBe('invalid_auth');
    expect(fake.callsTo('chat.postMessage')).toMatchObject([
      { ok: false, error: 'invalid_auth', token: 'xoxb-wrong' },
    ]);
  });

  it('shows a posted reply in conversations.replies after the person’s root message', async () => {
    const rootTs = fake.addMessage({ channel: 'C0001', user: 'U0001', text: 'how do refunds work?' });

    const posted = await client.chat.postMessage({
      channel: 'C0001',
      thread_ts: rootTs,
      text: 'fallback',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*Refunds* take 5 days' } }],
    });
    const replies = await client.conversations.replies({ channel: 'C0001', ts: rootTs });

    expect(posted.ts && posted.ts > rootTs).toBe(true);
    expect(replies.messages).toMatchObject([
      { user: 'U0001', text: 'how do refunds work?', ts: rootTs },
      { user: 'UBOT', bot_id: 'BBOT', text: 'fallback', ts: posted.ts, thread_ts: rootTs },
    ]);
    expect(fake.callsTo('chat.postMessage')[0]?.args.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: '*Refunds* take 5 days' } },
    ]);
    const [reply] = fake.botReplies('C0001', rootTs);
    expect(reply && fake.displayText(reply)).toBe('*Refunds* take 5 days');
  });

  it('refuses to post where Slack would', async () => {
    expect(await errorOf(client.chat.postMessage({ channel: 'C0002', text: 'hi' }))).toBe('not_in_channel');
    expect(await errorOf(client.chat.postMessage({ channel: 'C9999', text: 'hi' }))).toBe(
      'channel_not_found',
    );
    expect(await errorOf(client.chat.postMessage({ channel: 'C0001', text: '' }))).toBe('no_text');
    expect(
      await errorOf(
        client.chat.postMessage({ channel: 'C0001', text: 'a', markdown_text: '**a**' } as never),
      ),
    ).toBe('markdown_text_conflict');
    await expect(
      client.chat.postMessage({ channel: 'D0001', text: 'DMs need no membership' }),
    ).resolves.toMatchObject({
      ok: true,
    });
  });

  it('enforces the markdown and block limits', async () => {
    const markdownBlock = (length: number) => ({ type: 'markdown', text: 'x'.repeat(length) });
    const post = (args: Record<string, unknown>) =>
      errorOf(client.apiCall('chat.postMessage', { channel: 'C0001', ...args }));

    expect(await post({ markdown_text: 'x'.repeat(12_001) })).toBe('msg_too_long');
    expect(await post({ text: 'x'.repeat(40_001) })).toBe('msg_too_long');
    expect(await post({ blocks: [markdownBlock(7000), markdownBlock(5001)] })).toBe('invalid_blocks');
    expect(
      await post({ blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] }),
    ).toBe('invalid_blocks');
    expect(await post({ blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) })).toBe(
      'invalid_blocks',
    );
    await expect(
      client.apiCall('chat.postMessage', { channel: 'C0001', markdown_text: 'x'.repeat(12_000) }),
    ).resolves.toMatchObject({ ok: true });
  });

  it('counts chat.update edits and checks the message exists', async () => {
    const { ts } = await client.chat.postMessage({ channel: 'C0001', text: 'thinking…' });

    await client.chat.update({ channel: 'C0001', ts: ts as string, text: 'done' });
    const missing = await errorOf(client.chat.update({ channel: 'C0001', ts: '1.000001', text: 'x' }));

    expect(fake.messages.find((m) => m.ts === ts)).toMatchObject({ text: 'done', updates: 1 });
    expect(missing).toBe('message_not_found');
  });

  describe('streaming', () => {
    it('needs both recipients in a channel but not in a DM', async () => {
      const rootTs = fake.addMessage({ channel: 'C0001', user: 'U0001', text: 'q' });
      const dmRootTs = fake.addMessage({ channel: 'D0001', user: 'U0001', text: 'q' });

      const noUser = await errorOf(client.chat.startStream({ channel: 'C0001', thread_ts: rootTs }));
      const noTeam = await errorOf(
        client.chat.startStream({ channel: 'C0001', thread_ts: rootTs, recipient_user_id: 'U0001' }),
      );
      const inDm = await client.chat.startStream({ channel: 'D0001', thread_ts: dmRootTs });

      expect(noUser).toBe('missing_recipient_user_id');
      expect(noTeam).toBe('missing_recipient_team_id');
      expect(inDm.ok).toBe(true);
    });

    it('accumulates appended markdown and refuses appends after stop', async () => {
      const rootTs = fake.addMessage({ channel: 'C0001', user: 'U0001', text: 'q' });
      const recipients = { recipient_user_id: 'U0001', recipient_team_id: 'T0001' };

      const started = await client.chat.startStream({
        channel: 'C0001',
        thread_ts: rootTs,
        markdown_text: 'Hello',
        ...recipients,
      });
      const ts = started.ts as string;
      await client.chat.appendStream({ channel: 'C0001', ts, markdown_text: ', **world**' });
      await client.chat.appendStream({
        channel: 'C0001',
        ts,
        chunks: [{ type: 'task_update', id: 't1', title: 'Searching', status: 'in_progress' }],
      });
      await client.chat.stopStream({
        channel: 'C0001',
        ts,
        markdown_text: '!',
        blocks: [{ type: 'divider' }],
      } as never);
      const afterStop = await errorOf(
        client.chat.appendStream({ channel: 'C0001', ts, markdown_text: 'late' }),
      );
      const replies = await client.conversations.replies({ channel: 'C0001', ts: rootTs });

      expect(afterStop).toBe('message_not_in_streaming_state');
      expect(fake.botReplies('C0001', rootTs)).toMatchObject([
        {
          markdown: 'Hello, **world**!',
          streaming: false,
          streamState: 'stopped',
          appends: 2,
          tasks: [{ id: 't1', title: 'Searching', status: 'in_progress' }],
          blocks: [{ type: 'divider' }],
        },
      ]);
      expect(replies.messages?.[1]).toMatchObject({ ts, text: 'Hello, **world**!', bot_id: 'BBOT' });
    });

    it('works with the SDK’s own chatStream helper', async () => {
      const rootTs = fake.addMessage({ channel: 'C0001', user: 'U0001', text: 'q' });
      const streamer = client.chatStream({
        channel: 'C0001',
        thread_ts: rootTs,
        recipient_user_id: 'U0001',
        recipient_team_id: 'T0001',
      });

      await streamer.append({ markdown_text: 'a'.repeat(300) });
      await streamer.append({ markdown_text: 'b' });
      await streamer.stop();

      expect(fake.botReplies('C0001', rootTs)).toMatchObject([
        { markdown: `${'a'.repeat(300)}b`, streamState: 'stopped' },
      ]);
    });

    it('expires a stream left idle longer than the timeout', async () => {
      const rootTs = fake.addMessage({ channel: 'D0001', user: 'U0001', text: 'q' });
      const { ts } = await client.chat.startStream({
        channel: 'D0001',
        thread_ts: rootTs,
        markdown_text: 'a',
      });

      clockMs += 120_001;
      const error = await errorOf(
        client.chat.appendStream({ channel: 'D0001', ts: ts as string, markdown_text: 'b' }),
      );

      expect(error).toBe('message_not_in_streaming_state');
      expect(fake.messages.find((m) => m.ts === ts)).toMatchObject({ streamState: 'expired', markdown: 'a' });
    });

    it('ends a stream at its lifetime even while appends keep flowing, and lets chat.update rewrite it', async () => {
      await fake.stop();
      fake = await FakeSlack.start({ now: () => clockMs, streamLifetimeMs: 300_000 });
      client = new WebClient('xoxb-test', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
      const rootTs = fake.addMessage({ channel: 'D0001', user: 'U0001', text: 'q' });
      const { ts } = await client.chat.startStream({
        channel: 'D0001',
        thread_ts: rootTs,
        markdown_text: 'a',
      });
      for (let i = 0; i < 5; i += 1) {
        clockMs += 59_000;
        await client.chat.appendStream({ channel: 'D0001', ts: ts as string, markdown_text: 'b' });
      }

      clockMs += 6_000;
      const error = await errorOf(
        client.chat.appendStream({ channel: 'D0001', ts: ts as string, markdown_text: 'c' }),
      );
      await client.chat.update({
        channel: 'D0001',
        ts: ts as string,
        text: 'abbbbbc',
        blocks: [{ type: 'markdown', text: 'abbbbbc' }],
      });

      expect(error).toBe('message_not_in_streaming_state');
      const [message] = fake.botReplies('D0001', rootTs);
      expect(message?.streamState).toBe('expired');
      expect(fake.displayText(message as never)).toBe('abbbbbc');
    });

    it('refuses to stop a stream holding more than 12000 characters and keeps it open', async () => {
      const rootTs = fake.addMessage({ channel: 'D0001', user: 'U0001', text: 'q' });
      const { ts } = await client.chat.startStream({
        channel: 'D0001',
        thread_ts: rootTs,
        markdown_text: 'x'.repeat(8000),
      });
      await client.chat.appendStream({ channel: 'D0001', ts: ts as string, markdown_text: 'y'.repeat(4000) });

      const error = await errorOf(
        client.chat.stopStream({ channel: 'D0001', ts: ts as string, markdown_text: 'z' }),
      );

      expect(error).toBe('msg_too_long');
      expect(fake.messages.find((m) => m.ts === ts)?.streamState).toBe('open');
    });

    it('rejects an unknown chunk type', async () => {
      const rootTs = fake.addMessage({ channel: 'D0001', user: 'U0001', text: 'q' });

      const error = await errorOf(
        client.apiCall('chat.startStream', {
          channel: 'D0001',
          thread_ts: rootTs,
          chunks: [{ type: 'poem' }],
        }),
      );

      expect(error).toBe('invalid_chunks');
    });
  });

  it('answers 429 with Retry-After once a method’s rate limit is used up', async () => {
    const strict = new WebClient('xoxb-test', {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: quietLogger,
    });
    fake.setRateLimit('chat.postMessage', 0.5);

    await strict.chat.postMessage({ channel: 'C0001', text: 'one' });
    const limited = await strict.chat
      .postMessage({ channel: 'C0001', text: 'two' })
      .catch((error: unknown) => error);

    expect(limited).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 2 });
    expect(fake.callsTo('chat.postMessage').map((call) => call.status)).toEqual([200, 429]);
    clockMs += 2000;
    await expect(strict.chat.postMessage({ channel: 'C0001', text: 'three' })).resolves.toMatchObject({
      ok: true,
    });
  });

  it('counts a per-minute limit over any 60 seconds, workspace-wide or per channel', async () => {
    const strict = new WebClient('xoxb-test', {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      logger: quietLogger,
    });
    fake.addChannel({ id: 'C0003', name: 'support' });
    fake.setRateLimit('chat.update', { perMinute: 3 });
    fake.setRateLimit('chat.postMessage', { perMinute: 2, perChannel: true });
    const posted = await strict.chat.postMessage({ channel: 'C0001', text: 'a' });
    const update = () =>
      strict.chat.update({ channel: 'C0001', ts: posted.ts as string, text: 'b' }).then(
        () => 200,
        (error: { retryAfter?: number }) => error.retryAfter,
      );

    const early = [await update(), await update()];
    clockMs += 40_000;
    const late = [await update(), await update()];
    clockMs += 20_000;
    const next = await update();
    // The post at 0 s has left the window too: two more fit, a third in the channel does not.
    await strict.chat.postMessage({ channel: 'C0001', text: 'c' });
    await strict.chat.postMessage({ channel: 'C0001', text: 'c2' });
    const thirdInChannel = await strict.chat
      .postMessage({ channel: 'C0001', text: 'd' })
      .catch((error: unknown) => error);
    const otherChannel = await strict.chat.postMessage({ channel: 'C0003', text: 'e' });

    // Two calls at 0 s and one at 40 s fill the minute; the first two leave it at 60 s.
    expect(early).toEqual([200, 200]);
    expect(late).toEqual([200, 20]);
    expect(next).toBe(200);
    expect(thirdInChannel).toMatchObject({ code: ErrorCode.RateLimitedError });
    expect(otherChannel.ok).toBe(true);
  });

  it('fails the next calls as injected, then recovers', async () => {
    fake.failNext('chat.update', { error: 'ratelimited' });
    fake.failNext('chat.postMessage', { status: 500 });
    const { ts } = await client.chat
      .postMessage({ channel: 'C0001', text: 'a' })
      .catch(() => ({ ts: undefined }));

    const second = await client.chat.postMessage({ channel: 'C0001', text: 'b' });
    const updateError = await errorOf(
      client.chat.update({ channel: 'C0001', ts: second.ts as string, text: 'c' }),
    );

    expect(ts).toBeUndefined();
    expect(fake.callsTo('chat.postMessage').map((call) => call.status)).toEqual([500, 200]);
    expect(updateError).toBe('ratelimited');
  });

  it('applies a call whose response it then loses: the client sees a reset, the thread has the message', async () => {
    const rootTs = fake.addMessage({ channel: 'C0001', user: 'U0001', text: 'q' });
    fake.failNext('chat.postMessage', { appliedButLost: true });

    const lost = await client.chat
      .postMessage({ channel: 'C0001', thread_ts: rootTs, text: 'only once' })
      .catch((error: unknown) => error);
    const replies = await client.conversations.replies({ channel: 'C0001', ts: rootTs });

    expect(lost).toMatchObject({ code: ErrorCode.RequestError });
    expect(replies.messages?.map((m) => m.text)).toEqual(['q', 'only once']);
    expect(fake.callsTo('chat.postMessage')).toMatchObject([{ ok: true, responseLost: true }]);
  });

  it('applies a lost chat.appendStream once, so a blind repeat would show its text twice', async () => {
    const rootTs = fake.addMessage({ channel: 'D0001', user: 'U0001', text: 'q' });
    const { ts } = await client.chat.startStream({
      channel: 'D0001',
      thread_ts: rootTs,
      markdown_text: 'A.',
    });
    fake.failNext('chat.appendStream', { appliedButLost: true });

    const append = { channel: 'D0001', ts: ts as string, markdown_text: ' B.' };
    const lost = await client.chat.appendStream(append).catch((error: unknown) => error);
    await client.chat.appendStream(append);

    expect(lost).toMatchObject({ code: ErrorCode.RequestError });
    expect(fake.botReplies('D0001', rootTs)).toMatchObject([{ markdown: 'A. B. B.', appends: 2 }]);
  });

  it('reads a thread after `oldest` (the root first, as Slack returns it), with metadata on request', async () => {
    const rootTs = fake.addMessage({ channel: 'C0001', user: 'U0001', text: 'q' });
    const first = await client.chat.postMessage({ channel: 'C0001', thread_ts: rootTs, text: 'one' });
    await client.chat.postMessage({
      channel: 'C0001',
      thread_ts: rootTs,
      text: 'two',
      metadata: { event_type: 'assistant_answer', event_payload: { answer_id: 'a1' } },
    });

    const after = await client.conversations.replies({
      channel: 'C0001',
      ts: rootTs,
      oldest: first.ts as string,
      include_all_metadata: true,
    });

    expect(after.messages).toMatchObject([
      { text: 'q' },
      { text: 'two', metadata: { event_type: 'assistant_answer', event_payload: { answer_id: 'a1' } } },
    ]);
  });

  it('clears a thread’s assistant status when the bot replies there', async () => {
    const rootTs = fake.addMessage({ channel: 'D0001', user: 'U0001', text: 'q' });

    await client.assistant.threads.setStatus({
      channel_id: 'D0001',
      thread_ts: rootTs,
      status: 'is thinking…',
    });
    const before = fake.statusOf('D0001', rootTs);
    await client.chat.postMessage({ channel: 'D0001', thread_ts: rootTs, text: 'answer' });

    expect(before).toBe('is thinking…');
    expect(fake.statusOf('D0001', rootTs)).toBe('');
  });
});

describe('FakeSlack sending to the bot', () => {
  let fake: FakeSlack;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;

  beforeEach(async () => {
    fake = await FakeSlack.start();
    receiver = await startReceiver('test-signing-secret');
    fake.setBotEndpoint(receiver.url);
  });

  afterEach(async () => {
    await fake.stop();
    receiver.server.close();
  });

  it('sends a mention as two signed events with different ids and the same ts', async () => {
    const result = await fake.postUserMessage({
      channel: 'C0001',
      user: 'U0001',
      text: '<@UBOT> how do refunds work?',
    });

    const bodies = receiver.received.map((request) => JSON.parse(request.rawBody));
    expect(receiver.received.every((request) => request.signatureValid)).toBe(true);
    expect(bodies.map((body) => body.event.type).sort()).toEqual(['app_mention', 'message']);
    expect(new Set(bodies.map((body) => body.event_id)).size).toBe(2);
    expect(bodies.every((body) => body.event.ts === result.ts && body.type === 'event_callback')).toBe(true);
    expect(bodies[0]).toMatchObject({
      team_id: 'T0001',
      authorizations: [{ user_id: 'UBOT', is_bot: true }],
    });
    expect(result).toMatchObject({ status: 200, mention: { status: 200 } });
    expect(fake.messages.find((m) => m.ts === result.ts)?.user).toBe('U0001');
  });

  it('marks retries with Slack’s headers and keeps the event id', async () => {
    const first = await fake.sendEvent({ type: 'app_mention', text: 'hi' });

    await fake.sendEvent({ type: 'app_mention', text: 'hi' }, { eventId: first.eventId, retryNum: 1 });

    const retry = receiver.received[1];
    expect(retry?.headers['x-slack-retry-num']).toBe('1');
    expect(retry?.headers['x-slack-retry-reason']).toBe('http_timeout');
    expect(JSON.parse(retry?.rawBody ?? '{}').event_id).toBe(first.eventId);
  });

  it('signs with another secret when asked, so the bot can refuse it', async () => {
    const result = await fake.sendEvent({ type: 'app_mention', text: 'hi' }, { signingSecret: 'wrong' });

    expect(result.status).toBe(401);
    expect(receiver.received[0]?.signatureValid).toBe(false);
  });

  it('sends /ask as a signed form whose response_url takes five posts', async () => {
    const result = await fake.sendCommand({ text: 'how do refunds work?', user: 'U0001', channel: 'C0002' });
    const form = new URLSearchParams(receiver.received[0]?.rawBody);

    const statuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt++) {
      const response = await fetch(result.responseUrl, {
        method: 'POST',
        body: JSON.stringify({ text: `#${attempt}` }),
      });
      statuses.push(response.status);
    }

    expect(receiver.received[0]?.signatureValid).toBe(true);
    expect(Object.fromEntries(form)).toMatchObject({
      command: '/ask',
      text: 'how do refunds work?',
      user_id: 'U0001',
      channel_id: 'C0002',
      channel_name: 'random',
      response_url: result.responseUrl,
    });
    expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
    expect(fake.responseUrlPosts.map((post) => post.body)).toHaveLength(5);
  });
});

describe('FakeSlack views and user groups', () => {
  let fake: FakeSlack;
  let client: WebClient;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const home: View = {
    type: 'home',
    private_metadata: '{"channelId":"C0001"}',
    blocks: [
      {
        type: 'section',
        block_id: 'pick',
        text: { type: 'mrkdwn', text: 'Pick a channel' },
        accessory: { type: 'conversations_select', action_id: 'pick_channel' },
      },
      {
        type: 'actions',
        block_id: 'buttons',
        elements: [
          {
            type: 'button',
            action_id: 'toggle',
            value: 'off',
            text: { type: 'plain_text', text: 'Turn off' },
          },
        ],
      },
    ],
  };
  const modal: View = {
    type: 'modal',
    callback_id: 'edit',
    title: { type: 'plain_text', text: 'Edit' },
    submit: { type: 'plain_text', text: 'Save' },
    blocks: [
      {
        type: 'input',
        block_id: 'prompt_block',
        label: { type: 'plain_text', text: 'Prompt' },
        element: { type: 'plain_text_input', action_id: 'prompt', initial_value: 'Be kind.' },
      },
      {
        type: 'input',
        block_id: 'mode_block',
        label: { type: 'plain_text', text: 'Mode' },
        element: {
          type: 'static_select',
          action_id: 'mode',
          options: ['fast', 'slow'].map((value) => ({
            text: { type: 'plain_text' as const, text: value },
            value,
          })),
          initial_option: { text: { type: 'plain_text', text: 'fast' }, value: 'fast' },
        },
      },
    ],
  };
  const payloads = () =>
    receiver.received.map((request) =>
      JSON.parse(new URLSearchParams(request.rawBody).get('payload') ?? '{}'),
    );

  beforeEach(async () => {
    fake = await FakeSlack.start();
    client = new WebClient('xoxb-test', {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logger: quietLogger,
    });
    receiver = await startReceiver('test-signing-secret');
    fake.setBotEndpoint(receiver.url);
  });

  afterEach(async () => {
    await fake.stop();
    receiver.server.close();
  });

  it('publishes a Home tab per person, keeping its id, and refuses a stale hash', async () => {
    const first = await client.views.publish({ user_id: 'U0001', view: home });
    const second = await client.views.publish({ user_id: 'U0001', view: home, hash: first.view?.hash });

    expect(second.view?.id).toBe(first.view?.id);
    expect(fake.homeViewOf('U0001')?.private_metadata).toBe('{"channelId":"C0001"}');
    expect(fake.homeViewOf('U0002')).toBeUndefined();
    expect(
      await errorOf(client.views.publish({ user_id: 'U0001', view: home, hash: first.view?.hash })),
    ).toBe('hash_conflict');
    expect(await errorOf(client.views.publish({ user_id: 'UNOBODY', view: home }))).toBe('user_not_found');
  });

  it('opens a modal only with a fresh trigger_id from that person, once', async () => {
    await client.views.publish({ user_id: 'U0001', view: home });
    await fake.act('U0001', 'home', { actionId: 'toggle' });
    const triggerId = payloads()[0].trigger_id as string;

    const opened = await client.views.open({ trigger_id: triggerId, view: modal });

    expect(opened.ok).toBe(true);
    expect(fake.modalOf('U0001')?.callback_id).toBe('edit');
    expect(await errorOf(client.views.open({ trigger_id: triggerId, view: modal }))).toBe(
      'invalid_trigger_id',
    );
  });

  it('sends block_actions from what the Home tab shows, and refuses an element it does not show', async () => {
    await client.views.publish({ user_id: 'U0001', view: home });

    await fake.act('U0001', 'home', { actionId: 'pick_channel', selectedConversation: 'C0002' });
    await fake.act('U0001', 'home', { actionId: 'toggle' });

    const [pick, toggle] = payloads();
    expect(pick).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0001', team_id: 'T0001' },
      container: { type: 'view', view_id: fake.homeViewOf('U0001')?.id },
      view: { type: 'home', private_metadata: '{"channelId":"C0001"}' },
      actions: [{ action_id: 'pick_channel', block_id: 'pick', selected_conversation: 'C0002' }],
    });
    expect(toggle.actions).toMatchObject([{ action_id: 'toggle', type: 'button', value: 'off' }]);
    await expect(fake.act('U0001', 'home', { actionId: 'delete_everything' })).rejects.toThrow(/no element/);
  });

  it('submits a modal with the values typed and the initial ones kept', async () => {
    await client.views.publish({ user_id: 'U0001', view: home });
    await fake.act('U0001', 'home', { actionId: 'toggle' });
    await client.views.open({ trigger_id: payloads()[0].trigger_id, view: modal });

    await fake.submitModal('U0001', { mode: 'slow' });

    expect(payloads()[1]).toMatchObject({
      type: 'view_submission',
      view: {
        callback_id: 'edit',
        state: {
          values: {
            prompt_block: { prompt: { type: 'plain_text_input', value: 'Be kind.' } },
            mode_block: { mode: { type: 'static_select', selected_option: { value: 'slow' } } },
          },
        },
      },
    });
    expect(fake.modalOf('U0001')).toBeUndefined();
  });

  it('sends app_home_opened for the home tab, and lists a user group’s members', async () => {
    fake.addUsergroup({ id: 'S0ADMINS', handle: 'bot-admins', users: ['U0002'] });

    await fake.openAppHome('U0001');

    const event = JSON.parse(receiver.received[0]?.rawBody ?? '{}').event;
    expect(event).toMatchObject({ type: 'app_home_opened', user: 'U0001', channel: 'D0001', tab: 'home' });
    expect((await client.usergroups.users.list({ usergroup: 'S0ADMINS' })).users).toEqual(['U0002']);
    expect(await errorOf(client.usergroups.users.list({ usergroup: 'S0NONE' }))).toBe('no_such_subteam');
  });
});

describe('FakeSlack Socket Mode', () => {
  let fake: FakeSlack;
  let socketClient: SocketModeClient;

  beforeEach(async () => {
    fake = await FakeSlack.start();
    socketClient = new SocketModeClient({
      appToken: 'xapp-test',
      autoReconnectEnabled: false,
      logger: quietLogger,
      clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
    });
    await socketClient.start();
  });

  afterEach(async () => {
    await socketClient.disconnect();
    await fake.stop();
  });

  it('delivers an events_api envelope and resolves when the client acks it', async () => {
    const seen: unknown[] = [];
    socketClient.on('app_mention', async ({ ack, event, retry_num }) => {
      seen.push({ event, retry_num });
      await ack();
    });

    const result = await fake.sendEvent(
      { type: 'app_mention', text: '<@UBOT> hi' },
      { via: 'socket', retryNum: 2 },
    );

    expect(fake.socketConnected()).toBe(true);
    expect(result.status).toBe(200);
    expect(seen).toEqual([{ event: { type: 'app_mention', text: '<@UBOT> hi' }, retry_num: 2 }]);
  });

  it('passes a slash command’s ack payload back', async () => {
    socketClient.on('slash_commands', async ({ ack, body }) => {
      await ack({ text: `Thinking about: ${body.text}` });
    });

    const result = await fake.sendCommand(
      { text: 'refunds?', user: 'U0001', channel: 'C0001' },
      { via: 'socket' },
    );

    expect(result.body).toEqual({ text: 'Thinking about: refunds?' });
  });

  it('refuses apps.connections.open with the bot token', async () => {
    const client = new WebClient('xoxb-test', {
      slackApiUrl: fake.apiUrl,
      retryConfig: { retries: 0 },
      logger: quietLogger,
    });

    expect(await errorOf(client.apps.connections.open({}))).toBe('not_allowed_token_type');
  });
});
