/**
 * The behaviour every ConversationStore adapter must have, run against each of them.
 * Time: adapters with a fake clock pass `advanceMs`; the others are tested with short real TTLs.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Admission,
  type ConversationStore,
  emptyUsage,
  type ThreadState,
  type UsageScope,
} from '../../src/conversation/ports.ts';

export interface StoreUnderTest {
  store: ConversationStore;
  /** Moves the store's clock forward; absent when the store runs on real time. */
  advanceMs?: (ms: number) => void;
  cleanup: () => Promise<void>;
}

/**
 * A store on a shared server, connected before the test starts (so that cleanup can reach it);
 * cleanup deletes what the test wrote and closes the store.
 */
export async function connectedStoreUnderTest(
  store: ConversationStore,
  deleteWrittenKeys: () => Promise<void>,
): Promise<StoreUnderTest> {
  await store.ping();
  return {
    store,
    cleanup: async () => {
      // One contract test closes the store itself; it wrote no keys.
      if (store.connected()) await deleteWrittenKeys();
      await store.close();
    },
  };
}

/** Thread ids look like Slack's: workspace, channel and thread root ts. */
const thread = 'T0AAAA:C0BBBB:1700000000.000100';
const otherThread = 'T0AAAA:C0BBBB:1700000000.000200';
const concurrentCallers = 20;
const longTtlMs = 60_000;
const shortTtlMs = 50;
/** Longer than shortTtlMs with room for timer and server jitter. */
const pastShortTtlMs = 120;

export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`${name}: the ConversationStore contract`, () => {
    let subject: StoreUnderTest;
    let store: ConversationStore;

    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    const elapse = async (ms: number): Promise<void> => {
      if (subject.advanceMs) {
        subject.advanceMs(ms);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, ms));
    };

    const sampleState = (): ThreadState => ({
      turns: [
        { role: 'user', text: 'How do refunds work?' },
        { role: 'assistant', text: 'Refunds take *5 days*. 🚀 "quoted" \\ back\nslash' },
      ],
      kbSessionId: 'kb-session-1',
      lastRequest: { inputTokens: 321, estimatedTokens: 300 },
    });

    describe('admit', () => {
      const delivery = (claimKey: string, more: Partial<Admission> = {}): Admission => ({
        claimKey,
        claimTtlMs: longTtlMs,
        ...more,
      });

      it('admits the first delivery of a question and refuses the next as a duplicate', async () => {
        const first = await store.admit(thread, delivery('msg:Ev1'));
        const second = await store.admit(thread, delivery('msg:Ev1'));

        expect(first).toEqual({ held: null });
        expect(second).toBeNull();
      });

      it('keeps deliveries of different questions apart', async () => {
        await store.admit(thread, delivery('msg:Ev1'));

        expect(await store.admit(thread, delivery('msg:Ev2'))).toEqual({ held: null });
      });

      it('admits the question again once its claim has expired', async () => {
        await store.admit(thread, delivery('msg:Ev1', { claimTtlMs: shortTtlMs }));

        await elapse(pastShortTtlMs);

        expect(await store.admit(thread, delivery('msg:Ev1'))).toEqual({ held: null });
      });

      it(`admits exactly one of ${concurrentCallers} concurrent deliveries of one question`, async () => {
        const results = await Promise.all(
          Array.from({ length: concurrentCallers }, () =>
            store.admit(thread, delivery('msg:race', { lockTtlMs: longTtlMs })),
          ),
        );

        expect(results.filter((result) => result !== null)).toHaveLength(1);
      });

      it('takes a free lock, reads the state and records the asker in the same step', async () => {
        const first = await store.acquireLock(thread, longTtlMs);
        await store.commitThread(thread, sampleState(), longTtlMs, first ?? '');

        const admitted = await store.admit(
          thread,
          delivery('msg:Ev1', { lockTtlMs: longTtlMs, participant: { userId: 'U123', ttlMs: longTtlMs } }),
        );

        expect(admitted?.held).toEqual({ token: expect.any(String), state: sampleState() });
        expect(await store.acquireLock(thread, longTtlMs)).toBeNull();
        expect(await store.threadMembership(thread, 'U123')).toEqual({ active: true, participant: true });
        expect(await store.releaseLock(thread, admitted?.held?.token ?? '')).toBe(true);
      });

      it('records the asker but leaves the lock to its holder when someone else holds it', async () => {
        const holder = await store.acquireLock(thread, longTtlMs);

        const admitted = await store.admit(
          thread,
          delivery('msg:Ev1', { lockTtlMs: longTtlMs, participant: { userId: 'U123', ttlMs: longTtlMs } }),
        );

        expect(admitted).toEqual({ held: null });
        expect(await store.threadMembership(thread, 'U123')).toEqual({ active: true, participant: true });
        expect(await store.releaseLock(thread, holder ?? '')).toBe(true);
      });

      it('does not take the lock unless asked to', async () => {
        await store.admit(thread, delivery('msg:Ev1'));

        expect(await store.acquireLock(thread, longTtlMs)).toEqual(expect.any(String));
      });

      it('records nothing and takes no lock for a duplicate', async () => {
        await store.admit(thread, delivery('msg:Ev1'));

        const again = await store.admit(
          thread,
          delivery('msg:Ev1', { lockTtlMs: longTtlMs, participant: { userId: 'U123', ttlMs: longTtlMs } }),
        );

        expect(again).toBeNull();
        expect(await store.threadMembership(thread, 'U123')).toEqual({ active: false, participant: false });
        expect(await store.acquireLock(thread, longTtlMs)).toEqual(expect.any(String));
      });

      it('rejects a TTL that is not positive', async () => {
        await expect(store.admit(thread, delivery('msg:Ev1', { claimTtlMs: 0 }))).rejects.toThrow(RangeError);
        await expect(store.admit(thread, delivery('msg:Ev2', { lockTtlMs: 0 }))).rejects.toThrow(RangeError);
      });
    });

    describe('thread lock', () => {
      it('gives a token to the first taker and null to the next while it is held', async () => {
        const token = await store.acquireLock(thread, longTtlMs);
        const second = await store.acquireLock(thread, longTtlMs);

        expect(token).toEqual(expect.any(String));
        expect(token).not.toBe('');
        expect(second).toBeNull();
      });

      it('locks threads independently', async () => {
        await store.acquireLock(thread, longTtlMs);

        expect(await store.acquireLock(otherThread, longTtlMs)).toEqual(expect.any(String));
      });

      it(`gives exactly one of ${concurrentCallers} concurrent takers a token`, async () => {
        const tokens = await Promise.all(
          Array.from({ length: concurrentCallers }, () => store.acquireLock('T-race', longTtlMs)),
        );

        expect(tokens.filter((token) => token !== null)).toHaveLength(1);
      });

      it('hands out a different token each time the lock is taken', async () => {
        const first = await store.acquireLock(thread, longTtlMs);
        await store.releaseLock(thread, first as string);

        const second = await store.acquireLock(thread, longTtlMs);

        expect(second).not.toBeNull();
        expect(second).not.toBe(first);
      });

      it('ignores a release by someone who does not own the lock', async () => {
        await store.acquireLock(thread, longTtlMs);

        const released = await store.releaseLock(thread, 'not-the-owner');

        expect(released).toBe(false);
        expect(await store.acquireLock(thread, longTtlMs)).toBeNull();
      });

      it('frees the lock when its owner releases it', async () => {
        const token = (await store.acquireLock(thread, longTtlMs)) as string;

        const released = await store.releaseLock(thread, token);

        expect(released).toBe(true);
        expect(await store.acquireLock(thread, longTtlMs)).toEqual(expect.any(String));
      });

      it('reports a second release by the owner as not owned', async () => {
        const token = (await store.acquireLock(thread, longTtlMs)) as string;
        await store.releaseLock(thread, token);

        expect(await store.releaseLock(thread, token)).toBe(false);
      });

      it('frees the lock by itself when its TTL passes', async () => {
        await store.acquireLock(thread, shortTtlMs);

        await elapse(pastShortTtlMs);

        expect(await store.acquireLock(thread, longTtlMs)).toEqual(expect.any(String));
      });

      it('keeps the lock past its first TTL when the owner extends it', async () => {
        const token = (await store.acquireLock(thread, shortTtlMs)) as string;

        const extended = await store.extendLock(thread, token, longTtlMs);
        await elapse(pastShortTtlMs);

        expect(extended).toBe(true);
        expect(await store.acquireLock(thread, longTtlMs)).toBeNull();
        expect(await store.releaseLock(thread, token)).toBe(true);
      });

      it('refuses to extend for someone who does not own the lock, and leaves its expiry alone', async () => {
        await store.acquireLock(thread, shortTtlMs);

        const extended = await store.extendLock(thread, 'not-the-owner', longTtlMs);
        await elapse(pastShortTtlMs);

        expect(extended).toBe(false);
        expect(await store.acquireLock(thread, longTtlMs)).toEqual(expect.any(String));
      });

      it('refuses to extend a lock that has already expired', async () => {
        const token = (await store.acquireLock(thread, shortTtlMs)) as string;
        await elapse(pastShortTtlMs);

        expect(await store.extendLock(thread, token, longTtlMs)).toBe(false);
      });

      it('refuses a release after the lock expired and was taken by someone else', async () => {
        const stale = (await store.acquireLock(thread, shortTtlMs)) as string;
        await elapse(pastShortTtlMs);
        const current = (await store.acquireLock(thread, longTtlMs)) as string;

        expect(await store.releaseLock(thread, stale)).toBe(false);
        expect(await store.releaseLock(thread, current)).toBe(true);
      });
    });

    describe('thread state', () => {
      it('reads null for a thread it has never seen', async () => {
        expect(await store.getThread('never-seen')).toBeNull();
      });

      it('round-trips the state committed by the lock owner and releases the lock', async () => {
        const token = (await store.acquireLock(thread, longTtlMs)) as string;

        const committed = await store.commitThread(thread, sampleState(), longTtlMs, token);

        expect(committed).toBe(true);
        expect(await store.getThread(thread)).toEqual(sampleState());
        expect(await store.acquireLock(thread, longTtlMs)).toEqual(expect.any(String));
      });

      it('keeps state of different threads apart', async () => {
        const token = (await store.acquireLock(thread, longTtlMs)) as string;
        await store.commitThread(thread, sampleState(), longTtlMs, token);

        expect(await store.getThread(otherThread)).toBeNull();
      });

      it('stores a copy: changing the committed or the read object changes nothing stored', async () => {
        const token = (await store.acquireLock(thread, longTtlMs)) as string;
        const state = sampleState();
        await store.commitThread(thread, state, longTtlMs, token);

        state.turns.push({ role: 'user', text: 'mutated after commit' });
        state.kbSessionId = 'mutated after commit';
        const read = (await store.getThread(thread)) as ThreadState;
        read.turns.length = 0;
        read.kbSessionId = 'mutated after read';

        expect(await store.getThread(thread)).toEqual(sampleState());
      });

      it('writes nothing and answers false when the token no longer owns the lock', async () => {
        const stale = (await store.acquireLock(thread, shortTtlMs)) as string;
        await elapse(pastShortTtlMs);
        const current = (await store.acquireLock(thread, longTtlMs)) as string;

        const committed = await store.commitThread(thread, sampleState(), longTtlMs, stale);

        expect(committed).toBe(false);
        expect(await store.getThread(thread)).toBeNull();
        expect(await store.releaseLock(thread, current)).toBe(true);
      });

      it('writes nothing when nobody holds the lock', async () => {
        const committed = await store.commitThread(thread, sampleState(), longTtlMs, 'no-such-token');

        expect(committed).toBe(false);
        expect(await store.getThread(thread)).toBeNull();
      });

      it('replaces the earlier state on the next commit', async () => {
        const first = (await store.acquireLock(thread, longTtlMs)) as string;
        await store.commitThread(thread, sampleState(), longTtlMs, first);
        const next: ThreadState = { ...sampleState(), kbSessionId: null, lastRequest: null };
        const second = (await store.acquireLock(thread, longTtlMs)) as string;

        await store.commitThread(thread, next, longTtlMs, second);

        expect(await store.getThread(thread)).toEqual(next);
      });

      it('forgets the state once its TTL passes', async () => {
        const token = (await store.acquireLock(thread, longTtlMs)) as string;
        await store.commitThread(thread, sampleState(), shortTtlMs, token);

        await elapse(pastShortTtlMs);

        expect(await store.getThread(thread)).toBeNull();
      });
    });

    describe('acquireLockAndGetThread', () => {
      it('takes a free lock and reads the state in one step', async () => {
        const first = await store.acquireLock('T-both', longTtlMs);
        await store.commitThread('T-both', sampleState(), longTtlMs, first ?? '');

        const taken = await store.acquireLockAndGetThread('T-both', longTtlMs);

        expect(taken?.state).toEqual(sampleState());
        expect(await store.acquireLock('T-both', longTtlMs)).toBeNull();
        expect(await store.releaseLock('T-both', taken?.token ?? '')).toBe(true);
      });

      it('gives null state for a new thread, and null while another owner holds the lock', async () => {
        const taken = await store.acquireLockAndGetThread('T-new', longTtlMs);
        expect(taken).toEqual({ token: expect.any(String), state: null });
        expect(await store.acquireLockAndGetThread('T-new', longTtlMs)).toBeNull();
      });

      it('lets exactly one of many concurrent callers in', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.acquireLockAndGetThread('T-both-race', longTtlMs)),
        );
        expect(results.filter((r) => r !== null)).toHaveLength(1);
      });
    });

    describe('participants', () => {
      const asker = { userId: 'U123', ttlMs: longTtlMs };

      it('knows nobody in a thread where nobody addressed the bot', async () => {
        expect(await store.threadMembership(thread, 'U123')).toEqual({ active: false, participant: false });
      });

      it('records the asker when the lock is taken, before any state is committed', async () => {
        const taken = await store.acquireLockAndGetThread(thread, longTtlMs, asker);

        expect(taken?.state).toBeNull();
        expect(await store.threadMembership(thread, 'U123')).toEqual({ active: true, participant: true });
        expect(await store.threadMembership(thread, 'U456')).toEqual({ active: true, participant: false });
        expect(await store.threadMembership(otherThread, 'U123')).toEqual({
          active: false,
          participant: false,
        });
      });

      it('records nobody when the lock is held by someone else', async () => {
        await store.acquireLock(thread, longTtlMs);

        expect(await store.acquireLockAndGetThread(thread, longTtlMs, asker)).toBeNull();
        expect(await store.threadMembership(thread, 'U123')).toEqual({ active: false, participant: false });
      });

      it('adds participants one by one, and forgets them once their TTL passes', async () => {
        await store.addParticipant(thread, { userId: 'U1', ttlMs: shortTtlMs });
        await store.addParticipant(thread, { userId: 'U2', ttlMs: shortTtlMs });
        const both = [await store.threadMembership(thread, 'U1'), await store.threadMembership(thread, 'U2')];

        await elapse(pastShortTtlMs);

        expect(both.every((m) => m.participant)).toBe(true);
        expect(await store.threadMembership(thread, 'U1')).toEqual({ active: false, participant: false });
      });

      it("keeps the participants as long as the thread's state when a commit refreshes it", async () => {
        const token = (
          await store.acquireLockAndGetThread(thread, longTtlMs, { userId: 'U1', ttlMs: shortTtlMs })
        )?.token as string;
        await store.commitThread(thread, sampleState(), longTtlMs, token);

        await elapse(pastShortTtlMs);

        expect(await store.threadMembership(thread, 'U1')).toEqual({ active: true, participant: true });
      });
    });

    describe('channel settings', () => {
      const admin = { by: 'U0ADMIN', atMs: 1_700_000_000_000 };

      it('reads null for a channel nobody changed', async () => {
        expect(await store.getChannelSettings('T0AAAA', 'C0NEVER')).toBeNull();
      });

      it('applies a change, returns before and after, and records who and when', async () => {
        const first = await store.updateChannelSettings('T0AAAA', 'C0BBBB', { enabled: false }, admin);
        const second = await store.updateChannelSettings(
          'T0AAAA',
          'C0BBBB',
          { modelId: 'amazon.nova-pro-v1:0', tools: [] },
          { by: 'U0OTHER', atMs: admin.atMs + 1 },
        );

        expect(first).toEqual({
          before: null,
          after: { values: { enabled: false }, updatedBy: 'U0ADMIN', updatedAtMs: admin.atMs },
        });
        expect(second.before).toEqual(first.after);
        expect(second.after).toEqual({
          values: { enabled: false, modelId: 'amazon.nova-pro-v1:0', tools: [] },
          updatedBy: 'U0OTHER',
          updatedAtMs: admin.atMs + 1,
        });
        expect(await store.getChannelSettings('T0AAAA', 'C0BBBB')).toEqual(second.after);
      });

      it('clears a field set to null, back to the default, and keeps channels and workspaces apart', async () => {
        await store.updateChannelSettings(
          'T0AAAA',
          'C0BBBB',
          { enabled: false, systemPrompt: 'Be terse.' },
          admin,
        );

        const cleared = await store.updateChannelSettings('T0AAAA', 'C0BBBB', { systemPrompt: null }, admin);

        expect(cleared.after.values).toEqual({ enabled: false });
        expect(await store.getChannelSettings('T0AAAA', 'C0OTHER')).toBeNull();
        expect(await store.getChannelSettings('T0ZZZZ', 'C0BBBB')).toBeNull();
      });

      it(`loses none of ${concurrentCallers} concurrent changes to different fields`, async () => {
        await Promise.all(
          Array.from({ length: concurrentCallers }, (_, i) =>
            store.updateChannelSettings('T0AAAA', 'C0RACE', { [`field${i}`]: i }, admin),
          ),
        );

        const settings = await store.getChannelSettings('T0AAAA', 'C0RACE');
        expect(Object.keys(settings?.values ?? {})).toHaveLength(concurrentCallers);
      });
    });

    describe('usage', () => {
      const alice: UsageScope = { kind: 'user', teamId: 'T0AAAA', id: 'U0ALICE' };
      const bob: UsageScope = { kind: 'user', teamId: 'T0AAAA', id: 'U0BOB' };
      const general: UsageScope = { kind: 'channel', teamId: 'T0AAAA', id: 'C0BBBB' };
      const answer = {
        answers: 1,
        inputTokens: 120,
        outputTokens: 30,
        cacheReadTokens: 1_000,
        cacheWriteTokens: 40,
        costMicroUsd: 1_234,
      };
      const twice = {
        answers: 2,
        inputTokens: 240,
        outputTokens: 60,
        cacheReadTokens: 2_000,
        cacheWriteTokens: 80,
        costMicroUsd: 2_468,
      };

      it('reads zeros for a day without use', async () => {
        expect(await store.getUsage([alice, general], '2026-11-25')).toEqual([emptyUsage(), emptyUsage()]);
      });

      it('adds an answer to its asker and its channel in one step, per scope and day', async () => {
        await store.addUsage([alice, general], '2026-11-25', answer, longTtlMs);
        await store.addUsage([alice, general], '2026-11-25', answer, longTtlMs);
        await store.addUsage([bob, general], '2026-11-25', answer, longTtlMs);
        await store.addUsage([alice, general], '2026-11-26', answer, longTtlMs);

        expect(await store.getUsage([alice, bob, general], '2026-11-25')).toEqual([
          twice,
          answer,
          {
            ...twice,
            answers: 3,
            inputTokens: 360,
            outputTokens: 90,
            cacheReadTokens: 3_000,
            cacheWriteTokens: 120,
            costMicroUsd: 3_702,
          },
        ]);
        expect(await store.getUsage([alice], '2026-11-26')).toEqual([answer]);
        expect(await store.getUsage([alice], '2026-11-27')).toEqual([emptyUsage()]);
        expect(await store.getUsage([{ ...alice, kind: 'channel' }], '2026-11-25')).toEqual([emptyUsage()]);
        expect(await store.getUsage([{ ...alice, teamId: 'T0ZZZZ' }], '2026-11-25')).toEqual([emptyUsage()]);
      });

      it(`counts every one of ${concurrentCallers} concurrent additions`, async () => {
        await Promise.all(
          Array.from({ length: concurrentCallers }, () =>
            store.addUsage([alice, general], '2026-11-25', answer, longTtlMs),
          ),
        );

        const [mine, channel] = await store.getUsage([alice, general], '2026-11-25');
        expect(mine?.answers).toBe(concurrentCallers);
        expect(channel?.costMicroUsd).toBe(concurrentCallers * answer.costMicroUsd);
      });

      it('forgets a day once its TTL passes after the last addition', async () => {
        await store.addUsage([alice], '2026-11-25', answer, shortTtlMs);

        await elapse(pastShortTtlMs);

        expect(await store.getUsage([alice], '2026-11-25')).toEqual([emptyUsage()]);
      });
    });

    describe('turns paused for an approval', () => {
      const paused = (approvalId: string) => ({
        approvalId,
        expiresAtMs: 1_800_000_000_000,
        askerId: 'U1',
        question: { teamId: 'T1', channelId: 'C1', threadTs: '1.0', messageTs: '1.0', isDm: false },
        questionText: 'open a ticket',
        rounds: [
          {
            role: 'assistant' as const,
            text: '',
            toolUses: [{ id: 't1', name: 'shop__open_ticket', input: { a: 1 } }],
          },
        ],
        results: [],
        gated: [{ id: 't1', name: 'shop__open_ticket', input: { a: 1 } }],
        answerSoFar: 'Let me.',
        citations: [],
        model: null,
        inputHash: 'h1',
        tools: [],
        mode: 'asker' as const,
        quotedContext: false,
      });

      it('are kept per thread and approval, read back whole, and taken once by the approval they name', async () => {
        await store.pauseTurn(thread, paused('A1'), longTtlMs);

        expect(await store.pausedTurn(thread, 'A1')).toEqual(paused('A1'));
        expect(await store.pausedTurn(otherThread, 'A1')).toBeNull();
        expect(await store.takePausedTurn(thread, 'A-other')).toBeNull();
        const taken = await Promise.all([
          store.takePausedTurn(thread, 'A1'),
          store.takePausedTurn(thread, 'A1'),
        ]);
        expect(taken.filter((t) => t !== null)).toEqual([paused('A1')]);
        expect(await store.pausedTurn(thread, 'A1')).toBeNull();
      });

      it('are several in one thread: a new one never replaces another; each is forgotten after its TTL', async () => {
        await store.pauseTurn(thread, paused('A1'), longTtlMs);
        await store.pauseTurn(thread, paused('A2'), shortTtlMs);

        expect(await store.pausedTurn(thread, 'A1')).toEqual(paused('A1'));
        expect(await store.pausedTurn(thread, 'A2')).toEqual(paused('A2'));
        await elapse(pastShortTtlMs);

        expect(await store.pausedTurn(thread, 'A2')).toBeNull();
        expect(await store.takePausedTurn(thread, 'A1')).toEqual(paused('A1'));
      });
    });

    describe('what a person is looking at', () => {
      it('is remembered per person, replaced by the next, and forgotten when told or expired', async () => {
        expect(await store.getViewing('T1:U1')).toBeNull();
        await store.setViewing('T1:U1', { channelId: 'C1' }, longTtlMs);
        await store.setViewing('T1:U2', { channelId: 'C2', messageTs: '1.5' }, shortTtlMs);
        expect(await store.getViewing('T1:U1')).toEqual({ channelId: 'C1' });
        expect(await store.getViewing('T1:U2')).toEqual({ channelId: 'C2', messageTs: '1.5' });

        await store.setViewing('T1:U1', { channelId: 'C3', messageTs: '2.5' }, longTtlMs);
        expect(await store.getViewing('T1:U1')).toEqual({ channelId: 'C3', messageTs: '2.5' });
        await store.setViewing('T1:U1', null, longTtlMs);
        await elapse(pastShortTtlMs);

        expect(await store.getViewing('T1:U1')).toBeNull();
        expect(await store.getViewing('T1:U2')).toBeNull();
      });
    });

    it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('says it is connected once it has answered, and not after it was closed', async () => {
      await store.ping();
      const whileOpen = store.connected();
      await store.close();

      expect(whileOpen).toBe(true);
      expect(store.connected()).toBe(false);
    });
  });
}
