/**
 * `npm run bench:knowledge`: channel knowledge's figures, in one run (targets as ratios, so they
 * hold on any machine):
 *   - indexing throughput: a document learned through ChannelKnowledge with Titan (the real SDK
 *     client) on the Bedrock stand-in answering each embedding in 50 ms, against the bound the
 *     embedding calls set (concurrency ÷ 50 ms): indexing must be bounded by them, not by the bot;
 *   - query latency p50/p99 at 10,000 and 100,000 chunks: the embedded index's compact search
 *     (sign bits in memory, exact Hamming, rescoring the best 300 with full vectors) against exact
 *     float search over the same vectors (target: p99 at most a tenth);
 *   - memory per replica: the compact copy against a float copy of the same vectors (target: at most
 *     an eighth), measured as heap growth (run with --expose-gc);
 *   - recall@10 of the compact search against exact float search (target: at least 0.95).
 *
 *   npm run bench:knowledge                 10,000 and 100,000 chunks
 *   npm run bench:knowledge -- --quick      2,000 and 10,000 chunks
 *   npm run bench:knowledge -- --out <dir>  results as JSON there (default bench/results)
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { createTitanEmbedder } from '../src/bedrock/titan-embeddings.ts';
import type { StoredChunk } from '../src/conversation/knowledge-ports.ts';
import { ChannelKnowledge } from '../src/knowledge/channel-knowledge.ts';
import { CompactCodes, signCode } from '../src/knowledge/compact-codes.ts';
import { EmbeddedVectorIndex } from '../src/knowledge/embedded-vector-index.ts';
import { createLogger } from '../src/logger.ts';
import { MemoryKnowledgeStore } from '../src/store/memory-knowledge-store.ts';
import { hashedWordVector } from '../test/stand-ins/bedrock/titan-embeddings.ts';
import { FakeBedrockRuntime } from '../test/stand-ins/fake-bedrock-runtime.ts';

const DIMENSIONS = 512;
const EMBED_LATENCY_MS = 50;
const CONCURRENCY = 8;
const QUERIES = 200;
const TOP_K = 10;

export interface KnowledgeBenchResult {
  indexing: {
    chunks: number;
    seconds: number;
    chunksPerSecond: number;
    boundPerSecond: number;
    ratio: number;
  };
  sizes: Array<{
    chunks: number;
    compact: { p50Ms: number; p99Ms: number; bytes: number };
    exact: { p50Ms: number; p99Ms: number; bytes: number };
    p99Ratio: number;
    memoryRatio: number;
    recallAt10: number;
  }>;
}

/** A seeded generator, so every run measures the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}

/**
 * Synthetic passages about topics, like a workspace's documents: each topic has its own words, and
 * every passage mixes a topic's words with common ones; a query is a few words of one topic.
 */
function corpus(chunks: number, seed: number) {
  const next = random(seed);
  const topics = Math.max(50, Math.floor(chunks / 20));
  const word = (prefix: string, n: number) => `${prefix}${n.toString(36)}`;
  const commonWord = () => word('c', Math.floor(next() * 2_000));
  const topicWord = (topic: number) => word(`t${topic.toString(36)}x`, Math.floor(next() * 25));
  const passage = (topic: number) => {
    const words: string[] = [];
    for (let i = 0; i < 40; i += 1) words.push(next() < 0.5 ? topicWord(topic) : commonWord());
    return words.join(' ');
  };
  const query = () => {
    const topic = Math.floor(next() * topics);
    return [topicWord(topic), topicWord(topic), topicWord(topic), commonWord()].join(' ');
  };
  return { passage: () => passage(Math.floor(next() * topics)), query };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Heap and array buffers in use after full collections (run with --expose-gc, or the figure is noise). */
async function heapUsed(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i += 1) {
    gc?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/** Indexing through ChannelKnowledge, Titan on the stand-in at 50 ms a call. */
async function indexing(chunks: number): Promise<KnowledgeBenchResult['indexing']> {
  const bedrock = await FakeBedrockRuntime.start();
  bedrock.embeddings.latencyMs = EMBED_LATENCY_MS;
  const client = new BedrockRuntimeClient({
    region: 'us-east-1',
    endpoint: bedrock.url,
    credentials: { accessKeyId: 'AKIDBENCH', secretAccessKey: 'bench' },
    maxAttempts: 1,
  });
  const store = new MemoryKnowledgeStore();
  const gen = corpus(chunks, 7);
  // One passage a paragraph, each about 500 tokens, so the chunker keeps them apart.
  const paragraphs = Array.from({ length: chunks }, () => `${gen.passage()} `.repeat(12).trim());
  const bytes = new TextEncoder().encode(paragraphs.join('\n\n'));
  await store.setLearning('TBENCH:D0BENCH', true);
  const knowledge = new ChannelKnowledge({
    store,
    index: new EmbeddedVectorIndex({ store, maxChunks: 1_000_000 }),
    embedder: await createTitanEmbedder({
      client,
      region: 'us-east-1',
      modelId: 'amazon.titan-embed-text-v2:0',
      dimensions: DIMENSIONS,
      concurrency: CONCURRENCY,
    }),
    files: { read: async () => bytes },
    fileInfo: async (id) => ({
      id,
      name: 'handbook.md',
      mimetype: 'text/markdown',
      size: bytes.length,
      url: null,
      permalink: null,
    }),
    learning: async () => ({ files: true, answers: false }),
    permalink: async () => null,
    takesTools: () => true,
    onTokens: () => undefined,
    tell: async () => undefined,
    logger: createLogger({ level: 'silent' }),
    maxFileBytes: 100 * 1024 * 1024,
    topK: 5,
    answeredBeforeScore: 0.9,
  });
  const startedAt = performance.now();
  await knowledge.learnFile({ teamId: 'TBENCH', channelId: 'D0BENCH', userId: 'U0BENCH', fileId: 'F0BENCH' });
  const seconds = (performance.now() - startedAt) / 1000;
  const learned = (await store.sources('TBENCH:D0BENCH'))[0]?.chunks ?? 0;
  client.destroy();
  await bedrock.stop();
  const boundPerSecond = CONCURRENCY / (EMBED_LATENCY_MS / 1000);
  const chunksPerSecond = learned / seconds;
  return {
    chunks: learned,
    seconds,
    chunksPerSecond,
    boundPerSecond,
    ratio: chunksPerSecond / boundPerSecond,
  };
}

/** Exact float search: every vector's dot product, the ten best. */
function exactTop(matrix: Float32Array, ids: string[], query: Float32Array, k: number): string[] {
  const n = ids.length;
  const scores = new Float32Array(n);
  for (let i = 0, offset = 0; i < n; i += 1, offset += DIMENSIONS) {
    let sum = 0;
    for (let j = 0; j < DIMENSIONS; j += 1) sum += (matrix[offset + j] as number) * (query[j] as number);
    scores[i] = sum;
  }
  const best: number[] = [];
  for (let i = 0; i < n; i += 1) {
    if (best.length < k) {
      best.push(i);
      best.sort((a, b) => (scores[b] as number) - (scores[a] as number));
    } else if ((scores[i] as number) > (scores[best[k - 1] as number] as number)) {
      best[k - 1] = i;
      best.sort((a, b) => (scores[b] as number) - (scores[a] as number));
    }
  }
  return best.map((i) => ids[i] as string);
}

async function searchAt(chunks: number): Promise<KnowledgeBenchResult['sizes'][number]> {
  const gen = corpus(chunks, 11);
  const store = new MemoryKnowledgeStore();
  const scope = 'TBENCH:C0BENCH';
  const vectors: Float32Array[] = [];
  const ids: string[] = [];
  for (let start = 0; start < chunks; start += 1_000) {
    const sourceId = `file:F${start}`;
    const batch: StoredChunk[] = [];
    for (let n = 0; n < Math.min(1_000, chunks - start); n += 1) {
      const text = gen.passage();
      const vector = hashedWordVector(text, DIMENSIONS);
      const id = `${sourceId}#${n}`;
      vectors.push(vector);
      ids.push(id);
      batch.push({ id, sourceId, role: 'passage', text, hash: id, vector, code: signCode(vector) });
    }
    await store.putSource(
      scope,
      { id: sourceId, kind: 'file', title: sourceId, url: null, chunks: batch.length, indexedAtMs: 0 },
      batch,
    );
  }
  const index = new EmbeddedVectorIndex({ store, maxChunks: 1_000_000 });
  const queries = Array.from({ length: QUERIES }, () => hashedWordVector(gen.query(), DIMENSIONS));
  await index.query(scope, queries[0] as Float32Array, TOP_K); // loads the replica's copy

  // Memory: the compact copy as a replica holds it, and a float copy of the same vectors.
  // Ids are copied (sliced) so that neither copy shares the store's strings.
  const codes = (await store.loadCodes(scope)).chunks;
  const beforeCompact = await heapUsed();
  const compactCopy = new CompactCodes(codes.map((c) => ({ id: ` ${c.id}`.slice(1), code: c.code })));
  const compactBytes = (await heapUsed()) - beforeCompact;
  const beforeFloat = await heapUsed();
  const matrix = new Float32Array(chunks * DIMENSIONS);
  for (const [i, vector] of vectors.entries()) matrix.set(vector, i * DIMENSIONS);
  const floatIds = ids.map((id) => ` ${id}`.slice(1));
  const floatBytes = (await heapUsed()) - beforeFloat;
  // Warm-up: the first searches compile the loops.
  for (const query of queries.slice(0, 20)) {
    await index.query(scope, query, TOP_K);
    exactTop(matrix, floatIds, query, TOP_K);
  }

  const compactMs: number[] = [];
  const exactMs: number[] = [];
  let overlap = 0;
  for (const query of queries) {
    let at = performance.now();
    const found = await index.query(scope, query, TOP_K);
    compactMs.push(performance.now() - at);
    at = performance.now();
    const exact = exactTop(matrix, floatIds, query, TOP_K);
    exactMs.push(performance.now() - at);
    const exactSet = new Set(exact);
    overlap += found.filter((hit) => exactSet.has(hit.id)).length / TOP_K;
  }
  // Both copies stay reachable until here, so neither was collected while measured.
  void compactCopy;
  const compact = { p50Ms: percentile(compactMs, 50), p99Ms: percentile(compactMs, 99), bytes: compactBytes };
  const exact = { p50Ms: percentile(exactMs, 50), p99Ms: percentile(exactMs, 99), bytes: floatBytes };
  return {
    chunks,
    compact,
    exact,
    p99Ratio: compact.p99Ms / exact.p99Ms,
    memoryRatio: compact.bytes / exact.bytes,
    recallAt10: overlap / queries.length,
  };
}

export async function runKnowledgeBench(options: {
  sizes: number[];
  indexChunks: number;
}): Promise<KnowledgeBenchResult> {
  const indexed = await indexing(options.indexChunks);
  const sizes = [];
  for (const chunks of options.sizes) sizes.push(await searchAt(chunks));
  return { indexing: indexed, sizes };
}

export function knowledgeReport(result: KnowledgeBenchResult): string {
  const f = (n: number, d = 1) =>
    n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const mb = (bytes: number) => `${f(bytes / 1024 / 1024)} MB`;
  const { indexing: ix } = result;
  const lines = [
    `Indexing: ${ix.chunks} chunks in ${f(ix.seconds, 2)} s = ${f(ix.chunksPerSecond)} chunks/s; the embedding calls allow ${f(ix.boundPerSecond)} (${CONCURRENCY} in flight × 50 ms): ${f(ix.ratio * 100)}% of the bound (target: ≥ 90%)`,
    '',
    '| chunks | compact p50 | compact p99 | exact float p50 | exact float p99 | p99 ratio (≤ 0.10) | memory compact | memory float | memory ratio (≤ 0.125) | recall@10 (≥ 0.95) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...result.sizes.map(
      (s) =>
        `| ${s.chunks.toLocaleString('en-US')} | ${f(s.compact.p50Ms, 2)} ms | ${f(s.compact.p99Ms, 2)} ms | ${f(s.exact.p50Ms, 2)} ms | ${f(s.exact.p99Ms, 2)} ms | ${f(s.p99Ratio, 3)} | ${mb(s.compact.bytes)} | ${mb(s.exact.bytes)} | ${f(s.memoryRatio, 3)} | ${f(s.recallAt10, 3)} |`,
    ),
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, out: { type: 'string' } } });
  const sizes = values.quick ? [2_000, 10_000] : [10_000, 100_000];
  const result = await runKnowledgeBench({ sizes, indexChunks: values.quick ? 200 : 800 });
  const report = knowledgeReport(result);
  console.log(
    `Channel knowledge on ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'})\n\n${report}`,
  );
  const out = values.out ?? join(fileURLToPath(new URL('.', import.meta.url)), 'results');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'knowledge.json'), `${JSON.stringify(result, null, 2)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
