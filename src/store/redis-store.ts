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
 * Every failure to reach Redis surfaces as StoreUnavailableError, within a bounded time.
 */
import { randomUUID } from 'node:crypto';
import type { DNSLookupFunction } from 'ioredis';
import { Cluster, Redis } from 'ioredis';
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

/** The slice of a pino-style logger the store uses. */
export interface StoreLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

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

export interface RedisClientOptions {
  /** `redis://` or `rediss://` (TLS), with optional `user:password@` and, standalone only, `/db`. */
  url: string;
  /** True: `url` is one node of a Redis Cluster; the other nodes are discovered. */
  cluster: boolean;
  /** A command without a reply after this long fails. */
  commandTimeoutMs: number;
  /** A connection attempt that has not completed after this long is abandoned (and retried). */
  connectTimeoutMs: number;
  /** Told when the connection is lost (once per outage) and when it is back. */
  logger?: StoreLogger;
}

const defaultCommandTimeoutMs = 2_000;
const maxReconnectDelayMs = 2_000;

// Lua: compare the lock's token, then act; atomic on the server.
const extendLockLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const releaseLockLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

// KEYS[1] lock, KEYS[2] state, KEYS[3] users; ARGV[1] token, ARGV[2] ttl in ms, ARGV[3] user id or '',
// ARGV[4] users ttl in ms. {1, state or nil} when taken (the user recorded), {0} when held.
const acquireLockAndGetLua = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  if ARGV[3] ~= '' then
    redis.call('SADD', KEYS[3], ARGV[3])
    redis.call('PEXPIRE', KEYS[3], ARGV[4])
  end
  return {1, redis.call('GET', KEYS[2])}
end
return {0}`;

// KEYS[1] claim, KEYS[2] lock, KEYS[3] state, KEYS[4] users; ARGV[1] claim ttl in ms, ARGV[2] user
// id or '', ARGV[3] users ttl in ms, ARGV[4] lock token or '' (do not lock), ARGV[5] lock ttl in ms.
// {0} for a duplicate (nothing written); {1, 0} admitted; {1, 1, state or nil} admitted with the lock.
const admitLua = `
if not redis.call('SET', KEYS[1], '1', 'PX', ARGV[1], 'NX') then return {0} end
if ARGV[2] ~= '' then
  redis.call('SADD', KEYS[4], ARGV[2])
  redis.call('PEXPIRE', KEYS[4], ARGV[3])
end
if ARGV[4] ~= '' and redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5], 'NX') then
  return {1, 1, redis.call('GET', KEYS[3])}
end
return {1, 0}`;

// KEYS[1] paused; ARGV[1] approval id. The value, deleted, when it is that approval's; else nil.
const takePausedLua = `
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, string.len(ARGV[1]) + 1) == ARGV[1] .. '\\n' then
  redis.call('DEL', KEYS[1])
  return value
end
return false`;

// KEYS[1] users; ARGV[1] user id, ARGV[2] ttl in ms.
const addParticipantLua = `
redis.call('SADD', KEYS[1], ARGV[1])
return redis.call('PEXPIRE', KEYS[1], ARGV[2])`;

// KEYS[1] users, KEYS[2] state; ARGV[1] user id. {active, participant}. State written before the
// users SET existed keeps its participants in the JSON: read them there (only for such threads).
const membershipLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {1, redis.call('SISMEMBER', KEYS[1], ARGV[1])}
end
local raw = redis.call('GET', KEYS[2])
if not raw then return {0, 0} end
local ok, state = pcall(cjson.decode, raw)
if not ok or type(state) ~= 'table' or type(state.participants) ~= 'table' then return {0, 0} end
for _, id in ipairs(state.participants) do
  if id == ARGV[1] then return {1, 1} end
end
return {1, 0}`;

// KEYS[1] lock, KEYS[2] state, KEYS[3] users; ARGV[1] token, ARGV[2] state JSON, ARGV[3] ttl in ms.
const commitThreadLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`;

// KEYS[1] settings; ARGV[1] updatedBy, ARGV[2] updatedAtMs, then field/value pairs (value '' clears
// the field). {fields before…, '|', fields after…} as flat HGETALL lists, so the caller logs exactly this change.
const updateSettingsLua = `
local before = redis.call('HGETALL', KEYS[1])
for i = 3, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i])
  else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
redis.call('HSET', KEYS[1], '_updatedBy', ARGV[1], '_updatedAtMs', ARGV[2])
local after = redis.call('HGETALL', KEYS[1])
local out = {}
for _, v in ipairs(before) do out[#out + 1] = v end
out[#out + 1] = '|'
for _, v in ipairs(after) do out[#out + 1] = v end
return out`;

// KEYS: the scopes' usage of one day; ARGV[1] ttl in ms, then field/amount pairs.
const addUsageLua = `
for _, key in ipairs(KEYS) do
  for i = 2, #ARGV, 2 do redis.call('HINCRBY', key, ARGV[i], ARGV[i + 1]) end
  redis.call('PEXPIRE', key, ARGV[1])
end
return #KEYS`;

// KEYS: several scopes' usage of one day (one hash tag). One HGETALL list per key.
const getUsageLua = `
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('HGETALL', key) end
return out`;

/** The commands defineCommand adds to the client (ioredis runs them as EVALSHA). */
interface StoreScripts {
  slackbotAdmit(
    claimKey: string,
    lockKey: string,
    stateKey: string,
    usersKey: string,
    claimTtlMs: number,
    userId: string,
    usersTtlMs: number,
    token: string,
    lockTtlMs: number,
  ): Promise<[number, number?, (string | null)?]>;
  slackbotAcquireLockAndGet(
    lockKey: string,
    stateKey: string,
    usersKey: string,
    token: string,
    ttlMs: number,
    userId: string,
    usersTtlMs: number,
  ): Promise<[number, (string | null)?]>;
  slackbotAddParticipant(usersKey: string, userId: string, ttlMs: number): Promise<number>;
  slackbotMembership(usersKey: string, stateKey: string, userId: string): Promise<[number, number]>;
  slackbotTakePaused(pausedKey: string, approvalId: string): Promise<string | null>;
  slackbotExtendLock(lockKey: string, token: string, ttlMs: number): Promise<number>;
  slackbotReleaseLock(lockKey: string, token: string): Promise<number>;
  slackbotCommitThread(
    lockKey: string,
    stateKey: string,
    usersKey: string,
    token: string,
    stateJson: string,
    ttlMs: number,
  ): Promise<number>;
  slackbotUpdateSettings(settingsKey: string, ...args: string[]): Promise<string[]>;
  slackbotAddUsage(numberOfKeys: number, ...keysAndArgs: string[]): Promise<number>;
  slackbotGetUsage(numberOfKeys: number, ...keys: string[]): Promise<string[][]>;
}

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

    this.client.defineCommand('slackbotAdmit', { numberOfKeys: 4, lua: admitLua });
    this.client.defineCommand('slackbotAcquireLockAndGet', { numberOfKeys: 3, lua: acquireLockAndGetLua });
    this.client.defineCommand('slackbotAddParticipant', { numberOfKeys: 1, lua: addParticipantLua });
    this.client.defineCommand('slackbotMembership', { numberOfKeys: 2, lua: membershipLua });
    this.client.defineCommand('slackbotTakePaused', { numberOfKeys: 1, lua: takePausedLua });
    this.client.defineCommand('slackbotExtendLock', { numberOfKeys: 1, lua: extendLockLua });
    this.client.defineCommand('slackbotReleaseLock', { numberOfKeys: 1, lua: releaseLockLua });
    this.client.defineCommand('slackbotCommitThread', { numberOfKeys: 3, lua: commitThreadLua });
    this.client.defineCommand('slackbotUpdateSettings', { numberOfKeys: 1, lua: updateSettingsLua });
    // The number of keys varies (one per scope): given with each call.
    this.client.defineCommand('slackbotAddUsage', { lua: addUsageLua });
    this.client.defineCommand('slackbotGetUsage', { lua: getUsageLua });
    this.scripts = this.client as unknown as StoreScripts;

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

/**
 * A Redis or Cluster client whose failures are bounded: commands fail fast while disconnected
 * (no offline queue), each command times out, and it reconnects on its own forever with capped backoff.
 */
export function createRedisClient(options: RedisClientOptions): Redis | Cluster {
  const target = parseRedisUrl(options.url);
  const retryStrategy = (attempt: number): number =>
    // Exponential up to a cap, with jitter so that replicas do not reconnect in lockstep.
    Math.min(50 * 2 ** Math.min(attempt, 10), maxReconnectDelayMs) + Math.floor(Math.random() * 100);
  const connectionOptions = {
    username: target.username,
    password: target.password,
    tls: target.tls ? {} : undefined,
    commandTimeout: options.commandTimeoutMs,
    connectTimeout: options.connectTimeoutMs,
    maxRetriesPerRequest: 1,
  };

  const client: Redis | Cluster = options.cluster
    ? new Cluster([{ host: target.host, port: target.port }], {
        enableOfflineQueue: false,
        // Commands issued in the same tick share one write (many answers at once, fewer syscalls).
        enableAutoPipelining: true,
        clusterRetryStrategy: retryStrategy,
        redisOptions: connectionOptions,
        // With TLS the certificate names the host, so it must not be replaced by its IP address.
        dnsLookup: target.tls ? keepHostname : undefined,
      })
    : new Redis({
        host: target.host,
        port: target.port,
        db: target.db,
        ...connectionOptions,
        enableOfflineQueue: false,
        enableAutoPipelining: true,
        retryStrategy,
      });

  // Without an 'error' listener a refused connection would be an unhandled 'error' event and crash.
  let outage = false;
  client.on('error', (error: Error) => {
    if (outage) return;
    outage = true;
    options.logger?.warn({ err: { name: error.name, message: error.message } }, 'Redis is unreachable');
  });
  client.on('ready', () => {
    if (!outage) return;
    outage = false;
    options.logger?.info({}, 'Redis connection restored');
  });
  return client;
}

const keepHostname: DNSLookupFunction = (hostname, callback) => callback(null, hostname);

interface RedisTarget {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number | undefined;
  tls: boolean;
}

/** Parses a redis:// or rediss:// URL. Errors never repeat the URL: it may hold a password. */
export function parseRedisUrl(url: string): RedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('REDIS_URL is not a valid URL (expected redis://host:port or rediss://host:port)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`REDIS_URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  if (parsed.hostname === '') throw new Error('REDIS_URL has no host');
  const dbText = parsed.pathname.replace(/^\//, '');
  const db = dbText === '' ? undefined : Number(dbText);
  if (db !== undefined && !Number.isInteger(db)) {
    throw new Error('REDIS_URL path must be a database number, e.g. redis://host:6379/0');
  }
  return {
    // URL keeps the brackets of an IPv6 host; the socket wants the bare address.
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    db,
    tls: parsed.protocol === 'rediss:',
  };
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
