/**
 * Deletes everything kept for a workspace when it uninstalls the app: every key under the
 * workspace's part of the prefix (`ws:<enterprise>:<team>:`), whatever feature wrote it, so later
 * features are purged too as long as their keys are built from the store's prefix.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ConversationStore } from '../conversation/ports.ts';
import { whenReady } from './installation-records.ts';
import { MemoryStore } from './memory-store.ts';

export interface WorkspacePurge {
  /** Deletes the keys matching each pattern after the configured prefix (`*` as in Redis SCAN); the count. */
  purge(patterns: string[]): Promise<number>;
}

const SCAN_BATCH = 500;

export class RedisWorkspacePurge implements WorkspacePurge {
  readonly #client: Redis | Cluster;
  readonly #prefix: string;

  constructor(options: { client: Redis | Cluster; keyPrefix: string }) {
    this.#client = options.client;
    this.#prefix = options.keyPrefix;
  }

  async purge(patterns: string[]): Promise<number> {
    await whenReady(this.#client);
    // A cluster's keys are spread over its masters: each is scanned on its own.
    const nodes: Redis[] =
      'nodes' in this.#client && typeof (this.#client as Cluster).nodes === 'function' && this.#isCluster()
        ? (this.#client as Cluster).nodes('master')
        : [this.#client as Redis];
    let deleted = 0;
    for (const node of nodes) {
      for (const pattern of patterns) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(
            cursor,
            'MATCH',
            `${escapeGlob(this.#prefix)}${pattern}`,
            'COUNT',
            SCAN_BATCH,
          );
          cursor = next;
          // One UNLINK per key: keys of several hash slots may not share a command in a cluster.
          for (const key of keys) deleted += await node.unlink(key);
        } while (cursor !== '0');
      }
    }
    return deleted;
  }

  #isCluster(): boolean {
    return (this.#client as { isCluster?: boolean }).isCluster === true;
  }
}

/** The configured prefix is literal text; SCAN patterns treat `*?[]\` specially. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

/**
 * The in-process store with one MemoryStore per workspace (looked up on each call by the
 * workspace's key part), so that purging a workspace drops its whole store. Every method of the
 * port is forwarded, including ones added later.
 */
export class PerWorkspaceMemoryStores implements WorkspacePurge {
  readonly #stores = new Map<string, MemoryStore>();
  readonly #workspaceKey: () => string;
  readonly store: ConversationStore;

  constructor(workspaceKey: () => string) {
    this.#workspaceKey = workspaceKey;
    const forward = (name: string) => {
      if (name === 'close')
        return async () => {
          await Promise.all([...this.#stores.values()].map((store) => store.close()));
        };
      return (...args: unknown[]) => {
        const store = this.#storeFor(this.#workspaceKey());
        return (store[name as keyof MemoryStore] as (...a: unknown[]) => unknown).apply(store, args);
      };
    };
    this.store = new Proxy({} as ConversationStore, {
      // Not a thenable, and no symbol-keyed members: only the port's methods are forwarded.
      get: (_target, name) => (typeof name === 'symbol' || name === 'then' ? undefined : forward(name)),
    });
  }

  async purge(patterns: string[]): Promise<number> {
    let dropped = 0;
    for (const [key, store] of this.#stores) {
      // Only the scoped patterns apply here (`ws:…*`); a restart forgets everything else anyway.
      if (
        key === '' ||
        !patterns.some((pattern) => pattern.endsWith('*') && key.startsWith(pattern.slice(0, -1)))
      )
        continue;
      this.#stores.delete(key);
      await store.close();
      dropped += 1;
    }
    return dropped;
  }

  #storeFor(key: string): MemoryStore {
    let store = this.#stores.get(key);
    if (!store) {
      store = new MemoryStore();
      this.#stores.set(key, store);
    }
    return store;
  }
}
