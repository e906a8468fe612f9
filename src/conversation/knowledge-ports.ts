/**
 * The ports of channel knowledge (what a channel learned from its files and the bot's answered
 * threads): embeddings, the vector index, and the store that keeps the catalogue of what was
 * learned. Adapters: bedrock/titan-embeddings.ts; knowledge/embedded-vector-index.ts and
 * knowledge/s3-vectors-index.ts; store/redis-knowledge-store.ts and store/memory-knowledge-store.ts.
 *
 * A scope is where knowledge may be used: a channel (`<team>:<channel>`), or a person's DM with the
 * bot (`<team>:<D…>`), whose knowledge answers only that person.
 */

// ---- Embeddings ----

/** What a text is embedded for: some models (Nova, Cohere) embed documents and queries differently. */
export type EmbeddingPurpose = 'document' | 'query';

export interface Embedding {
  /** Unit length (normalized). */
  vector: Float32Array;
  /** Input tokens the model counted. */
  tokens: number;
}

export interface Embedder {
  readonly modelId: string;
  readonly dimensions: number;
  /** Embeds each text (in order). Throws an AnswerError (see errors.ts) when the model fails. */
  embed(texts: string[], purpose: EmbeddingPurpose, signal?: AbortSignal): Promise<Embedding[]>;
}

// ---- Catalogue (what was learned, in the bot's store) ----

export type SourceKind = 'file' | 'thread';

/** One thing a scope learned from: a shared file, or an answered thread. */
export interface SourceRecord {
  /** `file:<F…>` or `thread:<ts>`. */
  id: string;
  kind: SourceKind;
  /** File name, or the thread's question (shortened). */
  title: string;
  /** The file's or the thread's permalink in Slack; null when unknown. */
  url: string | null;
  chunks: number;
  indexedAtMs: number;
}

/** A passage of a source, with its embedding. */
export interface StoredChunk {
  /** `<sourceId>#<n>`; an answered thread's question alone is `<sourceId>#q`. */
  id: string;
  sourceId: string;
  /** A passage, or (`role: question`) a question answered before. */
  role: 'passage' | 'question';
  text: string;
  /** sha256 of the text: an unchanged passage is not embedded again. */
  hash: string;
  /** Full vector: kept in the store by the embedded index, null where the index keeps it (S3 Vectors). */
  vector: Float32Array | null;
  /** The vector's compact code (sign bits, packed), which replicas search in memory; null with S3 Vectors. */
  code: Uint8Array | null;
}

export interface KnowledgeStore {
  /**
   * Replaces a source's chunks with `chunks` in one step and bumps the scope's version; returns the
   * ids of chunks that are gone (for an index that keeps vectors elsewhere).
   */
  putSource(scope: string, source: SourceRecord, chunks: StoredChunk[]): Promise<string[]>;
  /** Forgets a source; returns its chunk ids (empty when it was not known). */
  removeSource(scope: string, sourceId: string): Promise<string[]>;
  /** Forgets everything of a scope (and its learning switch); returns the chunk ids. */
  removeScope(scope: string): Promise<string[]>;
  /** The scopes of a workspace that hold anything. */
  scopesOf(teamId: string): Promise<string[]>;
  sources(scope: string): Promise<SourceRecord[]>;
  /** Chunks by id, in order; null for ids no longer known. */
  chunks(scope: string, ids: string[]): Promise<Array<StoredChunk | null>>;
  /** A source's chunks (to reuse embeddings of unchanged text). */
  chunksOf(scope: string, sourceId: string): Promise<StoredChunk[]>;
  /** Every chunk's compact code, and the version they are at (for a replica's in-memory copy). */
  loadCodes(scope: string): Promise<{ version: number; chunks: Array<{ id: string; code: Uint8Array }> }>;
  /** Bumped by every change of the scope: a replica whose copy is older reloads. */
  version(scope: string): Promise<number>;
  /** Chunks kept for a workspace in all its scopes. */
  chunkCount(teamId: string): Promise<number>;
  /** A DM's own learning switch (`/ask learn on`); channels use their settings. */
  setLearning(scope: string, on: boolean): Promise<void>;
  learning(scope: string): Promise<boolean>;
}

// ---- Vector index ----

export interface VectorHit {
  id: string;
  /** Cosine similarity, higher is closer. */
  score: number;
}

export interface VectorIndex {
  readonly name: 'embedded' | 's3vectors';
  /** True when the full vectors live in the KnowledgeStore's chunks (the embedded index). */
  readonly vectorsInStore: boolean;
  /**
   * Checks that `adding` more chunks fit; throws KnowledgeFullError naming the way out when not.
   * `stored` is how many the workspace holds now.
   */
  checkCapacity(teamId: string, stored: number, adding: number): void;
  /** Adds or replaces vectors (a no-op for the embedded index: the store has them). */
  upsert(scope: string, items: Array<{ id: string; sourceId: string; vector: Float32Array }>): Promise<void>;
  remove(scope: string, ids: string[]): Promise<void>;
  /** The `topK` closest chunks of `scope` to `vector`, closest first. */
  query(scope: string, vector: Float32Array, topK: number): Promise<VectorHit[]>;
}

/** Refused: the index holds as much as it may (a clear sentence for the person and the operator). */
export class KnowledgeFullError extends Error {
  override readonly name = 'KnowledgeFullError';
}

// ---- What the conversation service asks of channel knowledge ----

/** A question as knowledge sees it: where it was asked and by whom. */
export interface KnowledgeQuestion {
  teamId: string;
  channelId: string;
  threadTs: string;
  userId: string;
  text: string;
}

/** What knowledge adds to one answer. */
export interface Grounding {
  /** Offer the `search_channel_knowledge` tool (the model has tool use and the scope learns). */
  offerTool: boolean;
  /** Passages quoted as data into the question (models without tool use); empty when none. */
  context: string;
  /** Their documents, for the Sources list. */
  sources: Array<{ id: string; title: string; url: string | null }>;
  /** Lines under the answer ("Answered before: …"). */
  notes: string[];
}

export interface KnowledgeGrounding {
  /** What knowledge adds to an answer about `question` with `modelId`; never throws (nothing, on failure). */
  ground(question: KnowledgeQuestion, modelId: string): Promise<Grounding>;
  /** An answered question: learned in the background when its scope learns from answers. Never throws. */
  answered(question: KnowledgeQuestion, answer: string): void;
}

/** What Slack's listeners (file events, `/ask learn`, `/ask forget`, the Home tab) ask of channel knowledge. */
export interface KnowledgeControls {
  /** A file was shared in a channel or DM: learned in the background where that place learns. */
  fileShared(input: { teamId: string; channelId: string; userId: string; fileId: string }): void;
  /** A file was deleted (no channel: everywhere) or unshared from a channel. */
  forgetFile(teamId: string, fileId: string, channelId?: string): Promise<void>;
  /** A thread's answer was deleted, or an admin clicked "Forget" on a source. */
  forgetSource(teamId: string, channelId: string, sourceId: string): Promise<void>;
  /** Everything a channel or DM learned; returns how many passages went. */
  forgetScope(teamId: string, channelId: string): Promise<number>;
  /** Everything a workspace learned (the app was uninstalled). */
  forgetWorkspace(teamId: string): Promise<void>;
  /** A DM's own learning (`/ask learn on|off`; off forgets). */
  setDmLearning(teamId: string, channelId: string, on: boolean): Promise<void>;
  dmLearning(teamId: string, channelId: string): Promise<boolean>;
  /** What a channel or DM learned from, newest first. */
  sources(teamId: string, channelId: string): Promise<SourceRecord[]>;
}
