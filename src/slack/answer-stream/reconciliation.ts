/**
 * Writes whose outcome is unknown (the response was lost: a timeout, a dropped connection) are
 * reconciled, never blindly repeated: a lost create is looked up in the thread and adopted; a
 * stream whose append or stop was lost is stopped as it stands and then rewritten whole with
 * chat.update. These are the Slack calls of both; the answer's writer decides when to make them.
 */
import type { Logger } from '../../logger.ts';
import { answerMetadata, type BotIdentity, compareTs, findLostMessage } from '../answer-messages.ts';
import { type SlackApi, SlackCallError } from '../slack-api.ts';
import type { AnswerTarget } from './options.ts';
import type { Page } from './page.ts';

/** Writes whose outcome is unknown that one answer reconciles before Slack counts as unreachable. */
export const MAX_RECONCILIATIONS = 3;
/** A lost create is looked up after this pause, so that a write still in flight at Slack shows. */
export const LOST_CREATE_READ_DELAY_MS = 500;

export interface ReconcileContext {
  slack: SlackApi;
  target: AnswerTarget;
  self: BotIdentity;
  logger: Logger;
  answerId: string;
}

/**
 * The message a lost create of `page` made, if Slack shows one: after the answer's earlier
 * messages, by this bot, marked with this answer and page (or, for a stream start, which takes no
 * metadata, by position), and not one of the answer's known messages. Null: create it again.
 */
async function findLostCreate(
  context: ReconcileContext,
  pages: readonly Page[],
  page: Page,
  lost: NonNullable<Page['unconfirmed']>,
): Promise<string | null> {
  const { slack, target, self, logger, answerId } = context;
  const index = pages.indexOf(page);
  const knownTs = new Set(pages.flatMap((p) => (p.ts === null ? [] : [p.ts])));
  const afterTs = pages
    .slice(0, index)
    .flatMap((p) => (p.ts === null ? [] : [p.ts]))
    .reduce((latest, ts) => (compareTs(ts, latest) > 0 ? ts : latest), target.questionTs);
  try {
    return await findLostMessage(slack, {
      channelId: target.channelId,
      threadTs: target.threadTs,
      afterTs,
      self,
      kind: lost.method === 'chat.startStream' ? 'stream' : 'post',
      answerId,
      page: page.serial,
      knownTs,
    });
  } catch (error) {
    // A 429 is waited out and the thread read again; otherwise showing the text twice is
    // better than not at all.
    if (error instanceof SlackCallError && error.code === 'rate_limited') throw error;
    logger.warn({ err: error }, 'could not read the thread back; creating the message again');
    return null;
  }
}

/**
 * After a lost create: adopts the message Slack made (true), or leaves the page to be created
 * again (false).
 */
export async function adoptLostCreate(
  context: ReconcileContext,
  pages: readonly Page[],
  page: Page,
): Promise<boolean> {
  const lost = page.unconfirmed;
  if (!lost) return false;
  const ts = await findLostCreate(context, pages, page, lost);
  page.unconfirmed = null;
  context.logger.info(
    { method: lost.method, adopted: ts !== null },
    'reconciled a write whose response was lost',
  );
  if (ts === null) return false; // Slack shows no such message: the next step creates it
  page.ts = ts;
  page.sent = lost.text;
  page.statusShown = true;
  return true;
}

/**
 * After a lost append or stop: stops the stream as it stands (already stopped is fine: the lost
 * write may have been the stop) and turns the page into a posted one, whose next `chat.update`
 * replaces whatever the stream showed with the page's whole text.
 */
export async function settleStream(context: ReconcileContext, page: Page): Promise<void> {
  const { slack, target, answerId } = context;
  try {
    await slack.call('chat.stopStream', {
      channel: target.channelId,
      ts: page.ts,
      metadata: answerMetadata(answerId, page.serial),
    });
  } catch (error) {
    if (!(error instanceof SlackCallError) || error.code !== 'message_not_in_streaming_state') throw error;
  }
  page.unsettled = false;
  page.mode = 'post';
  // What the stream shows is unknown (the lost text once, or not at all): nothing counts as sent.
  page.sent = '';
}
