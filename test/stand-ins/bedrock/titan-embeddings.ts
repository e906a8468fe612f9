/**
 * Titan Text Embeddings v2 as the Bedrock Runtime stand-in answers it: `POST
 * /model/amazon.titan-embed-text-v2:0/invoke` (InvokeModel) with Titan's body and response shape
 * and its refusals (dimensions other than 256, 512 or 1024; more than 50,000 characters or 8,192
 * tokens). Vectors come from hashed word features, normalized: texts that share words are close,
 * so tests can assert what is retrieved. `FakeBedrockRuntime.embeddings` is one of these.
 *
 * @example
 * fake.embeddings.latencyMs = 50;                    // a realistic call
 * fake.embeddings.enqueue({ error: 'ThrottlingException' }); // the next call is throttled
 * fake.embeddings.requests[0].body.dimensions;       // 512
 * hashedWordVector('refunds take five days', 512);    // the same vector, without HTTP (bench)
 */
import type { Exchange } from '../http2-json-server.ts';

export const TITAN_EMBED_TEXT_V2 = 'amazon.titan-embed-text-v2:0';
const ROUTE = /^\/model\/([^/]+)\/invoke$/;
const MAX_CHARS = 50_000;
const MAX_TOKENS = 8_192;

const ERROR_STATUS = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ThrottlingException: 429,
  ServiceUnavailableException: 503,
} as const;
export type EmbeddingErrorName = keyof typeof ERROR_STATUS;

export interface EmbeddingRequest {
  modelId: string;
  body: {
    inputText?: unknown;
    dimensions?: unknown;
    normalize?: unknown;
    embeddingTypes?: unknown;
  };
  atMs: number;
  /** The error answered, if any. */
  error?: string;
}

/** Words that carry no topic: left out so that texts are close by what they are about. */
const STOP_WORDS = new Set(
  'a an and are as at be but by can do does for from has have how i in is it its me my of on or our so that the their them then there these they this to was we what when where which who why will with you your'.split(
    ' ',
  ),
);

/** Lower-case words of two or more letters or digits, stop words left out. */
export function contentWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]{2,}/gu) ?? []).filter((word) => !STOP_WORDS.has(word));
}

const wordVectors = new Map<string, Float32Array>();

/** A word's own dense pseudo-random vector, the same in every run (seeded by the word's FNV-1a hash). */
function wordVector(word: string, dimensions: number): Float32Array {
  const key = `${dimensions}:${word}`;
  const cached = wordVectors.get(key);
  if (cached) return cached;
  let seed = 0x811c9dc5;
  for (let i = 0; i < word.length; i += 1) seed = Math.imul(seed ^ word.charCodeAt(i), 0x01000193);
  const vector = new Float32Array(dimensions);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < dimensions; i += 1) {
    // xorshift32, centred: uniform in [-1, 1).
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    vector[i] = ((state >>> 0) / 0x80000000 - 1) as number;
  }
  if (wordVectors.size > 200_000) wordVectors.clear();
  wordVectors.set(key, vector);
  return vector;
}

/** The stand-in's embedding of `text`: the normalized sum of its words' vectors. */
export function hashedWordVector(text: string, dimensions: number): Float32Array {
  const sum = new Float32Array(dimensions);
  const words = contentWords(text);
  for (const word of words.length > 0 ? words : ['(empty)']) {
    const vector = wordVector(word, dimensions);
    for (let i = 0; i < dimensions; i += 1) sum[i] = (sum[i] ?? 0) + (vector[i] ?? 0);
  }
  let norm = 0;
  for (const value of sum) norm += value * value;
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dimensions; i += 1) sum[i] = (sum[i] ?? 0) / norm;
  return sum;
}

/** Titan's count, roughly: a token per word piece of about four characters. */
function tokenCount(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export class FakeTitanEmbeddings {
  readonly requests: EmbeddingRequest[] = [];
  /** Waits this long before every answer (the benchmark uses 50 ms, about Titan's). */
  latencyMs = 0;
  /** The most calls this stand-in was answering at one time. */
  maxInFlight = 0;
  #inFlight = 0;
  readonly #errors: Array<{ error: EmbeddingErrorName; message?: string }> = [];

  /** Errors answered to the next calls, in order, before any vector. */
  enqueue(...errors: Array<{ error: EmbeddingErrorName; message?: string }>): void {
    this.#errors.push(...errors);
  }

  /** Calls that were answered with a vector. */
  get embedded(): EmbeddingRequest[] {
    return this.requests.filter((request) => request.error === undefined);
  }

  /** Whether this exchange is an InvokeModel of Titan Text Embeddings v2. */
  handles(exchange: Exchange): boolean {
    const match = exchange.method === 'POST' ? ROUTE.exec(exchange.path) : null;
    return match?.[1] !== undefined && decodeURIComponent(match[1]) === TITAN_EMBED_TEXT_V2;
  }

  async answer(exchange: Exchange): Promise<void> {
    this.#inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.#inFlight);
    try {
      await this.#answer(exchange);
    } finally {
      this.#inFlight -= 1;
    }
  }

  async #answer(exchange: Exchange): Promise<void> {
    const body = (
      typeof exchange.body === 'object' && exchange.body !== null ? exchange.body : {}
    ) as EmbeddingRequest['body'];
    const request: EmbeddingRequest = { modelId: TITAN_EMBED_TEXT_V2, body, atMs: Date.now() };
    this.requests.push(request);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const fail = (name: EmbeddingErrorName, message: string) => {
      request.error = name;
      exchange.sendAwsError(ERROR_STATUS[name], name, message);
    };
    const queued = this.#errors.shift();
    if (queued) return fail(queued.error, queued.message ?? defaultMessage(queued.error));
    const { inputText } = body;
    const dimensions = body.dimensions ?? 1024;
    const types = body.embeddingTypes ?? ['float'];
    if (typeof inputText !== 'string' || inputText.length === 0)
      return fail(
        'ValidationException',
        'Malformed input request: #/inputText: expected minLength: 1, actual: 0, please reformat your input and try again.',
      );
    if (inputText.length > MAX_CHARS)
      return fail(
        'ValidationException',
        `Malformed input request: #/inputText: expected maxLength: ${MAX_CHARS}, actual: ${inputText.length}, please reformat your input and try again.`,
      );
    if (dimensions !== 256 && dimensions !== 512 && dimensions !== 1024)
      return fail(
        'ValidationException',
        `Malformed input request: #/dimensions: ${String(dimensions)} is not a valid enum value, please reformat your input and try again.`,
      );
    if (
      !Array.isArray(types) ||
      types.length === 0 ||
      types.some((type) => type !== 'float' && type !== 'binary')
    )
      return fail(
        'ValidationException',
        'Malformed input request: #/embeddingTypes: expected an array of float and/or binary, please reformat your input and try again.',
      );
    const tokens = tokenCount(inputText);
    if (tokens > MAX_TOKENS)
      return fail(
        'ValidationException',
        `400 Bad Request: Too many input tokens. Max input tokens: ${MAX_TOKENS}, request input token count: ${tokens}`,
      );
    const vector = hashedWordVector(inputText, dimensions);
    // Titan normalizes by default; `normalize: false` gives the raw (here: scaled) vector.
    const floats = Array.from(vector, (value) => (body.normalize === false ? value * 3 : value));
    const byType: Record<string, number[]> = {};
    if (types.includes('float')) byType.float = floats;
    if (types.includes('binary')) byType.binary = floats.map((value) => (value >= 0 ? 1 : 0));
    exchange.sendJson(200, {
      embedding: floats,
      embeddingsByType: byType,
      inputTextTokenCount: tokens,
    });
  }
}

function defaultMessage(name: EmbeddingErrorName): string {
  switch (name) {
    case 'ThrottlingException':
      return 'Too many requests, please wait before trying again.';
    case 'AccessDeniedException':
      return "You don't have access to the model with the specified model ID.";
    case 'ServiceUnavailableException':
      return 'Bedrock is unable to process your request.';
    default:
      return 'Malformed input request, please reformat your input and try again.';
  }
}
