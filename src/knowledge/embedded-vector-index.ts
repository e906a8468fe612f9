/**
 * The embedded vector index (the default): the vectors live in the bot's store (KnowledgeStore:
 * Redis, or in-process), and each replica searches a compact copy of a scope's codes in memory
 * (compact-codes.ts: sign bits, searched exactly), then rescores the best candidates with their full
 * vectors read from the store. Every change bumps the scope's version in the store; a replica compares it with its
 * copy's on each search (one small read) and reloads when it differs, so a file learned through
 * one replica is found by every other. It serves a workspace of up to `maxChunks` chunks; beyond
 * that it refuses, naming S3 Vectors.
 */
import {
  KnowledgeFullError,
  type KnowledgeStore,
  type VectorHit,
  type VectorIndex,
} from '../conversation/knowledge-ports.ts';
import { CompactCodes, dot } from './compact-codes.ts';

export interface EmbeddedIndexOptions {
  store: KnowledgeStore;
  /** Chunks a workspace may hold in all (about 100,000 serve well). */
  maxChunks: number;
  /** Candidates rescored per result wanted (at least `minCandidates`). */
  candidatesPerResult?: number;
  minCandidates?: number;
}

export class EmbeddedVectorIndex implements VectorIndex {
  readonly name = 'embedded';
  readonly vectorsInStore = true;
  readonly #options: EmbeddedIndexOptions;
  /** This replica's copies, by scope, with the version they were loaded at. */
  readonly #copies = new Map<string, Promise<{ version: number; codes: CompactCodes }>>();

  constructor(options: EmbeddedIndexOptions) {
    this.#options = options;
  }

  checkCapacity(_teamId: string, stored: number, adding: number): void {
    const max = this.#options.maxChunks;
    if (stored + adding > max)
      throw new KnowledgeFullError(
        `This workspace's knowledge holds ${stored.toLocaleString('en-US')} passages; the embedded index serves at most ${max.toLocaleString('en-US')} (KNOWLEDGE_MAX_CHUNKS). To learn more, move to Amazon S3 Vectors (KNOWLEDGE_INDEX=s3vectors).`,
      );
  }

  // The store keeps the vectors and codes with the chunks: nothing else to write or delete.
  async upsert(): Promise<void> {}
  async remove(): Promise<void> {}

  async query(scope: string, vector: Float32Array, topK: number): Promise<VectorHit[]> {
    const { codes } = await this.#copy(scope);
    if (codes.size === 0) return [];
    const perResult = this.#options.candidatesPerResult ?? 30;
    const wanted = Math.max(this.#options.minCandidates ?? 300, topK * perResult);
    const candidates = codes.nearest(vector, wanted);
    const chunks = await this.#options.store.chunks(scope, candidates);
    const hits: VectorHit[] = [];
    for (const chunk of chunks)
      if (chunk?.vector) hits.push({ id: chunk.id, score: dot(vector, chunk.vector) });
    return hits.sort((a, b) => b.score - a.score).slice(0, topK);
  }

  /** The scope's copy, reloaded when the store's version moved on. */
  async #copy(scope: string): Promise<{ version: number; codes: CompactCodes }> {
    const cached = this.#copies.get(scope);
    if (cached) {
      const [copy, version] = await Promise.all([cached, this.#options.store.version(scope)]);
      if (copy.version === version) return copy;
      // Another search may have started the reload already.
      if (this.#copies.get(scope) !== cached) return this.#copy(scope);
    }
    const loading = this.#options.store.loadCodes(scope).then(({ version, chunks }) => ({
      version,
      codes: new CompactCodes(chunks),
    }));
    this.#copies.set(scope, loading);
    loading.catch(() => {
      if (this.#copies.get(scope) === loading) this.#copies.delete(scope);
    });
    return loading;
  }
}
