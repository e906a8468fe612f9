/**
 * Embeddings with Amazon Titan Text Embeddings v2 through `InvokeModel` (Titan is not served by
 * Converse): one text a call, `{inputText, dimensions, normalize: true, embeddingTypes: ["float"]}`,
 * answered with `{embedding, embeddingsByType, inputTextTokenCount}`. Calls run at most
 * `concurrency` at a time; throttling is retried with jittered backoff; errors become the answer
 * vocabulary (bedrock-errors.ts). Titan takes at most 8,192 tokens (50,000 characters): longer text is
 * cut, and a text Bedrock still finds too long is cut in half and tried again.
 */
import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { Embedder, Embedding, EmbeddingPurpose } from '../conversation/knowledge-ports.ts';
import { AnswerError } from '../errors.ts';
import { mapBedrockError } from './bedrock-errors.ts';

export const TITAN_EMBED_V2 = 'amazon.titan-embed-text-v2:0';
/** Titan v2's own limit on `inputText`, in characters (the token limit is 8,192). */
export const TITAN_MAX_CHARS = 50_000;
const DIMENSIONS = [256, 512, 1024];

export interface TitanEmbedderOptions {
  /** Sends one InvokeModel request; returns the response body's bytes. */
  invoke: (input: { modelId: string; body: string }, signal?: AbortSignal) => Promise<Uint8Array>;
  modelId?: string;
  dimensions: number;
  region: string;
  concurrency: number;
  /** Attempts for a throttled or failing call (1: no retry). */
  maxAttempts: number;
  /** Each call's input tokens, as Titan counted them (usage and price). */
  onTokens?: (tokens: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

export class TitanEmbedder implements Embedder {
  readonly modelId: string;
  readonly dimensions: number;
  readonly #options: TitanEmbedderOptions;
  readonly #sleep: (ms: number) => Promise<void>;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(options: TitanEmbedderOptions) {
    if (!DIMENSIONS.includes(options.dimensions))
      throw new Error(
        `Titan Text Embeddings v2 takes 256, 512 or 1024 dimensions, not ${options.dimensions}`,
      );
    this.#options = options;
    this.modelId = options.modelId ?? TITAN_EMBED_V2;
    this.dimensions = options.dimensions;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  // Titan embeds documents and queries alike: the purpose matters only to other models.
  embed(texts: string[], _purpose: EmbeddingPurpose, signal?: AbortSignal): Promise<Embedding[]> {
    return Promise.all(texts.map((text) => this.#bounded(() => this.#embedOne(text, signal))));
  }

  async #bounded<T>(work: () => Promise<T>): Promise<T> {
    while (this.#running >= this.#options.concurrency)
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running += 1;
    try {
      return await work();
    } finally {
      this.#running -= 1;
      this.#waiting.shift()?.();
    }
  }

  async #embedOne(text: string, signal?: AbortSignal): Promise<Embedding> {
    let input = text.slice(0, TITAN_MAX_CHARS);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.#call(input, signal);
      } catch (thrown) {
        const error = mapBedrockError(thrown, { modelId: this.modelId, region: this.#options.region });
        if (signal?.aborted || attempt >= this.#options.maxAttempts) throw error;
        if (error.code === 'input_too_long' && input.length > 1) {
          input = input.slice(0, Math.floor(input.length / 2));
          continue;
        }
        if (!error.retryable) throw error;
        await this.#sleep(200 * 2 ** (attempt - 1) * (1 + Math.random() / 2));
      }
    }
  }

  async #call(inputText: string, signal?: AbortSignal): Promise<Embedding> {
    const body = JSON.stringify({
      inputText,
      dimensions: this.dimensions,
      normalize: true,
      embeddingTypes: ['float'],
    });
    const bytes = await this.#options.invoke({ modelId: this.modelId, body }, signal);
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as {
      embedding?: number[];
      embeddingsByType?: { float?: number[] };
      inputTextTokenCount?: number;
    };
    const values = parsed.embeddingsByType?.float ?? parsed.embedding;
    if (!Array.isArray(values) || values.length !== this.dimensions)
      throw new AnswerError('unknown', 'The embedding model answered in a shape I do not know.');
    const tokens = parsed.inputTextTokenCount ?? 0;
    this.#options.onTokens?.(tokens);
    return { vector: normalized(Float32Array.from(values)), tokens };
  }
}

/** Unit length, whatever the model sent (cosine then is a dot product). */
export function normalized(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  if (norm === 0 || Math.abs(norm - 1) < 1e-6) return vector;
  for (let i = 0; i < vector.length; i += 1) vector[i] = (vector[i] ?? 0) / norm;
  return vector;
}

/** The embedder on the shared Bedrock Runtime client (built by bot.ts). */
export async function createTitanEmbedder(options: {
  client: BedrockRuntimeClient;
  region: string;
  modelId: string;
  dimensions: number;
  concurrency: number;
  onTokens?: (tokens: number) => void;
}): Promise<TitanEmbedder> {
  const { InvokeModelCommand } = await import('@aws-sdk/client-bedrock-runtime');
  return new TitanEmbedder({
    ...options,
    maxAttempts: 4,
    invoke: async ({ modelId, body }, signal) => {
      const response = await options.client.send(
        new InvokeModelCommand({
          modelId,
          body,
          contentType: 'application/json',
          accept: 'application/json',
        }),
        signal ? { abortSignal: signal } : {},
      );
      return response.body;
    },
  });
}
