/** Reading answers back from the Slack stand-in and the bot's log, as a person or operator would. */
import type { Message } from '@aws-sdk/client-bedrock-runtime';
import type { RecordedModelRequest } from '../stand-ins/fake-bedrock-runtime.ts';
import type { FakeMessage } from '../stand-ins/fake-slack.ts';
import type { Harness } from './bot-harness.ts';

/** The bot's per-answer log lines (one per question that reached the model or failed trying). */
export function answerLogs(h: Harness): Array<Record<string, unknown>> {
  return h.logs.filter((line) => line.msg === 'answer');
}

/** Waits until `count` answers have completed (successfully or not). */
export async function waitForAnswers(h: Harness, count: number, timeoutMs = 10_000): Promise<void> {
  await h.slack.waitFor(() => answerLogs(h).length >= count, timeoutMs);
}

/** Bot messages in a thread, oldest first (ephemerals excluded). */
export function botMessages(h: Harness, channel: string, threadTs: string): FakeMessage[] {
  return h.slack.botReplies(channel, threadTs).filter((m) => !m.ephemeral);
}

/** The thread's bot messages as a person reads them, joined. */
export function threadText(h: Harness, channel: string, threadTs: string): string {
  return botMessages(h, channel, threadTs)
    .map((m) => h.slack.displayText(m))
    .join('\n');
}

/** Every input token of an answer's request: Bedrock reports cached tokens beside `inputTokens`. */
export function inputTokensOf(line: Record<string, unknown>): number {
  return (
    Number(line.inputTokens ?? 0) + Number(line.cacheReadTokens ?? 0) + Number(line.cacheWriteTokens ?? 0)
  );
}

/** The messages a model request sent, without prompt-cache checkpoints: what the model reads. */
export function sentMessages(request: RecordedModelRequest | undefined): Message[] {
  return (request?.body.messages ?? []).map((message) => ({
    ...message,
    content: (message.content ?? []).filter((block) => !('cachePoint' in block)),
  }));
}
