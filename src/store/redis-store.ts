/**
 * ConversationStore on Redis (standalone or Cluster), shared by every replica.
 *
 * Keys (one thread's keys share the `{t:…}` hash tag, so they live in one cluster slot and the
 * commit script may touch both):
 *   <prefix>{t:<threadId>}:state   JSON ThreadState, PX ttl
 *   <prefix>{t:<threadId>}:lock    owner token, PX ttl
 *   <prefix>{t:<threadId>}:users   SET of user ids that addressed the bot there, PX ttl (the state's)
 *   <prefix>{t:<threadId>}:claim:<key>  "1", PX ttl (one delivery of a question, claimed once)
 *   <prefix>{c:<team>:<channel>}:settings     HASH field → JSON value, plus _updatedBy, _updatedAtMs
 *   <prefix>{usage:<team>:<day>}:u:<user>     HASH of whole-number totals (HINCRBY), PX ttl
 *   <prefix>{usage:<team>:<day>}:c:<channel>  the same for a channel
 *   <prefix>viewing:<userKey>      JSON Viewing, PX ttl
 *   <prefix>{t:<threadId>}:paused:<approvalId>  "<approvalId>\n<JSON PausedTurn>", PX ttl (one per approval)
 *
 * A workspace's usage of one day shares a hash tag, so that an answer adds to its asker's and its
 * channel's totals in one script (one round trip), and a budget check reads both in one.
 * (At Slack's pace, one workspace's answers are far from what one cluster slot takes.)
 * Every failure to reach Redis surfaces as StoreUnavailableError, within a bounded time. The atomic
 * steps are Lua scripts in lua/ (redis-store-scripts.ts); the connection is redis-client.ts's.
 */
import { randomUUID } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import type {
  Admission,
  ChannelSettingsPatch,
  ConversationStore,
  HeldThread,
  Participant,
  PausedTurn,
  StoredChannelSettings,
  ThreadMembership,
  ThreadState,
  Turn,
  UsageScope,
  UsageTotals,
  Viewing,
} from '../conversation/ports.ts';
import { emptyUsage, StoreUnavailableError, USAGE_FIELDS } from '../conversation/ports.ts';
import type { StoreLogger } from './redis-client.ts';
import { defineStoreScripts, type StoreScripts } from './redis-store-scripts.ts';

export interface RedisStoreOptions {
  /** A client made by createRedisClient (or configured the same way); the store owns it from now on. */
  client: Redis | Cluster;
  /** Prepended to every key, e.g. `slackbot:`. Must not contain `{` or `}` (they would break hash tags). */
  keyPrefix: string;
  /** Bound on each store call: waiting for a connection, then again for the reply. */
  commandTimeoutMs?: number;
  /** Told about corrupt stored state. */
  logger?: StoreLogger;
}

const defaultCommandTimeoutMs = 2_000;

export class RedisStore implements ConversationStore {
  private readonly client: Redis | Cluster;
  private readonly scripts: StoreScripts;
  private readonly keyPrefix: string;
  private readonly commandTimeoutMs: number;
  private readonly logger: StoreLogger | undefined;
  /** Settles on the client's next 'ready' (or 'end'); shared by every call waiting for a connection. */
  private nextReady: { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } | null =
    null;
  private closing: Promise<void> | null = null;

  constructor(options: RedisStoreOptions) {
    if (/[{}]/.test(options.keyPrefix)) {
      throw new Error('The Redis key prefix must not contain "{" or "}"');
    }
    this.client = options.client;
    this.keyPrefix = options.keyPrefix;
    this.commandTimeoutMs = options.commandTimeoutMs ?? defaultCommandTimeoutMs;
    this.logger = options.logger;

    this.scripts = defineStoreScripts(this.client);

    this.client.on('ready', () => {
      this.nextReady?.resolve();
      this.nextReady = null;
    });
    this.client.on('end', () => {
      this.nextReady?.reject(new Error('Connection is closed.'));
      this.nextReady = null;
    });
  }

  async admit(threadId: string, admission: Admission): Promise<{ held: HeldThread | null } | null> {
    const claimPx = toPx(admission.claimTtlMs);
    const usersPx = admission.participant ? toPx(admission.participant.ttlMs) : 1;
    const lockPx = admission.lockTtlMs === undefined ? 1 : toPx(admission.lockTtlMs);
    const token = admission.lockTtlMs === undefined ? '' : randomUUID();
    const [admitted, locked, raw] = await this.run('admit', () =>
      this.scripts.slackbotAdmit(
        this.claimKey(threadId, admission.claimKey),
        this.lockKey(threadId),
        this.stateKey(threadId),
        this.usersKey(threadId),
        claimPx,
        admission.participant?.userId ?? '',
        usersPx,
        token,
        lockPx,
      ),
    );
    if (admitted !== 1) return null;
    if (locked !== 1) return { held: null };
    return { held: { token, state: raw ? this.parseState(this.stateKey(threadId), raw) : null } };
  }

  async acquireLock(threadId: string, ttlMs: number): Promise<string | null> {
    const px = toPx(ttlMs);
    const token = randomUUID();
    const reply = await this.run('acquireLock', () =>
      this.client.set(this.lockKey(threadId), token, 'PX', px, 'NX'),
    );
    return reply === 'OK' ? token : null;
  }

  async acquireLockAndGetThread(
    threadId: string,
    ttlMs: number,
    participant?: Participant,
  ): Promise<HeldThread | null> {
    const px = toPx(ttlMs);
    const usersPx = participant ? toPx(participant.ttlMs) : 1;
    const token = randomUUID();
    const [taken, raw] = await this.run('acquireLockAndGetThread', () =>
      this.scripts.slackbotAcquireLockAndGet(
        this.lockKey(threadId),
        this.stateKey(threadId),
        this.usersKey(threadId),
        token,
        px,
        participant?.userId ?? '',
        usersPx,
      ),
    );
    if (taken !== 1) return null;
    return { token, state: raw ? this.parseState(this.stateKey(threadId), raw) : null };
  }

  async addParticipant(threadId: string, participant: Participant): Promise<void> {
    const px = toPx(participant.ttlMs);
    await this.run('addParticipant', () =>
      this.scripts.slackbotAddParticipant(this.usersKey(threadId), participant.userId, px),
    );
  }

  async threadMembership(threadId: string, userId: string): Promise<ThreadMembership> {
    const [active, participant] = await this.run('threadMembership', () =>
      this.scripts.slackbotMembership(this.usersKey(threadId), this.stateKey(threadId), userId),
    );
    return { active: active === 1, participant: participant === 1 };
  }

  async extendLock(threadId: string, token: string, ttlMs: number): Promise<boolean> {
    const px = toPx(ttlMs);
    const reply = await this.run('extendLock', () =>
      this.scripts.slackbotExtendLock(this.lockKey(threadId), token, px),
    );
    return reply === 1;
  }

  async releaseLock(threadId: string, token: string): Promise<boolean> {
    const reply = await this.run('releaseLock', () =>
      this.scripts.slackbotReleaseLock(this.lockKey(threadId), token),
    );
    return reply === 1;
  }

  async getThread(threadId: string): Promise<ThreadState | null> {
    const key = this.stateKey(threadId);
    const raw = await this.run('getThread', () => this.client.get(key));
    if (raw === null) return null;
    return this.parseState(key, raw);
  }

  private parseState(key: string, raw: string): ThreadState | null {
    const state = parseThreadState(raw);
    if (state === null) {
      // Losing one thread's memory beats failing every answer in it; the value is overwritten on commit.
      this.logger?.warn({ key, bytes: raw.length }, 'Corrupt thread state in Redis; treating it as absent');
    }
    return state;
  }

  async commitThread(threadId: string, state: ThreadState, ttlMs: number, token: string): Promise<boolean> {
    const px = toPx(ttlMs);
    const stateJson = JSON.stringify(state);
    const reply = await this.run('commitThread', () =>
      this.scripts.slackbotCommitThread(
        this.lockKey(threadId),
        this.stateKey(threadId),
        this.usersKey(threadId),
        token,
        stateJson,
        px,
      ),
    );
    return reply === 1;
  }

  async getChannelSettings(teamId: string, channelId: string): Promise<StoredChannelSettings | null> {
    const key = this.settingsKey(teamId, channelId);
    const fields = await this.run('getChannelSettings', () => this.client.hgetall(key));
    return Object.keys(fields).length === 0 ? null : this.parseSettings(key, Object.entries(fields));
  }

  async updateChannelSettings(
    teamId: string,
    channelId: string,
    patch: ChannelSettingsPatch,
    change: { by: string; atMs: number },
  ): Promise<{ before: StoredChannelSettings | null; after: StoredChannelSettings }> {
    const key = this.settingsKey(teamId, channelId);
    const args = [change.by, String(change.atMs)];
    for (const [field, value] of Object.entries(patch)) {
      if (field.startsWith('_')) throw new RangeError(`settings fields must not start with "_": ${field}`);
      args.push(field, value === null ? '' : JSON.stringify(value));
    }
    const reply = await this.run('updateChannelSettings', () =>
      this.scripts.slackbotUpdateSettings(key, ...args),
    );
    const split = reply.indexOf('|');
    const before = pairs(reply.slice(0, split));
    return {
      before: before.length === 0 ? null : this.parseSettings(key, before),
      after: this.parseSettings(key, pairs(reply.slice(split + 1))),
    };
  }

  private parseSettings(key: string, fields: Array<[string, string]>): StoredChannelSettings {
    const settings: StoredChannelSettings = { values: {}, updatedBy: null, updatedAtMs: null };
    for (const [field, raw] of fields) {
      if (field === '_updatedBy') settings.updatedBy = raw;
      else if (field === '_updatedAtMs') settings.updatedAtMs = Number(raw);
      else {
        try {
          settings.values[field] = JSON.parse(raw);
        } catch {
          this.logger?.warn({ key, field }, 'Corrupt channel setting in Redis; ignoring it');
        }
      }
    }
    return settings;
  }

  async addUsage(scopes: UsageScope[], day: string, amounts: UsageTotals, ttlMs: number): Promise<void> {
    const px = toPx(ttlMs);
    if (scopes.length === 0) return;
    const keys = this.usageKeys(scopes, day);
    const args = [String(px)];
    for (const field of USAGE_FIELDS) {
      const amount = Math.round(amounts[field]);
      if (amount !== 0) args.push(field, String(amount));
    }
    await this.run('addUsage', () => this.scripts.slackbotAddUsage(keys.length, ...keys, ...args));
  }

  async getUsage(scopes: UsageScope[], day: string): Promise<UsageTotals[]> {
    if (scopes.length === 0) return [];
    const keys = this.usageKeys(scopes, day);
    const replies = await this.run('getUsage', () => this.scripts.slackbotGetUsage(keys.length, ...keys));
    return replies.map((flat) => {
      const totals = emptyUsage();
      for (const [field, value] of pairs(flat))
        if ((USAGE_FIELDS as readonly string[]).includes(field))
          totals[field as keyof UsageTotals] = Number(value);
      return totals;
    });
  }

  async setViewing(userKey: string, viewing: Viewing | null, ttlMs: number): Promise<void> {
    const px = toPx(ttlMs);
    const key = `${this.keyPrefix}viewing:${userKey}`;
    await this.run<unknown>('setViewing', () =>
      viewing === null ? this.client.del(key) : this.client.set(key, JSON.stringify(viewing), 'PX', px),
    );
  }

  async getViewing(userKey: string): Promise<Viewing | null> {
    const raw = await this.run('getViewing', () => this.client.get(`${this.keyPrefix}viewing:${userKey}`));
    if (raw === null) return null;
    try {
      const value = JSON.parse(raw) as Partial<Viewing>;
      if (typeof value.channelId !== 'string') return null;
      return typeof value.messageTs === 'string'
        ? { channelId: value.channelId, messageTs: value.messageTs }
        : { channelId: value.channelId };
    } catch {
      return null;
    }
  }

  async pauseTurn(threadId: string, paused: PausedTurn, ttlMs: number): Promise<void> {
    const px = toPx(ttlMs);
    const value = `${paused.approvalId}\n${JSON.stringify(paused)}`;
    const key = this.pausedKey(threadId, paused.approvalId);
    await this.run('pauseTurn', () => this.client.set(key, value, 'PX', px));
  }

  async pausedTurn(threadId: string, approvalId: string): Promise<PausedTurn | null> {
    const raw = await this.run('pausedTurn', () => this.client.get(this.pausedKey(threadId, approvalId)));
    return raw === null ? null : parsePaused(raw);
  }

  async takePausedTurn(threadId: string, approvalId: string): Promise<PausedTurn | null> {
    const raw = await this.run('takePausedTurn', () =>
      this.scripts.slackbotTakePaused(this.pausedKey(threadId, approvalId), approvalId),
    );
    return raw ? parsePaused(raw) : null;
  }

  async ping(): Promise<void> {
    await this.run('ping', () => this.client.ping());
  }

  connected(): boolean {
    return this.client.status === 'ready' && this.closing === null;
  }

  async close(): Promise<void> {
    this.closing ??= this.quit();
    return this.closing;
  }

  private async quit(): Promise<void> {
    try {
      await withTimeout(this.client.quit(), this.commandTimeoutMs);
    } catch {
      // QUIT cannot reach a server that is down; drop the connection without it.
      this.client.disconnect();
    }
  }

  private stateKey(threadId: string): string {
    return `${this.keyPrefix}{t:${threadId}}:state`;
  }

  /** One key per approval: a second pause in a thread never replaces the first. */
  private pausedKey(threadId: string, approvalId: string): string {
    return `${this.keyPrefix}{t:${threadId}}:paused:${approvalId}`;
  }

  private usersKey(threadId: string): string {
    return `${this.keyPrefix}{t:${threadId}}:users`;
  }

  private lockKey(threadId: string): string {
    return `${this.keyPrefix}{t:${threadId}}:lock`;
  }

  private claimKey(threadId: string, key: string): string {
    return `${this.keyPrefix}{t:${threadId}}:claim:${key}`;
  }

  private settingsKey(teamId: string, channelId: string): string {
    return `${this.keyPrefix}{c:${teamId}:${channelId}}:settings`;
  }

  /** One workspace's usage of one day shares a tag: one script adds to several scopes. */
  private usageKeys(scopes: UsageScope[], day: string): string[] {
    const teamId = scopes[0]?.teamId;
    if (scopes.some((scope) => scope.teamId !== teamId))
      throw new RangeError('usage scopes of one call must belong to one workspace');
    return scopes.map(
      (scope) => `${this.keyPrefix}{usage:${teamId}:${day}}:${scope.kind === 'user' ? 'u' : 'c'}:${scope.id}`,
    );
  }

  /**
   * Runs one command with a bounded wait: first for a connection (the client fails commands at once
   * while disconnected, so nothing is queued to run after the caller gave up), then for the reply.
   */
  private async run<T>(operation: string, command: () => Promise<T>): Promise<T> {
    try {
      if (this.closing !== null) throw new Error('The store is closed');
      await this.waitUntilReady();
      return await withTimeout(command(), this.commandTimeoutMs);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new StoreUnavailableError(`Redis ${operation} failed: ${reason}`, { cause: error });
    }
  }

  private waitUntilReady(): Promise<void> | undefined {
    const status = this.client.status;
    if (status === 'ready') return undefined;
    if (status === 'end') return Promise.reject(new Error('Connection is closed.'));
    if (this.nextReady === null) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be waiting when 'end' rejects it; that must not become an unhandled rejection.
      promise.catch(() => {});
      this.nextReady = { promise, resolve, reject };
    }
    return withTimeout(this.nextReady.promise, this.commandTimeoutMs, `Redis is not connected (${status})`);
  }
}

/** A flat HGETALL reply as [field, value] pairs. */
function pairs(flat: string[]): Array<[string, string]> {
  const result: Array<[string, string]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) result.push([flat[i] as string, flat[i + 1] as string]);
  return result;
}

function toPx(ttlMs: number): number {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
  }
  // PX takes whole milliseconds; rounding up never shortens a TTL.
  return Math.ceil(ttlMs);
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, message = 'Command timed out'): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The stored JSON as ThreadState, or null when it is not one (corrupt, or written by something else). */
function parseThreadState(raw: string): ThreadState | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const record = value as Record<string, unknown>;
  // Fields other than turns may be missing in state written by an older version: default them.
  // (Older versions kept `participants` and `lastInputTokens` here; the first is read by the
  // membership script, the second cannot be compared like for like and is dropped.)
  const { turns, kbSessionId = null, lastRequest = null } = record;
  if (!Array.isArray(turns) || !turns.every(isTurn)) return null;
  if (kbSessionId !== null && typeof kbSessionId !== 'string') return null;
  if (lastRequest !== null && !isLastRequest(lastRequest)) return null;
  return { turns, kbSessionId, lastRequest };
}

/** A stored paused turn (after its approval id line), or null when it is not one. */
function parsePaused(raw: string): PausedTurn | null {
  try {
    const value = JSON.parse(raw.slice(raw.indexOf('\n') + 1)) as PausedTurn;
    return typeof value.approvalId === 'string' ? value : null;
  } catch {
    return null;
  }
}

function isLastRequest(value: unknown): value is ThreadState['lastRequest'] {
  if (typeof value !== 'object' || value === null) return false;
  const { inputTokens, estimatedTokens } = value as Record<string, unknown>;
  return typeof inputTokens === 'number' && typeof estimatedTokens === 'number';
}

function isTurn(value: unknown): value is Turn {
  if (typeof value !== 'object' || value === null) return false;
  const { role, text } = value as Record<string, unknown>;
  return (role === 'user' || role === 'assistant') && typeof text === 'string';
}
