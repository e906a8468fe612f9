/**
 * In-process ConversationStore: Maps with expiry.
 *
 * ONE REPLICA ONLY, NOT FOR PRODUCTION. Nothing here is shared between processes, so de-duplication
 * and thread locks only hold inside this process, and everything is lost on restart. It exists for
 * local development without Redis and as the reference twin of the Redis adapter in the tests.
 */
import { randomUUID } from 'node:crypto';
import { LRUCache } from 'lru-cache';
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
  UsageScope,
  UsageTotals,
  Viewing,
} from '../conversation/ports.ts';
import { emptyUsage, StoreUnavailableError, USAGE_FIELDS } from '../conversation/ports.ts';

export interface MemoryStoreOptions {
  /** The clock, in epoch milliseconds; tests inject a fake one to step time. */
  now?: () => number;
  /** How often expired entries are swept out of memory (they read as absent before that anyway). */
  sweepIntervalMs?: number;
  /** Most threads remembered; the least recently used is forgotten first (memory stays bounded). */
  maxThreads?: number;
}

interface Expiring<T> {
  value: T;
  expiresAtMs: number;
}

const defaultSweepIntervalMs = 60_000;
const defaultMaxThreads = 10_000;

/** What `live` and the sweep need of a Map or an LRUCache. */
interface ExpiringEntries<T> {
  get(key: string): Expiring<T> | undefined;
  delete(key: string): unknown;
  entries(): Iterable<[string, Expiring<T>]>;
}

export class MemoryStore implements ConversationStore {
  private readonly now: () => number;
  private readonly claims = new Map<string, Expiring<true>>();
  private readonly locks = new Map<string, Expiring<string>>();
  private readonly threads: LRUCache<string, Expiring<ThreadState>>;
  private readonly participants: LRUCache<string, Expiring<Set<string>>>;
  private readonly channelSettings = new Map<string, StoredChannelSettings>();
  private readonly usage = new Map<string, Expiring<UsageTotals>>();
  private readonly viewings: LRUCache<string, Expiring<Viewing>>;
  private readonly paused: LRUCache<string, Expiring<PausedTurn>>;
  private sweepTimer: NodeJS.Timeout | null;
  private closed = false;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    const max = options.maxThreads ?? defaultMaxThreads;
    this.threads = new LRUCache({ max });
    this.participants = new LRUCache({ max });
    this.viewings = new LRUCache({ max });
    this.paused = new LRUCache({ max });
    this.sweepTimer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? defaultSweepIntervalMs);
    // The sweep is housekeeping only; it must never keep the process alive.
    this.sweepTimer.unref();
  }

  async admit(threadId: string, admission: Admission): Promise<{ held: HeldThread | null } | null> {
    this.assertOpen();
    assertTtl(admission.claimTtlMs);
    if (admission.participant) assertTtl(admission.participant.ttlMs);
    if (admission.lockTtlMs !== undefined) assertTtl(admission.lockTtlMs);
    const claim = `${threadId}\n${admission.claimKey}`;
    if (this.live(this.claims, claim) !== undefined) return null;
    this.claims.set(claim, { value: true, expiresAtMs: this.now() + admission.claimTtlMs });
    if (admission.participant) await this.addParticipant(threadId, admission.participant);
    if (admission.lockTtlMs === undefined) return { held: null };
    return { held: await this.acquireLockAndGetThread(threadId, admission.lockTtlMs) };
  }

  async acquireLock(threadId: string, ttlMs: number): Promise<string | null> {
    this.assertOpen();
    assertTtl(ttlMs);
    if (this.live(this.locks, threadId) !== undefined) return null;
    const token = randomUUID();
    this.locks.set(threadId, { value: token, expiresAtMs: this.now() + ttlMs });
    return token;
  }

  async acquireLockAndGetThread(
    threadId: string,
    ttlMs: number,
    participant?: Participant,
  ): Promise<HeldThread | null> {
    const token = await this.acquireLock(threadId, ttlMs);
    if (token === null) return null;
    if (participant) await this.addParticipant(threadId, participant);
    return { token, state: await this.getThread(threadId) };
  }

  async addParticipant(threadId: string, participant: Participant): Promise<void> {
    this.assertOpen();
    assertTtl(participant.ttlMs);
    const users = this.live(this.participants, threadId) ?? new Set<string>();
    users.add(participant.userId);
    this.participants.set(threadId, { value: users, expiresAtMs: this.now() + participant.ttlMs });
  }

  async threadMembership(threadId: string, userId: string): Promise<ThreadMembership> {
    this.assertOpen();
    const users = this.live(this.participants, threadId);
    return { active: users !== undefined, participant: users?.has(userId) ?? false };
  }

  async extendLock(threadId: string, token: string, ttlMs: number): Promise<boolean> {
    this.assertOpen();
    assertTtl(ttlMs);
    if (this.live(this.locks, threadId) !== token) return false;
    this.locks.set(threadId, { value: token, expiresAtMs: this.now() + ttlMs });
    return true;
  }

  async releaseLock(threadId: string, token: string): Promise<boolean> {
    this.assertOpen();
    if (this.live(this.locks, threadId) !== token) return false;
    this.locks.delete(threadId);
    return true;
  }

  async getThread(threadId: string): Promise<ThreadState | null> {
    this.assertOpen();
    const state = this.live(this.threads, threadId);
    // A copy, so that callers cannot change what is stored by mutating what they read.
    return state === undefined ? null : structuredClone(state);
  }

  async commitThread(threadId: string, state: ThreadState, ttlMs: number, token: string): Promise<boolean> {
    this.assertOpen();
    assertTtl(ttlMs);
    if (this.live(this.locks, threadId) !== token) return false;
    this.threads.set(threadId, { value: structuredClone(state), expiresAtMs: this.now() + ttlMs });
    const users = this.live(this.participants, threadId);
    if (users) this.participants.set(threadId, { value: users, expiresAtMs: this.now() + ttlMs });
    this.locks.delete(threadId);
    return true;
  }

  async getChannelSettings(teamId: string, channelId: string): Promise<StoredChannelSettings | null> {
    this.assertOpen();
    const stored = this.channelSettings.get(`${teamId}:${channelId}`);
    return stored === undefined ? null : structuredClone(stored);
  }

  async updateChannelSettings(
    teamId: string,
    channelId: string,
    patch: ChannelSettingsPatch,
    change: { by: string; atMs: number },
  ): Promise<{ before: StoredChannelSettings | null; after: StoredChannelSettings }> {
    this.assertOpen();
    const key = `${teamId}:${channelId}`;
    const before = this.channelSettings.get(key) ?? null;
    const values = structuredClone(before?.values ?? {});
    for (const [field, value] of Object.entries(patch)) {
      if (value === null) delete values[field];
      else values[field] = structuredClone(value);
    }
    const after: StoredChannelSettings = { values, updatedBy: change.by, updatedAtMs: change.atMs };
    this.channelSettings.set(key, after);
    return { before: before === null ? null : structuredClone(before), after: structuredClone(after) };
  }

  async addUsage(scopes: UsageScope[], day: string, amounts: UsageTotals, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertTtl(ttlMs);
    for (const scope of scopes) {
      const key = usageKey(scope, day);
      const totals = this.live(this.usage, key) ?? emptyUsage();
      for (const field of USAGE_FIELDS) totals[field] += Math.round(amounts[field]);
      this.usage.set(key, { value: totals, expiresAtMs: this.now() + ttlMs });
    }
  }

  async getUsage(scopes: UsageScope[], day: string): Promise<UsageTotals[]> {
    this.assertOpen();
    return scopes.map((scope) => ({ ...(this.live(this.usage, usageKey(scope, day)) ?? emptyUsage()) }));
  }

  async setViewing(userKey: string, viewing: Viewing | null, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertTtl(ttlMs);
    if (viewing === null) this.viewings.delete(userKey);
    else this.viewings.set(userKey, { value: { ...viewing }, expiresAtMs: this.now() + ttlMs });
  }

  async pauseTurn(threadId: string, paused: PausedTurn, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertTtl(ttlMs);
    this.paused.set(pausedKey(threadId, paused.approvalId), {
      value: structuredClone(paused),
      expiresAtMs: this.now() + ttlMs,
    });
  }

  async pausedTurn(threadId: string, approvalId: string): Promise<PausedTurn | null> {
    this.assertOpen();
    const paused = this.live(this.paused, pausedKey(threadId, approvalId));
    return paused === undefined ? null : structuredClone(paused);
  }

  async takePausedTurn(threadId: string, approvalId: string): Promise<PausedTurn | null> {
    this.assertOpen();
    const key = pausedKey(threadId, approvalId);
    const paused = this.live(this.paused, key);
    if (paused?.approvalId !== approvalId) return null;
    this.paused.delete(key);
    return paused;
  }

  async getViewing(userKey: string): Promise<Viewing | null> {
    this.assertOpen();
    const viewing = this.live(this.viewings, userKey);
    return viewing === undefined ? null : { ...viewing };
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  connected(): boolean {
    return !this.closed;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.claims.clear();
    this.locks.clear();
    this.threads.clear();
    this.participants.clear();
    this.channelSettings.clear();
    this.usage.clear();
    this.viewings.clear();
    this.paused.clear();
  }

  /** The entry's value if it has not expired; an expired entry is deleted on the way. */
  private live<T>(map: ExpiringEntries<T>, key: string): T | undefined {
    const entry = map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.now()) {
      map.delete(key);
      return undefined;
    }
    return entry.value;
  }

  private sweep(): void {
    const nowMs = this.now();
    const maps = [
      this.claims,
      this.locks,
      this.threads,
      this.participants,
      this.usage,
      this.viewings,
      this.paused,
    ] as ExpiringEntries<unknown>[];
    for (const map of maps) {
      for (const [key, entry] of [...map.entries()]) {
        if (entry.expiresAtMs <= nowMs) map.delete(key);
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('The in-memory store is closed');
  }
}

function usageKey(scope: UsageScope, day: string): string {
  return `${scope.kind}:${scope.teamId}:${scope.id}:${day}`;
}

function assertTtl(ttlMs: number): void {
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
  }
}

/** One entry per approval: a second pause in a thread never replaces the first. */
function pausedKey(threadId: string, approvalId: string): string {
  return `${threadId}\n${approvalId}`;
}
