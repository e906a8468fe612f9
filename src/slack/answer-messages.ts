/**
 * Finding an answer's own messages in its thread again, after a write whose response was lost
 * (a timeout, a dropped connection): Slack may have created the message, and creating it again
 * would show the answer twice.
 *
 * Every posted answer message carries metadata naming its answer and page, so a lost
 * `chat.postMessage` is recognised exactly. `chat.startStream` takes no metadata, so a lost stream
 * start is recognised as the bot's first unmarked message in the thread after the answer's last
 * known one: answers in one thread run one at a time (the thread lock), streams get their metadata
 * when they are stopped, and the bot's other messages there (notices) are marked too.
 */
import type { SlackApi } from './slack-api.ts';

export const ANSWER_EVENT_TYPE = 'assistant_answer';
export const NOTICE_EVENT_TYPE = 'assistant_notice';

export interface MessageMetadata {
  event_type: string;
  event_payload: Record<string, string | number>;
}

export function answerMetadata(answerId: string, page: number): MessageMetadata {
  return { event_type: ANSWER_EVENT_TYPE, event_payload: { answer_id: answerId, page } };
}

export const NOTICE_METADATA: MessageMetadata = { event_type: NOTICE_EVENT_TYPE, event_payload: {} };

/** Who the bot is in Slack (from auth.test); either id recognises its messages. */
export interface BotIdentity {
  botId: string | null;
  userId: string | null;
}

export interface LostMessageQuery {
  channelId: string;
  threadTs: string;
  /** Only messages after this ts can be the lost one (the question, or the answer's previous page). */
  afterTs: string;
  self: BotIdentity;
  /** What the lost call was: a posted page (found by its metadata) or a stream start. */
  kind: 'post' | 'stream';
  answerId: string;
  page: number;
  /** This answer's messages already known, never adopted twice. */
  knownTs: ReadonlySet<string>;
}

interface RepliedMessage {
  ts?: string;
  bot_id?: string;
  user?: string;
  metadata?: { event_type?: string; event_payload?: Record<string, unknown> };
}

interface RepliesPage {
  messages?: RepliedMessage[];
  response_metadata?: { next_cursor?: string };
}

/** Enough for any answer: pages of one answer follow one another, after the question. */
const MAX_REPLY_PAGES = 5;

/** The ts of the message the lost call created, or null when Slack shows none. */
export async function findLostMessage(slack: SlackApi, query: LostMessageQuery): Promise<string | null> {
  const messages = await repliesAfter(slack, query);
  const candidates = messages.filter(
    (m): m is RepliedMessage & { ts: string } =>
      typeof m.ts === 'string' &&
      compareTs(m.ts, query.afterTs) > 0 &&
      !query.knownTs.has(m.ts) &&
      isOwn(m, query.self),
  );
  if (query.kind === 'post') {
    const found = candidates.find(
      (m) =>
        m.metadata?.event_type === ANSWER_EVENT_TYPE &&
        m.metadata.event_payload?.answer_id === query.answerId &&
        Number(m.metadata.event_payload?.page) === query.page,
    );
    return found?.ts ?? null;
  }
  const unmarked = candidates.filter((m) => m.metadata === undefined).sort((a, b) => compareTs(a.ts, b.ts));
  return unmarked[0]?.ts ?? null;
}

async function repliesAfter(slack: SlackApi, query: LostMessageQuery): Promise<RepliedMessage[]> {
  const messages: RepliedMessage[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_REPLY_PAGES; page += 1) {
    const result = await slack.call<RepliesPage>('conversations.replies', {
      channel: query.channelId,
      ts: query.threadTs,
      oldest: query.afterTs,
      include_all_metadata: true,
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    messages.push(...(result.messages ?? []));
    cursor = result.response_metadata?.next_cursor || undefined;
    if (!cursor) break;
  }
  return messages;
}

function isOwn(message: RepliedMessage, self: BotIdentity): boolean {
  if (self.botId !== null && message.bot_id === self.botId) return true;
  return self.userId !== null && message.user === self.userId;
}

/** Orders Slack timestamps ("1700000000.000100"): seconds, then the fraction. */
export function compareTs(a: string, b: string): number {
  const [aSeconds = '0', aFraction = ''] = a.split('.');
  const [bSeconds = '0', bFraction = ''] = b.split('.');
  const bySeconds = Number(aSeconds) - Number(bSeconds);
  if (bySeconds !== 0) return bySeconds;
  return Number(aFraction.padEnd(6, '0')) - Number(bFraction.padEnd(6, '0'));
}
