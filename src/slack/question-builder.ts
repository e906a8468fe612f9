/**
 * Turns Slack payloads into questions for the conversation service, or says why the payload is
 * not a person asking: bots (this one included), edits, deletions, joins and other subtypes, and
 * channel chatter that is not in a thread the bot could be part of.
 */

import type { Question, Viewing } from '../conversation/ports.ts';
import { fileRefsOf, type SlackFile } from './slack-files.ts';
import type { SlackPeople } from './slack-people.ts';

/** Message subtypes that are still a person writing; every other subtype is ignored. */
const PERSON_SUBTYPES = new Set([undefined, 'file_share', 'thread_broadcast']);

export interface SlackMessageEvent {
  type: string;
  subtype?: string;
  user?: string;
  bot_id?: string;
  bot_profile?: unknown;
  text?: string;
  ts?: string;
  thread_ts?: string;
  channel?: string;
  channel_type?: string;
  team?: string;
  edited?: unknown;
  hidden?: boolean;
  files?: SlackFile[];
  /** In the Messages tab: what the person is looking at (same shape as app_context_changed's). */
  context?: unknown;
  /** Lets the app search Slack as this person may see (assistant.search.context), for a short while. */
  action_token?: string;
  assistant_thread?: { action_token?: string };
}

/** How Slack delivered the event: `retryNum` is set on redeliveries (Bolt's `context.retryNum`). */
export interface Delivery {
  retryNum?: number | undefined;
}

export interface BotIdentity {
  botUserId: string | null;
  botId: string | null;
  /** Workspace of the event envelope (team_id), used when the event itself has none. */
  teamId: string;
}

/** Why a payload is not a person asking; the label of `slackbot_messages_ignored_total`. */
export type IgnoreReason =
  | 'self'
  | 'bot'
  | 'subtype'
  | 'edited'
  | 'hidden'
  | 'incomplete'
  | 'mention_copy'
  | 'channel_chatter';

/** A payload turned away, and why. */
export interface Ignored {
  ignored: IgnoreReason;
}

type PersonMessage = SlackMessageEvent & { user: string; ts: string; channel: string; text: string };

/** Null when the event is a person writing (a `PersonMessage`); else why it is not. */
function whyIgnored(event: SlackMessageEvent, bot: BotIdentity): IgnoreReason | null {
  // Its own messages first: they carry a bot_id too, and must never be taken for another bot's.
  if ((bot.botUserId && event.user === bot.botUserId) || (bot.botId && event.bot_id === bot.botId))
    return 'self';
  if (event.bot_id || event.bot_profile) return 'bot';
  if (!PERSON_SUBTYPES.has(event.subtype)) return 'subtype';
  if (event.edited) return 'edited';
  if (event.hidden) return 'hidden';
  const fields = [event.user, event.ts, event.channel, event.text];
  if (!fields.every((field) => typeof field === 'string') || !event.user || !event.ts || !event.channel)
    return 'incomplete';
  if (event.thread_ts !== undefined && typeof event.thread_ts !== 'string') return 'incomplete';
  return null;
}

function dedupKey(teamId: string, channel: string, ts: string): string {
  return `msg:${teamId}:${channel}:${ts}`;
}

function mentions(text: string, botUserId: string | null): boolean {
  return botUserId !== null && text.includes(`<@${botUserId}`);
}

/** The question a person's message asks, in its thread. */
async function questionFrom(
  event: PersonMessage,
  bot: BotIdentity,
  people: SlackPeople,
  how: { surface: Question['surface']; isDm: boolean; addressed: boolean },
  delivery: Delivery,
): Promise<Question> {
  const teamId = bot.teamId;
  return {
    thread: { teamId, channelId: event.channel, threadTs: event.thread_ts ?? event.ts },
    replyTo: { kind: 'thread' },
    messageTs: event.ts,
    userId: event.user,
    text: await people.readable(event.text, bot.botUserId),
    ...how,
    dedupKey: dedupKey(teamId, event.channel, event.ts),
    ...(delivery.retryNum ? { redelivery: true } : {}),
    ...(how.isDm && viewingFrom(event.context) ? { viewing: viewingFrom(event.context) as Viewing } : {}),
    ...(event.files?.length ? { files: fileRefsOf(event.files) } : {}),
    ...(actionTokenOf(event) ? { actionToken: actionTokenOf(event) as string } : {}),
  };
}

export async function questionFromMention(
  event: SlackMessageEvent,
  bot: BotIdentity,
  people: SlackPeople,
  delivery: Delivery,
): Promise<Question | Ignored> {
  const reason = whyIgnored(event, bot);
  if (reason) return { ignored: reason };
  const person = event as PersonMessage; // whyIgnored checked user, ts, channel and text
  const isDm = person.channel.startsWith('D');
  return questionFrom(
    person,
    bot,
    people,
    { surface: isDm ? 'dm' : 'mention', isDm, addressed: true },
    delivery,
  );
}

export async function questionFromMessage(
  event: SlackMessageEvent,
  bot: BotIdentity,
  people: SlackPeople,
  delivery: Delivery,
): Promise<Question | Ignored> {
  const reason = whyIgnored(event, bot);
  if (reason) return { ignored: reason };
  const person = event as PersonMessage; // whyIgnored checked user, ts, channel and text
  const isDm = person.channel_type === 'im' || person.channel.startsWith('D');
  // A channel message that mentions the bot also arrives as app_mention, which answers it: skipping
  // this copy halves the work per mention (both would share one dedup key anyway).
  if (!isDm && mentions(person.text, bot.botUserId)) return { ignored: 'mention_copy' };
  const inThread = person.thread_ts !== undefined && person.thread_ts !== person.ts;
  if (!isDm && !inThread) return { ignored: 'channel_chatter' };
  return questionFrom(
    person,
    bot,
    people,
    { surface: isDm ? 'dm' : 'thread_reply', isDm, addressed: isDm },
    delivery,
  );
}

export interface AskCommand {
  text: string;
  user_id: string;
  channel_id: string;
  team_id: string;
  response_url: string;
  trigger_id: string;
}

/** A question from /ask, once its text has been posted in the channel (or could not be). */
export function questionFromCommand(
  command: AskCommand,
  readableText: string,
  posted: { ts: string } | null,
  bot: BotIdentity,
): Question {
  const teamId = command.team_id || bot.teamId;
  const threadTs = posted?.ts ?? `cmd-${command.trigger_id}`;
  return {
    thread: { teamId, channelId: command.channel_id, threadTs },
    replyTo: posted ? { kind: 'thread' } : { kind: 'response_url', url: command.response_url },
    messageTs: threadTs,
    userId: command.user_id,
    text: readableText,
    surface: 'command',
    isDm: command.channel_id.startsWith('D'),
    addressed: true,
    dedupKey: `cmd:${teamId}:${command.trigger_id}`,
  };
}

/**
 * What a person is looking at, from Slack's `context` (app_context_changed, and the Messages tab's
 * messages): the most relevant channel or message entity; null for none (a canvas, a list, nothing).
 */
export function viewingFrom(context: unknown): Viewing | null {
  const entities = (context as { entities?: unknown } | null | undefined)?.entities;
  if (!Array.isArray(entities)) return null;
  for (const entity of entities as Array<{ type?: unknown; value?: unknown }>) {
    if (entity?.type === 'slack#/types/channel_id' && typeof entity.value === 'string')
      return { channelId: entity.value };
    const message = entity?.value as { channel_id?: unknown; message_ts?: unknown } | undefined;
    if (
      entity?.type === 'slack#/types/message_context' &&
      typeof message?.channel_id === 'string' &&
      typeof message.message_ts === 'string'
    )
      return { channelId: message.channel_id, messageTs: message.message_ts };
  }
  return null;
}

function actionTokenOf(event: SlackMessageEvent): string | undefined {
  return event.action_token ?? event.assistant_thread?.action_token;
}

/** A click on a button in one of the bot's messages, as the core needs it; null for a click elsewhere. */
export interface MessageClick {
  thread: { teamId: string; channelId: string; threadTs: string };
  messageTs: string;
  userId: string;
  /** The button's value (what it names: an answer, an approval). */
  value: string | null;
  /** Slack's time of the click, unique per click (for de-duplication). */
  clickId: string;
}

export function clickOf(
  body: { channel?: { id?: string }; message?: unknown; user: { id: string }; trigger_id?: string },
  action: unknown,
  teamId: string,
): MessageClick | null {
  const message = body.message as { ts?: string; thread_ts?: string } | undefined;
  const channelId = body.channel?.id;
  if (!channelId || !message?.ts) return null;
  const { value, action_ts: actionTs } = (action ?? {}) as { value?: string; action_ts?: string };
  return {
    thread: { teamId, channelId, threadTs: message.thread_ts ?? message.ts },
    messageTs: message.ts,
    userId: body.user.id,
    value: value ?? null,
    clickId: actionTs ?? body.trigger_id ?? message.ts,
  };
}
