/**
 * The stand-in's prompt cache, accounted the way Bedrock reports it in `usage`:
 *
 * - The request is read as one sequence of blocks: tools, then system blocks, then every message's
 *   content blocks. A `cachePoint` marks the end of a prefix to cache (for 5 minutes, or `ttl: 1h`).
 * - A checkpoint whose prefix is below the model's minimum tokens is ignored.
 * - Reading: the longest live cached prefix that ends at a block boundary within 20 blocks before a
 *   checkpoint (Bedrock looks back that far for an earlier checkpoint's entry); a hit refreshes it.
 * - Writing: from there to the last valid checkpoint; every valid checkpoint's prefix is stored.
 * - `inputTokens` is what is neither read nor written (Bedrock's `inputTokens` excludes both);
 *   `totalTokens` includes both.
 *
 * Tokens are the stand-in's usual estimate, four characters a token, counted per block.
 *
 * @example
 * const cache = new PromptCache();
 * cache.account('anthropic.claude-sonnet-4-5', body, { minTokens: 1024 }); // { readTokens, writeTokens, totalTokens, … }
 */
import { createHash } from 'node:crypto';
import { estimateTokens } from '../http2-json-server.ts';

/** How far back from a checkpoint Bedrock looks for an earlier cached prefix. */
const LOOKBACK_BLOCKS = 20;
const TTL_MS = { '5m': 5 * 60_000, '1h': 60 * 60_000 } as const;

export interface CacheAccounting {
  /** Whether the request had any `cachePoint` (then usage carries the cache fields). */
  cachePoints: number;
  readTokens: number;
  writeTokens: number;
  /** Every input token of the request: read + written + uncached. */
  totalTokens: number;
}

interface Block {
  tokens: number;
  json: string;
}

interface Checkpoint {
  /** Blocks before the checkpoint. */
  position: number;
  ttlMs: number;
}

export class PromptCache {
  readonly #entries = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Forgets every cached prefix. */
  clear(): void {
    this.#entries.clear();
  }

  /** Accounts one request and updates the cache; `limits` null: the model caches nothing. */
  account(
    modelId: string,
    body: Record<string, unknown>,
    limits: { minTokens: number } | null,
  ): CacheAccounting {
    const { blocks, checkpoints } = readBlocks(body);
    const prefixTokens = [0];
    const prefixKeys = [createHash('sha256').update(modelId).digest('hex')];
    for (const [index, block] of blocks.entries()) {
      prefixTokens.push((prefixTokens[index] ?? 0) + block.tokens);
      prefixKeys.push(createHash('sha256').update(`${prefixKeys[index]}\n${block.json}`).digest('hex'));
    }
    const totalTokens = prefixTokens.at(-1) ?? 0;
    const valid = limits
      ? checkpoints.filter((point) => (prefixTokens[point.position] ?? 0) >= limits.minTokens)
      : [];
    const nowMs = this.#now();
    const live = (position: number) => (this.#entries.get(prefixKeys[position] ?? '') ?? 0) > nowMs;

    let readAt = 0;
    for (const point of valid) {
      for (
        let position = point.position;
        position >= Math.max(1, point.position - LOOKBACK_BLOCKS);
        position -= 1
      ) {
        if (position > readAt && live(position)) {
          readAt = position;
          break;
        }
      }
    }
    const readTokens = prefixTokens[readAt] ?? 0;
    const last = valid.at(-1);
    const writeTokens = last ? Math.max(0, (prefixTokens[last.position] ?? 0) - readTokens) : 0;
    if (readAt > 0) {
      const ttlMs = valid.find((point) => point.position >= readAt)?.ttlMs ?? TTL_MS['5m'];
      this.#entries.set(prefixKeys[readAt] ?? '', nowMs + ttlMs);
    }
    for (const point of valid) this.#entries.set(prefixKeys[point.position] ?? '', nowMs + point.ttlMs);
    return { cachePoints: checkpoints.length, readTokens, writeTokens, totalTokens };
  }
}

/** The request's blocks in cache order (tools, system, messages) and where its checkpoints are. */
function readBlocks(body: Record<string, unknown>): { blocks: Block[]; checkpoints: Checkpoint[] } {
  const blocks: Block[] = [];
  const checkpoints: Checkpoint[] = [];
  const visit = (item: unknown, role: string) => {
    if (typeof item !== 'object' || item === null) return;
    const record = item as Record<string, unknown>;
    if ('cachePoint' in record) {
      const ttl = (record.cachePoint as { ttl?: string } | undefined)?.ttl;
      checkpoints.push({ position: blocks.length, ttlMs: ttl === '1h' ? TTL_MS['1h'] : TTL_MS['5m'] });
      return;
    }
    const text = typeof record.text === 'string' ? record.text : JSON.stringify(record);
    blocks.push({ tokens: estimateTokens(text), json: JSON.stringify({ role, block: record }) });
  };
  const toolConfig = body.toolConfig as { tools?: unknown[] } | undefined;
  for (const tool of toolConfig?.tools ?? []) visit(tool, 'tool');
  for (const block of (body.system as unknown[] | undefined) ?? []) visit(block, 'system');
  for (const message of (body.messages as Array<{ role?: string; content?: unknown[] }> | undefined) ?? [])
    for (const block of message.content ?? []) visit(block, message.role ?? 'user');
  return { blocks, checkpoints };
}
