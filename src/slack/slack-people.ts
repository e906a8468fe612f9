/**
 * Names for Slack user ids, and questions cleaned for the model: the bot's own mention removed,
 * other mentions (`<@U…>`, `<#C…|name>`, `<!here>`, links) turned into readable text.
 * Names are cached for a while so a busy thread does not spend users.info calls.
 */
import { LRUCache } from 'lru-cache';
import {
  type ThreadMessage,
  type ThreadReader,
  ThreadReadLimitedError,
  type ThreadRef,
  type Viewing,
} from '../conversation/ports.ts';
import type { Logger } from '../logger.ts';
import { type SlackApi, SlackCallError } from './slack-api.ts';
import { fileRefsOf, type SlackFile } from './slack-files.ts';

const NAME_TTL_MS = 60 * 60 * 1000;
const MAX_CACHED_NAMES = 5_000;
/** Most earlier messages given as context (the newest; the history budget may keep fewer). */
const THREAD_CONTEXT_MESSAGES = 200;
/** Messages read from a channel (or a message's thread) the person is looking at. */
const VIEWED_MESSAGES = 30;
/** conversations.replies pages read for one thread (200 messages each), oldest first. */
const MAX_REPLY_PAGES = 10;

/**
 * How Slack limits this app's `conversations.replies`: `internal` (internal apps, Marketplace apps
 * and installs before 2025-05-29: Tier 3, pages of up to 1,000) or `commercial` (commercially
 * distributed non-Marketplace apps created after 2025-05-29: 1 call a minute, 15 messages).
 */
export type AppDistribution = 'internal' | 'commercial';

export interface SlackPeopleOptions {
  /** The bot's own bot id: its earlier messages are labelled as its own, other bots' as apps. */
  botId?: string | null;
  distribution?: AppDistribution;
  /** The name cache: least recently used names go first past this many; every name after an hour. */
  maxNames?: number;
  /** Clock for the names' time to live and the commercial read limit (tests). */
  now?: () => number;
}

type ReplyMessage = {
  files?: SlackFile[];
  user?: string;
  bot_id?: string;
  bot_profile?: { name?: string };
  username?: string;
  text?: string;
  ts?: string;
  subtype?: string;
};

interface UserInfo {
  user?: {
    name?: string;
    real_name?: string;
    is_admin?: boolean;
    is_owner?: boolean;
    profile?: { display_name?: string; real_name?: string; email?: string };
  };
}

export class SlackPeople implements ThreadReader {
  readonly #slack: SlackApi;
  readonly #logger: Logger;
  readonly #names: LRUCache<string, string>;
  /** Emails by user id ('' for a person without one, so the miss is cached too). */
  readonly #emails: LRUCache<string, string>;
  readonly #options: SlackPeopleOptions;
  readonly #now: () => number;
  #botMention: { userId: string; pattern: RegExp } | null = null;
  /** Commercial distribution: when each workspace's one conversations.replies call a minute is free again. */
  readonly #nextReadAtMs = new Map<string, number>();
  /** Commercial distribution: threads read already (a failed answer does not spend another read). */
  readonly #threadsRead = new LRUCache<string, ReplyMessage[]>({ max: 1_000, ttl: 10 * 60_000 });

  constructor(slack: SlackApi, logger: Logger, options: SlackPeopleOptions = {}) {
    this.#slack = slack;
    this.#logger = logger;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#names = new LRUCache({
      max: options.maxNames ?? MAX_CACHED_NAMES,
      ttl: NAME_TTL_MS,
      // A given clock is read on every look-up (lru-cache otherwise reuses a reading for 1 ms).
      ...(options.now ? { perf: { now: options.now }, ttlResolution: 0 } : {}),
    });
    this.#emails = new LRUCache({ max: options.maxNames ?? MAX_CACHED_NAMES, ttl: NAME_TTL_MS });
  }

  /**
   * The person's email (users.info, `users:read.email`), cached like names; null when Slack shows
   * none (a bot, or the scope is missing) or cannot be asked.
   */
  async emailOf(userId: string): Promise<string | null> {
    const cached = this.#emails.get(userId);
    if (cached !== undefined) return cached || null;
    try {
      const info = await this.#slack.call<UserInfo>('users.info', { user: userId });
      const email = info.user?.profile?.email ?? '';
      this.#emails.set(userId, email);
      return email || null;
    } catch (error) {
      this.#logger.debug({ err: error, userId }, 'users.info failed; the email is unknown');
      return null;
    }
  }

  async nameOf(userId: string): Promise<string> {
    const cached = this.#names.get(userId);
    if (cached !== undefined) return cached;
    try {
      const info = await this.#slack.call<UserInfo>('users.info', { user: userId });
      const user = info.user;
      const name = user?.profile?.display_name || user?.real_name || user?.name || userId;
      this.#names.set(userId, name);
      return name;
    } catch (error) {
      this.#logger.debug({ err: error, userId }, 'users.info failed; using the id');
      return userId;
    }
  }

  /** Whether `userId` is a workspace admin or owner (asked each time: it is rare, and roles change). */
  async isAdmin(userId: string): Promise<boolean> {
    try {
      const info = await this.#slack.call<UserInfo>('users.info', { user: userId });
      return info.user?.is_admin === true || info.user?.is_owner === true;
    } catch (error) {
      this.#logger.debug({ err: error, userId }, 'users.info failed; not treating the user as an admin');
      return false;
    }
  }

  /** `<@U…>` and `<@U…|label>` of one user (the bot's, the same on every event: built once). */
  #mentionOf(userId: string): RegExp {
    if (this.#botMention?.userId !== userId)
      this.#botMention = { userId, pattern: new RegExp(`<@${userId}(\\|[^>]*)?>`, 'g') };
    return this.#botMention.pattern;
  }

  /**
   * Slack message text as a person reads it; the bot's own mention (if given) removed. With
   * `keepEntities`, `&lt;` `&gt;` `&amp;` stay encoded (for text quoted to the model as data).
   */
  async readable(text: string, botUserId: string | null, keepEntities = false): Promise<string> {
    let result = botUserId ? text.replace(this.#mentionOf(botUserId), ' ') : text;
    // Most questions hold no other markup: skip the lookups and the rewriting below.
    if (!result.includes('<') && !result.includes('&')) return result.replace(/[ \t]{2,}/g, ' ').trim();
    const ids = [...new Set([...result.matchAll(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g)].map((m) => m[1] ?? ''))];
    const names = new Map(await Promise.all(ids.map(async (id) => [id, await this.nameOf(id)] as const)));
    result = result
      .replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_m, id: string) => `@${names.get(id) ?? id}`)
      .replace(/<#[CG][A-Z0-9]+\|([^>]*)>/g, '#$1')
      .replace(/<#([CG][A-Z0-9]+)>/g, '#$1')
      .replace(/<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>/g, (_m, label?: string) => label ?? '@group')
      .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, '@$1')
      .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2 ($1)')
      .replace(/<(https?:[^>]+)>/g, '$1')
      .replace(/<mailto:[^|>]+\|([^>]+)>/g, '$1');
    if (!keepEntities) result = result.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    return result.replace(/[ \t]{2,}/g, ' ').trim();
  }

  async read(thread: ThreadRef, beforeTs: string): Promise<ThreadMessage[]> {
    const messages = await this.#replies(thread);
    const earlier = messages
      .filter((m) => m.ts && Number(m.ts) < Number(beforeTs) && (m.text || m.files?.length))
      .slice(-THREAD_CONTEXT_MESSAGES);
    return Promise.all(earlier.map((m) => this.#asThreadMessage(m)));
  }

  async readViewing(viewing: Viewing): Promise<{ label: string; messages: ThreadMessage[] }> {
    const { channelId, messageTs } = viewing;
    try {
      const info = await this.#slack.call<{ channel?: { name?: string; is_im?: boolean } }>(
        'conversations.info',
        { channel: channelId },
      );
      const name = info.channel?.is_im ? 'a direct message' : `#${info.channel?.name ?? channelId}`;
      if (messageTs) {
        const thread = await this.#slack.call<{ messages?: ReplyMessage[] }>('conversations.replies', {
          channel: channelId,
          ts: messageTs,
          limit: VIEWED_MESSAGES,
        });
        const messages = (thread.messages ?? []).filter((m) => m.text);
        return {
          label: `a message in ${name} (and its replies)`,
          messages: await this.#asThreadMessages(messages),
        };
      }
      const history = await this.#slack.call<{ messages?: ReplyMessage[] }>('conversations.history', {
        channel: channelId,
        limit: VIEWED_MESSAGES,
      });
      // conversations.history answers newest first.
      const messages = (history.messages ?? []).filter((m) => m.text).reverse();
      return { label: name, messages: await this.#asThreadMessages(messages) };
    } catch (error) {
      // Not a member, a private channel, a canvas: the question is answered without it.
      this.#logger.debug({ err: error, channelId }, 'could not read what the person is looking at');
      return { label: channelId, messages: [] };
    }
  }

  #asThreadMessages(messages: ReplyMessage[]): Promise<ThreadMessage[]> {
    return Promise.all(messages.map((m) => this.#asThreadMessage(m)));
  }

  /** The thread's messages, oldest first: every page by cursor (bounded), or one small call. */
  async #replies(thread: ThreadRef): Promise<ReplyMessage[]> {
    if (this.#options.distribution === 'commercial') return this.#readOnce(thread);
    const all: ReplyMessage[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_REPLY_PAGES; page += 1) {
      const result = await this.#slack.call<{
        messages?: ReplyMessage[];
        response_metadata?: { next_cursor?: string };
      }>('conversations.replies', {
        channel: thread.channelId,
        ts: thread.threadTs,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      all.push(...(result.messages ?? []));
      cursor = result.response_metadata?.next_cursor || undefined;
      if (!cursor) return all;
    }
    // Longer than the pages read: what was read is the thread's start, not its recent end.
    this.#logger.info({ pages: MAX_REPLY_PAGES }, 'thread longer than the pages read; context is its start');
    return all;
  }

  /**
   * Slack allows such apps one conversations.replies call a minute per workspace, with at most 15
   * messages (the thread's start): a thread is read once (what was read joins its stored history
   * with the first answer), and a read Slack would refuse is not tried.
   */
  async #readOnce(thread: ThreadRef): Promise<ReplyMessage[]> {
    const key = `${thread.teamId}:${thread.channelId}:${thread.threadTs}`;
    const read = this.#threadsRead.get(key);
    if (read) return read;
    if (this.#now() < (this.#nextReadAtMs.get(thread.teamId) ?? 0)) {
      this.#logger.info('conversations.replies allows one call a minute here; answering without the thread');
      throw new ThreadReadLimitedError('conversations.replies: one call a minute');
    }
    this.#nextReadAtMs.set(thread.teamId, this.#now() + 60_000);
    try {
      const page = await this.#slack.call<{ messages?: ReplyMessage[] }>('conversations.replies', {
        channel: thread.channelId,
        ts: thread.threadTs,
        limit: 15,
      });
      const messages = page.messages ?? [];
      this.#threadsRead.set(key, messages);
      return messages;
    } catch (error) {
      if (!(error instanceof SlackCallError) || error.code !== 'rate_limited') throw error;
      this.#nextReadAtMs.set(thread.teamId, this.#now() + (error.retryAfterMs ?? 60_000));
      throw new ThreadReadLimitedError('conversations.replies was rate limited', { cause: error });
    }
  }

  async #asThreadMessage(m: ReplyMessage): Promise<ThreadMessage> {
    const text = await this.readable(m.text ?? '', null, true);
    if (m.bot_id && m.bot_id === this.#options.botId) return { author: 'assistant', text, kind: 'self' };
    if (m.bot_id || !m.user) {
      return { author: m.bot_profile?.name ?? m.username ?? 'an app', text, kind: 'app' };
    }
    const files = m.files?.length ? fileRefsOf(m.files) : [];
    return { author: await this.nameOf(m.user), text, kind: 'person', ...(files.length ? { files } : {}) };
  }
}
