import { afterEach, describe, expect, it } from 'vitest';
import { IN_PROGRESS_BLOCK_ID } from '../../src/slack/answer-stream/message-blocks.ts';
import { renderMarkdown } from '../../src/slack/render/markdown-renderer.ts';
import { FakeSlack } from '../stand-ins/fake-slack.ts';
import { botMessages, threadText, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

/** A long Markdown answer: paragraphs and ~2,000-character code blocks. */
function longAnswer(totalChars: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < totalChars; i += 1) {
    const part =
      i % 4 === 3
        ? `\`\`\`ts\n${Array.from({ length: 50 }, (_, n) => `const value${i}_${n} = compute(${n}); // step`).join('\n')}\n\`\`\``
        : `Paragraph ${i}: ${'lorem ipsum dolor sit amet '.repeat(30).trim()}.`;
    parts.push(part);
    size += part.length + 2;
  }
  return parts.join('\n\n');
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

describe('streaming answers into Slack', () => {
  it('streams with chat.startStream/appendStream/stopStream and ends with exactly the answer', async () => {
    h = await startHarness();
    const answer = 'Here is **bold**, _italics_ and a [link](https://example.com).\n\n- one\n- two';
    h.bedrock.enqueue({ text: chunks(answer, 7), chunkDelayMs: 20 });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> format' });
    await waitForAnswers(h, 1);

    const [message] = botMessages(h, 'C0001', sent.ts);
    expect(message?.streamState).toBe('stopped');
    expect(message?.markdown).toBe(renderMarkdown(answer));
    expect(h.slack.callsTo('chat.startStream')[0]?.args).toMatchObject({
      recipient_user_id: 'U0001',
      recipient_team_id: 'T0001',
    });
  });

  it('delivers a 45,000-character answer whole across messages within limits, no code block split', async () => {
    h = await startHarness();
    const answer = longAnswer(45_000);
    h.bedrock.enqueue({ text: chunks(answer, 500), chunkDelayMs: 1 });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> long' });
    await waitForAnswers(h, 1);

    const messages = botMessages(h, 'C0001', sent.ts);
    expect(messages.length).toBeGreaterThanOrEqual(4);
    for (const message of messages) {
      const text = h.slack.displayText(message);
      expect(text.length).toBeLessThanOrEqual(12_000);
      expect((text.match(/^```/gm) ?? []).length % 2).toBe(0);
    }
    expect(messages.map((m) => h.slack.displayText(m)).join('')).toBe(renderMarkdown(answer));
  });

  it('loses no text when streaming writes are limited to 4 per second per method', async () => {
    // The shared budget would keep the bot under these limits; off, the stand-in's 429s are met head on.
    h = await startHarness({ env: { STREAM_FLUSH_INTERVAL_MS: '50', SLACK_WRITE_BUDGET_SCALE: '0' } });
    for (const method of [
      'chat.startStream',
      'chat.appendStream',
      'chat.stopStream',
      'chat.postMessage',
      'chat.update',
    ]) {
      h.slack.setRateLimit(method, 4);
    }
    const answers = ['alpha ', 'beta ', 'gamma '].map((word) => word.repeat(60).trim());
    h.bedrock.setHandler((request) => {
      const text = String(
        (request.body.messages as Array<{ content: Array<{ text: string }> }>).at(-1)?.content[0]?.text,
      );
      return { text: chunks(answers[Number(text.slice(-1))] ?? '', 10), chunkDelayMs: 10 };
    });
    const sent = await Promise.all(
      [0, 1, 2].map((i) =>
        h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: `<@UBOT> q${i}` }),
      ),
    );
    await waitForAnswers(h, 3, 20_000);

    expect(h.slack.calls.some((c) => c.status === 429)).toBe(true);
    sent.forEach((s, i) => {
      expect(threadText(h, 'C0001', s.ts)).toBe(answers[i]);
    });
  }, 30_000);

  it('honours Retry-After on the refused method while every answer still finishes on time', async () => {
    // appendStream is held back for every answer after the 429; answers still open with
    // chat.startStream and end with chat.stopStream, which Slack did not refuse.
    h = await startHarness({ env: { SLACK_WRITE_BUDGET_SCALE: '0' } });
    const words = ['one ', 'two ', 'three ', 'four ', 'five ', 'six'];
    h.bedrock.setHandler(() => ({ text: words, chunkDelayMs: 80 }));
    h.slack.failNext('chat.appendStream', { status: 429, retryAfterS: 3 });
    const first = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> first' });
    const refused = await h.slack.waitFor(() => h.slack.calls.find((c) => c.status === 429));
    const second = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0002', text: '<@UBOT> second' });
    await waitForAnswers(h, 2, 2_500);

    for (const sent of [first, second]) {
      expect(threadText(h, 'C0001', sent.ts)).toBe(words.join(''));
      expect(botMessages(h, 'C0001', sent.ts)[0]?.streamState).toBe('stopped');
    }
    const appendsDuringRetryAfter = h.slack
      .callsTo('chat.appendStream')
      .filter((c) => c.atMs > refused.atMs && c.atMs < refused.atMs + 3_000);
    expect(appendsDuringRetryAfter).toEqual([]);
  });

  it('posts and edits instead when starting a stream is rate-limited, rendering the same text', async () => {
    h = await startHarness();
    h.slack.failNext('chat.startStream', { status: 429, retryAfterS: 30 });
    const answer = 'A **fallback** answer with `code`.';
    h.bedrock.enqueue({ text: chunks(answer, 5), chunkDelayMs: 10 });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' });
    await waitForAnswers(h, 1);

    const [message] = botMessages(h, 'C0001', sent.ts);
    expect(message?.streamState).toBeNull();
    expect(h.slack.displayText(message as never)).toBe(renderMarkdown(answer));
    expect(h.slack.callsTo('chat.update').length).toBeGreaterThan(0);
  });

  it('uses post-and-edit when configured, at most about one edit per second', async () => {
    h = await startHarness({
      env: { SLACK_STREAMING: 'update', STREAM_FLUSH_INTERVAL_MS: '1000', SLACK_WRITE_BUDGET_SCALE: '0' },
    });
    const answer = 'word '.repeat(100).trim();
    h.bedrock.enqueue({ text: chunks(answer, 10), chunkDelayMs: 40 });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' });
    await waitForAnswers(h, 1);

    expect(threadText(h, 'C0001', sent.ts)).toBe(answer);
    expect(h.slack.callsTo('chat.startStream')).toHaveLength(0);
    // The post opens with the first text; edits until the last are at least a flush interval apart,
    // and the last one lands as soon as the answer ends.
    const writes = [...h.slack.callsTo('chat.postMessage'), ...h.slack.callsTo('chat.update')].map(
      (c) => c.atMs,
    );
    expect(writes.length).toBeGreaterThan(2);
    for (let i = 1; i < writes.length - 1; i += 1) {
      expect((writes[i] ?? 0) - (writes[i - 1] ?? 0)).toBeGreaterThanOrEqual(900);
    }
  });

  it('finishes a stream that Slack ended early (idle) by chat.update on its own message, losing nothing', async () => {
    h = await startHarness();
    h.slack.failNext('chat.appendStream', { error: 'message_not_in_streaming_state' });
    const answer = 'one two three four five six seven eight nine ten';
    h.bedrock.enqueue({ text: chunks(answer, 4), chunkDelayMs: 40 });
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' });
    await waitForAnswers(h, 1);

    const messages = botMessages(h, 'C0001', sent.ts);
    expect(messages).toHaveLength(1);
    expect(h.slack.displayText(messages[0] as never)).toBe(answer);
    expect(h.slack.callsTo('chat.update').at(-1)?.args.ts).toBe(messages[0]?.ts);
  });

  it('finishes a stream older than Slack’s stream lifetime by chat.update on its own message, nothing lost or repeated', async () => {
    // Slack ends a stream about five minutes after it started, however busy; here after one second.
    const slack = await FakeSlack.start({ streamLifetimeMs: 1_000 });
    try {
      h = await startHarness({ slack });
      const answer = Array.from({ length: 30 }, (_, i) => `Sentence ${i} of a long answer.`).join(' ');
      h.bedrock.enqueue({ text: chunks(answer, 32), chunkDelayMs: 100 });
      const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> long' });
      await waitForAnswers(h, 1);

      const messages = botMessages(h, 'C0001', sent.ts);
      const [message] = messages;
      expect(messages).toHaveLength(1);
      expect(message?.streamState).toBe('expired');
      expect(h.slack.displayText(message as never)).toBe(answer);
      expect(h.slack.callsTo('chat.postMessage')).toHaveLength(0);
      const updates = h.slack.callsTo('chat.update');
      expect(updates.length).toBeGreaterThan(0);
      expect(updates.every((call) => call.args.ts === message?.ts)).toBe(true);
      // Finished: the feedback buttons, no in-progress mark.
      expect(JSON.stringify(message?.blocks)).toContain('feedback_buttons');
      expect(JSON.stringify(message?.blocks)).not.toContain(IN_PROGRESS_BLOCK_ID);
    } finally {
      await h?.stop();
      await slack.stop();
    }
  });
});
