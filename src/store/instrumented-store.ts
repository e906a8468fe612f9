/** Times every store call into the `slackbot_store_operation_seconds` histogram. */
import type { Histogram } from 'prom-client';
import type {
  Admission,
  ChannelSettingsPatch,
  ConversationStore,
  Participant,
  PausedTurn,
  ThreadState,
  UsageScope,
  UsageTotals,
  Viewing,
} from '../conversation/ports.ts';

export class InstrumentedStore implements ConversationStore {
  readonly #inner: ConversationStore;
  readonly #latency: Histogram<'operation'>;

  constructor(inner: ConversationStore, latency: Histogram<'operation'>) {
    this.#inner = inner;
    this.#latency = latency;
  }

  async #timed<T>(operation: string, call: () => Promise<T>): Promise<T> {
    const end = this.#latency.startTimer({ operation });
    try {
      return await call();
    } finally {
      end();
    }
  }

  admit(threadId: string, admission: Admission) {
    return this.#timed('admit', () => this.#inner.admit(threadId, admission));
  }
  acquireLock(threadId: string, ttlMs: number) {
    return this.#timed('acquire_lock', () => this.#inner.acquireLock(threadId, ttlMs));
  }
  acquireLockAndGetThread(threadId: string, ttlMs: number, participant?: Participant) {
    return this.#timed('acquire_lock_and_get_thread', () =>
      this.#inner.acquireLockAndGetThread(threadId, ttlMs, participant),
    );
  }
  addParticipant(threadId: string, participant: Participant) {
    return this.#timed('add_participant', () => this.#inner.addParticipant(threadId, participant));
  }
  threadMembership(threadId: string, userId: string) {
    return this.#timed('thread_membership', () => this.#inner.threadMembership(threadId, userId));
  }
  extendLock(threadId: string, token: string, ttlMs: number) {
    return this.#timed('extend_lock', () => this.#inner.extendLock(threadId, token, ttlMs));
  }
  releaseLock(threadId: string, token: string) {
    return this.#timed('release_lock', () => this.#inner.releaseLock(threadId, token));
  }
  getThread(threadId: string) {
    return this.#timed('get_thread', () => this.#inner.getThread(threadId));
  }
  commitThread(threadId: string, state: ThreadState, ttlMs: number, token: string) {
    return this.#timed('commit_thread', () => this.#inner.commitThread(threadId, state, ttlMs, token));
  }
  getChannelSettings(teamId: string, channelId: string) {
    return this.#timed('get_channel_settings', () => this.#inner.getChannelSettings(teamId, channelId));
  }
  updateChannelSettings(
    teamId: string,
    channelId: string,
    patch: ChannelSettingsPatch,
    change: { by: string; atMs: number },
  ) {
    return this.#timed('update_channel_settings', () =>
      this.#inner.updateChannelSettings(teamId, channelId, patch, change),
    );
  }
  addUsage(scopes: UsageScope[], day: string, amounts: UsageTotals, ttlMs: number) {
    return this.#timed('add_usage', () => this.#inner.addUsage(scopes, day, amounts, ttlMs));
  }
  getUsage(scopes: UsageScope[], day: string) {
    return this.#timed('get_usage', () => this.#inner.getUsage(scopes, day));
  }
  setViewing(userKey: string, viewing: Viewing | null, ttlMs: number) {
    return this.#timed('set_viewing', () => this.#inner.setViewing(userKey, viewing, ttlMs));
  }
  getViewing(userKey: string) {
    return this.#timed('get_viewing', () => this.#inner.getViewing(userKey));
  }
  pauseTurn(threadId: string, paused: PausedTurn, ttlMs: number) {
    return this.#timed('pause_turn', () => this.#inner.pauseTurn(threadId, paused, ttlMs));
  }
  pausedTurn(threadId: string, approvalId: string) {
    return this.#timed('paused_turn', () => this.#inner.pausedTurn(threadId, approvalId));
  }
  takePausedTurn(threadId: string, approvalId: string) {
    return this.#timed('take_paused_turn', () => this.#inner.takePausedTurn(threadId, approvalId));
  }
  ping() {
    return this.#timed('ping', () => this.#inner.ping());
  }
  connected() {
    return this.#inner.connected();
  }
  close() {
    return this.#inner.close();
  }
}
