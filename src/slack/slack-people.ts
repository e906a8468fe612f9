/**
 * Names for Slack user ids, and questions cleaned for the model: the bot's own mention removed,
 * other mentions (`<@U…>`, `<#C…|name>`, `<!here>`, links) turned into readable text.
 * Names are cached for a while so a busy thread does not spend users.info calls.
 */
import { LRUCache } from 'lru-cache';
import type { ThreadMessage, ThreadReader, ThreadRef } from '../conversation/question.ts';
import type { Logger } from '../logger.ts';
import type { SlackApi } from './slack-api.ts';

const NAME_TTL_MS = 60 * 60 * 1000;
const MAX_CACHED_NAMES = 5_000;
const THREAD_CONTEXT_MESSAGES = 50;

/** The name cache: least recently used names go first past `maxNames`, every name after an hour. */
export interface NameCacheOptions {
  maxNames?: number;
  /** Clock for the names' time to live (tests). */
  now?: () => number;
}

interface UserInfo {
  user?: { name?: string; real_name?: string; profile?: { display_name?: string; real_name?: string } };
}

export class SlackPeople implements ThreadReader {
  readonly #slack: SlackApi;
  readonly #logger: Logger;
  readonly #names: LRUCache<string, string>;
  #botMention: { userId: string; pattern: RegExp } | null = null;

  constructor(slack: SlackApi, logger: Logger, cache: NameCacheOptions = {}) {
    this.#slack = slack;
    this.#logger = logger;
    this.#names = new LRUCache({
      max: cache.maxNames ?? MAX_CACHED_NAMES,
      ttl: NAME_TTL_MS,
      // A given clock is read on every look-up (lru-cache otherwise reuses a reading for 1 ms).
      ...(cache.now ? { perf: { now: cache.now }, ttlResolution: 0 } : {}),
    });
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

  /** `<@U…>` and `<@U…|label>` of one user (the bot's, the same on every event: built once). */
  #mentionOf(userId: string): RegExp {
    if (this.#botMention?.userId !== userId)
      this.#botMention = { userId, pattern: new RegExp(`<@${userId}(\\|[^>]*)?>`, 'g') };
    return this.#botMention.pattern;
  }

  /** Slack message text as a person reads it; the bot's own mention (if given) removed. */
  async readable(text: string, botUserId: string | null): Promise<string> {
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
      .replace(/<mailto:[^|>]+\|([^>]+)>/g, '$1')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    return result.replace(/[ \t]{2,}/g, ' ').trim();
  }

  async read(thread: ThreadRef, beforeTs: string): Promise<ThreadMessage[]> {
    const result = await this.#slack.call<{
      messages?: Array<{ user?: string; bot_id?: string; text?: string; ts?: string; subtype?: string }>;
    }>('conversations.replies', { channel: thread.channelId, ts: thread.threadTs, limit: 200 });
    const earlier = (result.messages ?? [])
      .filter((m) => m.ts && Number(m.ts) < Number(beforeTs) && m.text)
      .slice(-THREAD_CONTEXT_MESSAGES);
    return Promise.all(
      earlier.map(async (m) => ({
        author: m.user ? await this.nameOf(m.user) : 'a bot',
        text: await this.readable(m.text ?? '', null),
        fromBot: Boolean(m.bot_id),
      })),
    );
  }
}
