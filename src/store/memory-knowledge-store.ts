/**
 * Channel knowledge's catalogue and vectors in this process (KnowledgeStore port): for one replica
 * without Redis, the tests and the benchmark. Forgets everything on restart, like MemoryStore.
 */
import type { KnowledgeStore, SourceRecord, StoredChunk } from '../conversation/knowledge-ports.ts';

interface Scope {
  version: number;
  learning: boolean;
  sources: Map<string, { record: SourceRecord; chunkIds: string[] }>;
  chunks: Map<string, StoredChunk>;
}

export class MemoryKnowledgeStore implements KnowledgeStore {
  readonly #scopes = new Map<string, Scope>();

  #scope(scope: string): Scope {
    let found = this.#scopes.get(scope);
    if (!found) {
      found = { version: 0, learning: false, sources: new Map(), chunks: new Map() };
      this.#scopes.set(scope, found);
    }
    return found;
  }

  async putSource(scope: string, source: SourceRecord, chunks: StoredChunk[]): Promise<string[]> {
    const s = this.#scope(scope);
    const keep = new Set(chunks.map((chunk) => chunk.id));
    const removed = (s.sources.get(source.id)?.chunkIds ?? []).filter((id) => !keep.has(id));
    for (const id of removed) s.chunks.delete(id);
    for (const chunk of chunks) s.chunks.set(chunk.id, chunk);
    s.sources.set(source.id, { record: { ...source }, chunkIds: [...keep] });
    s.version += 1;
    return removed;
  }

  async removeSource(scope: string, sourceId: string): Promise<string[]> {
    const s = this.#scopes.get(scope);
    const known = s?.sources.get(sourceId);
    if (!s || !known) return [];
    for (const id of known.chunkIds) s.chunks.delete(id);
    s.sources.delete(sourceId);
    s.version += 1;
    return known.chunkIds;
  }

  async removeScope(scope: string): Promise<string[]> {
    const s = this.#scopes.get(scope);
    if (!s) return [];
    const ids = [...s.chunks.keys()];
    s.chunks.clear();
    s.sources.clear();
    s.learning = false;
    s.version += 1;
    return ids;
  }

  async scopesOf(teamId: string): Promise<string[]> {
    return [...this.#scopes]
      .filter(([key, s]) => key.startsWith(`${teamId}:`) && (s.sources.size > 0 || s.learning))
      .map(([key]) => key);
  }

  async sources(scope: string): Promise<SourceRecord[]> {
    return [...(this.#scopes.get(scope)?.sources.values() ?? [])].map((entry) => ({ ...entry.record }));
  }

  async chunks(scope: string, ids: string[]): Promise<Array<StoredChunk | null>> {
    const s = this.#scopes.get(scope);
    return ids.map((id) => s?.chunks.get(id) ?? null);
  }

  async chunksOf(scope: string, sourceId: string): Promise<StoredChunk[]> {
    const s = this.#scopes.get(scope);
    const ids = s?.sources.get(sourceId)?.chunkIds ?? [];
    return ids.flatMap((id) => {
      const chunk = s?.chunks.get(id);
      return chunk ? [chunk] : [];
    });
  }

  async loadCodes(
    scope: string,
  ): Promise<{ version: number; chunks: Array<{ id: string; code: Uint8Array }> }> {
    const s = this.#scopes.get(scope);
    if (!s) return { version: 0, chunks: [] };
    const chunks = [...s.chunks.values()].flatMap((chunk) =>
      chunk.code ? [{ id: chunk.id, code: chunk.code }] : [],
    );
    return { version: s.version, chunks };
  }

  async version(scope: string): Promise<number> {
    return this.#scopes.get(scope)?.version ?? 0;
  }

  async chunkCount(teamId: string): Promise<number> {
    let count = 0;
    for (const [key, s] of this.#scopes) if (key.startsWith(`${teamId}:`)) count += s.chunks.size;
    return count;
  }

  async setLearning(scope: string, on: boolean): Promise<void> {
    this.#scope(scope).learning = on;
  }

  async learning(scope: string): Promise<boolean> {
    return this.#scopes.get(scope)?.learning ?? false;
  }
}
