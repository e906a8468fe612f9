import { describe, expect, it } from 'vitest';
import { StoreUnavailableError } from '../../src/conversation/ports.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { describeStoreContract } from './store-contract.ts';

function fakeClock(): { now: () => number; advanceMs: (ms: number) => void } {
  let nowMs = 1_700_000_000_000;
  return {
    now: () => nowMs,
    advanceMs: (ms) => {
      nowMs += ms;
    },
  };
}

describeStoreContract('MemoryStore', async () => {
  const clock = fakeClock();
  const store = new MemoryStore({ now: clock.now });
  return { store, advanceMs: clock.advanceMs, cleanup: () => store.close() };
});

describe('MemoryStore', () => {
  it('keeps an entry until the very millisecond it expires', async () => {
    const clock = fakeClock();
    const store = new MemoryStore({ now: clock.now });
    const delivery = { claimKey: 'msg:Ev1', claimTtlMs: 100 };
    await store.admit('T1:C1:1.2', delivery);

    clock.advanceMs(99);
    const beforeExpiry = await store.admit('T1:C1:1.2', delivery);
    clock.advanceMs(1);
    const atExpiry = await store.admit('T1:C1:1.2', delivery);

    expect(beforeExpiry).toBeNull();
    expect(atExpiry).toEqual({ held: null });
    await store.close();
  });

  it('sweeps expired entries periodically, without being asked', async () => {
    const clock = fakeClock();
    const store = new MemoryStore({ now: clock.now, sweepIntervalMs: 10 });
    const token = (await store.acquireLock('T1', 1_000)) as string;
    await store.commitThread('T1', { turns: [], kbSessionId: null, lastRequest: null }, 50, token);

    clock.advanceMs(60);
    await new Promise((resolve) => setTimeout(resolve, 40));

    // Reaching into the Map is the only way to observe that memory was reclaimed.
    const threads = (store as unknown as { threads: Map<string, unknown> }).threads;
    expect(threads.size).toBe(0);
    await store.close();
  });

  it('rejects every call with StoreUnavailableError once closed', async () => {
    const store = new MemoryStore();
    await store.close();

    await expect(store.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(store.getThread('T1')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
