/**
 * A stand-in for Amazon Bedrock Runtime (Converse, ConverseStream, CountTokens) on 127.0.0.1, spoken to
 * by the real `BedrockRuntimeClient` over cleartext HTTP/2 (HTTP/1.1 also works). Tests, the benchmark
 * and the playground all start this one.
 *
 * Usage:
 *   const fake = await FakeBedrockRuntime.start();
 *   const client = new BedrockRuntimeClient({
 *     region: 'us-east-1', endpoint: fake.url, maxAttempts: 1,
 *     credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
 *   }); // or set AWS_ENDPOINT_URL_BEDROCK_RUNTIME=fake.url
 *   fake.enqueue(
 *     { text: 'Refunds take five days.', firstTokenDelayMs: 200, tokensPerSecond: 50 },
 *     { error: 'ThrottlingException' },
 *     { text: ['Half an ', 'answer'], failAfterChunks: 1, streamError: 'modelStreamErrorException' },
 *   );
 *   fake.setHandler((req) => ({ text: `echo ${req.body.messages?.length}` })); // after the queue runs dry
 *   fake.requests[0]; // { operation, modelId, body, headers, atMs, firstTokenAtMs, lastTokenAtMs, outcome }
 *   await fake.stop();
 *
 * Like Bedrock, it refuses (400 ValidationException, before any reply is used) every request that
 * breaks the Bedrock Runtime service model (bedrock/request-validator.ts: members, types, enums,
 * lengths, patterns, ranges, unions, blob sizes) or a Converse rule the model cannot express
 * (bedrock/converse-rules.ts: roles that start with a user turn and alternate, blank text, tool
 * pairing, cache points, document names, file counts, sizes and image dimensions); `validation:
 * false` turns both off for a test that needs to send what Bedrock would refuse. And what a
 * model does not take, with Bedrock's wording (see bedrock/model-limits.ts): `system` for Titan Text,
 * Mistral 7B and Mixtral 8x7B, a `cachePoint` for models without prompt caching. Limits can be
 * changed per model for a test:
 *   fake.setModelLimits('acme.new-model-v1', { system: false });
 *
 * Prompt caching is simulated (see bedrock/prompt-cache.ts): a request with `cachePoint` blocks
 * gets `cacheReadInputTokens` / `cacheWriteInputTokens` in its usage, and `inputTokens` without
 * them, as Bedrock reports it. `request.cache` records the accounting.
 */
import type { InferenceConfiguration, Message, SystemContentBlock } from '@aws-sdk/client-bedrock-runtime';
import { converseRuleViolation } from './bedrock/converse-rules.ts';
import { baseModelId, limitsOf, type ModelLimits, REFUSALS } from './bedrock/model-limits.ts';
import { type CacheAccounting, PromptCache } from './bedrock/prompt-cache.ts';
import { serviceModel, validateHttpRequest, validationMessage } from './bedrock/request-validator.ts';
import { FakeTitanEmbeddings } from './bedrock/titan-embeddings.ts';
import {
  type EventStreamWriter,
  type Exchange,
  estimateTokens,
  nowMs,
  type RecordedExchange,
  type RunningHttp2JsonServer,
  startHttp2JsonServer,
  waitUnlessAborted,
  waitUntilUnlessAborted,
  wordTokens,
} from './http2-json-server.ts';

export { type ModelLimits, REFUSALS } from './bedrock/model-limits.ts';

/** Errors Bedrock Runtime answers before a stream starts (HTTP status from the SDK's error schemas). */
export const MODEL_ERROR_STATUS = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ModelErrorException: 424,
  ThrottlingException: 429,
  ModelNotReadyException: 429,
  InternalServerException: 500,
  ServiceUnavailableException: 503,
} as const;
export type ModelErrorName = keyof typeof MODEL_ERROR_STATUS;

/** Exception frames the SDK accepts inside a ConverseStream (members of its ConverseStreamOutput union). */
export type ModelStreamErrorName =
  | 'modelStreamErrorException'
  | 'throttlingException'
  | 'validationException'
  | 'internalServerException'
  | 'serviceUnavailableException';

export interface TextReply {
  /** The answer; a string is streamed as word-ish tokens, an array as exactly those chunks. */
  text: string | string[];
  /**
   * Tool calls after the text, streamed as Bedrock does (a block start with the id and name, the
   * input as partial JSON deltas, a block stop); the stop reason is then `tool_use`.
   */
  toolUses?: Array<{ name: string; input: unknown; id?: string }>;
  /** Before the first text delta (after `messageStart`, so the SDK call has already resolved). */
  firstTokenDelayMs?: number;
  /** Between text deltas. */
  chunkDelayMs?: number;
  /** Paces the chunks at this rate instead of `chunkDelayMs` (give one or the other). */
  tokensPerSecond?: number;
  /** `end_turn` unless given (`max_tokens`, `guardrail_intervened`, …). */
  stopReason?: string;
  /**
   * Reported usage; by default about four characters a token of the request (less what the prompt
   * cache read or wrote) and of the answer.
   */
  usage?: { inputTokens: number; outputTokens: number };
  /** Send this many chunks, then fail: an exception frame in a stream, an HTTP error for Converse. */
  failAfterChunks?: number;
  /** The exception frame for `failAfterChunks` (default `modelStreamErrorException`). */
  streamError?: ModelStreamErrorName;
  streamErrorMessage?: string;
}

export interface ErrorReply {
  error: ModelErrorName;
  message?: string;
  /** Wait this long before answering with the error (a slow failure, e.g. ModelTimeoutException). */
  delayMs?: number;
}

/** No answer: the connection the request came on is closed (every request sharing it fails too). */
export interface DroppedConnectionReply {
  dropConnection: true;
  /** Wait this long first. */
  delayMs?: number;
}

export type ModelReply = TextReply | ErrorReply | DroppedConnectionReply;

export type ModelOperation = 'Converse' | 'ConverseStream' | 'CountTokens';

/** The request body as Bedrock receives it (the SDK's input shape minus `modelId`, which is in the path). */
export interface ModelRequestBody {
  messages?: Message[];
  system?: SystemContentBlock[];
  inferenceConfig?: InferenceConfiguration;
  [field: string]: unknown;
}

export interface RecordedModelRequest extends RecordedExchange {
  operation: ModelOperation;
  /** Decoded from the path (ids, inference-profile ids and ARNs all arrive percent-encoded). */
  modelId: string;
  body: ModelRequestBody;
  /** How the prompt cache accounted the request (answered requests only). */
  cache?: CacheAccounting;
}

export type ModelHandler = (request: RecordedModelRequest) => ModelReply | Promise<ModelReply>;

export interface FakeBedrockRuntimeOptions {
  port?: number;
  /** False makes CountTokens answer ValidationException, as for models that do not support it. */
  countTokensSupported?: boolean;
  /** Refuse what breaks the service model and Converse's rules, as Bedrock does (default true). */
  validation?: boolean;
}

const MODEL_ERROR_MESSAGES: Record<ModelErrorName, string> = {
  ValidationException: 'Malformed input request, please reformat your input and try again.',
  ServiceQuotaExceededException: 'Your request exceeds the service quota for your account.',
  AccessDeniedException: "You don't have access to the model with the specified model ID.",
  ResourceNotFoundException: 'Could not resolve the foundation model from the provided model identifier.',
  ModelTimeoutException: 'Model has timed out in processing the request. Try your request again.',
  ModelErrorException: 'The model encountered an error while processing the request.',
  ThrottlingException: 'Too many requests, please wait before trying again.',
  ModelNotReadyException: 'The model is not ready to serve inference requests. Try again later.',
  InternalServerException:
    'The system encountered an unexpected error during processing. Try your request again.',
  ServiceUnavailableException: 'Bedrock is unable to process your request.',
};

/** What a mid-stream failure becomes when the same reply is used for a (non-streaming) Converse. */
const STREAM_ERROR_AS_HTTP_ERROR: Record<ModelStreamErrorName, ModelErrorName> = {
  modelStreamErrorException: 'ModelErrorException',
  throttlingException: 'ThrottlingException',
  validationException: 'ValidationException',
  internalServerException: 'InternalServerException',
  serviceUnavailableException: 'ServiceUnavailableException',
};

const ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream|count-tokens)$/;

const defaultHandler: ModelHandler = (request) => ({ text: `You said: ${lastUserText(request.body)}` });

export class FakeBedrockRuntime {
  readonly url: string;
  readonly port: number;
  /** Converse and ConverseStream requests, oldest first (refused ones too). */
  readonly requests: RecordedModelRequest[] = [];
  /** CountTokens requests, kept apart so `requests` holds only answers. */
  readonly countTokensRequests: RecordedModelRequest[] = [];
  countTokensSupported: boolean;
  /** Whether requests are checked against the service model and Converse's rules (see the header). */
  validation: boolean;
  /** Titan Text Embeddings v2 through InvokeModel (see bedrock/titan-embeddings.ts). */
  readonly embeddings = new FakeTitanEmbeddings();
  readonly #server: RunningHttp2JsonServer;
  readonly #queue: ModelReply[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #promptCache = new PromptCache();
  readonly #limitOverrides: Array<{ match: string | RegExp; limits: Partial<ModelLimits> }> = [];
  #handler: ModelHandler = defaultHandler;

  /** TCP connections the clients opened to this stand-in so far. */
  get connectionsAccepted(): number {
    return this.#server.connectionsAccepted;
  }

  private constructor(server: RunningHttp2JsonServer, options: FakeBedrockRuntimeOptions) {
    this.#server = server;
    this.url = server.url;
    this.port = server.port;
    this.countTokensSupported = options.countTokensSupported ?? true;
    this.validation = options.validation ?? true;
  }

  static async start(options: FakeBedrockRuntimeOptions = {}): Promise<FakeBedrockRuntime> {
    // Parsed now rather than on the first request, so that its cost never lands inside a timed answer.
    serviceModel('bedrock-runtime');
    let fake: FakeBedrockRuntime | undefined;
    const server = await startHttp2JsonServer({
      port: options.port ?? 0,
      errorNamespace: 'com.amazon.bedrock',
      onExchange: (exchange) => (fake ? fake.#onExchange(exchange) : undefined),
    });
    fake = new FakeBedrockRuntime(server, options);
    return fake;
  }

  /** Splits text into chunks of `size` characters (explicit chunks for `TextReply.text`). */
  static chunksOf(text: string, size: number): string[] {
    if (size <= 0) throw new RangeError('chunk size must be positive');
    const chunks: string[] = [];
    for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
    return chunks;
  }

  /** Replies used first, in order, before the handler. */
  enqueue(...replies: ModelReply[]): void {
    this.#queue.push(...replies);
  }

  get queuedReplies(): number {
    return this.#queue.length;
  }

  /** Answers every request once the queue is empty; the default echoes `You said: <last user text>`. */
  setHandler(handler: ModelHandler): void {
    this.#handler = handler;
  }

  /**
   * Changes what a model takes (`match`: a model id, compared without its ARN wrapping and
   * cross-region prefix, or a RegExp on that id); later calls win.
   */
  setModelLimits(match: string | RegExp, limits: Partial<ModelLimits>): void {
    this.#limitOverrides.push({ match: typeof match === 'string' ? baseModelId(match) : match, limits });
  }

  /** What Bedrock would refuse of `modelId` here (built-in limits plus `setModelLimits`). */
  limitsOf(modelId: string): ModelLimits {
    const id = baseModelId(modelId);
    let limits = limitsOf(id);
    for (const { match, limits: override } of this.#limitOverrides)
      if (typeof match === 'string' ? match === id : match.test(id)) limits = { ...limits, ...override };
    return limits;
  }

  /** Clears the queue, the recorded requests, the handler, model limits and the prompt cache. */
  reset(): void {
    this.#queue.length = 0;
    this.requests.length = 0;
    this.countTokensRequests.length = 0;
    this.#handler = defaultHandler;
    this.#limitOverrides.length = 0;
    this.#promptCache.clear();
  }

  /** Resolves once `requests` has at least `count` entries. */
  async waitForRequests(count: number, timeoutMs = 5_000): Promise<void> {
    if (this.requests.length >= count) return;
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (this.requests.length < count) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(`expected ${count} model requests within ${timeoutMs} ms, got ${this.requests.length}`),
        );
      }, timeoutMs);
      this.#waiters.add(check);
    });
  }

  /** Stops listening and drops open connections, ending any stream in flight. */
  async stop(): Promise<void> {
    await this.#server.stop();
  }

  async #onExchange(exchange: Exchange): Promise<void> {
    // Bedrock checks the request against its service model before routing it to a model.
    const checked = this.validation ? validateHttpRequest(serviceModel('bedrock-runtime'), exchange) : null;
    const modelErrors = checked && checked.errors.length > 0 ? validationMessage(checked.errors) : null;
    // Titan's InvokeModel, once its request has passed the same check.
    if (modelErrors === null && this.embeddings.handles(exchange)) return this.embeddings.answer(exchange);
    const match = exchange.method === 'POST' ? ROUTE.exec(exchange.path) : null;
    if (modelErrors !== null && !match) {
      exchange.sendAwsError(400, 'ValidationException', modelErrors);
      return;
    }
    if (!match?.[1] || !match[2]) {
      exchange.sendAwsError(
        404,
        'UnknownOperationException',
        `No Bedrock Runtime operation at ${exchange.path}`,
      );
      return;
    }
    const operation: ModelOperation =
      match[2] === 'converse'
        ? 'Converse'
        : match[2] === 'converse-stream'
          ? 'ConverseStream'
          : 'CountTokens';
    const request: RecordedModelRequest = {
      operation,
      modelId: decodeURIComponent(match[1]),
      body: isObject(exchange.body) ? (exchange.body as ModelRequestBody) : {},
      headers: exchange.headers,
      atMs: nowMs(),
    };
    if (operation === 'CountTokens') {
      this.countTokensRequests.push(request);
      if (modelErrors !== null) this.#sendError(exchange, request, 'ValidationException', modelErrors);
      else this.#countTokens(exchange, request);
      return;
    }
    this.requests.push(request);
    for (const waiter of [...this.#waiters]) waiter();

    if (modelErrors !== null) {
      this.#sendError(exchange, request, 'ValidationException', modelErrors);
      return;
    }
    // What the model does not take is refused before its files are looked at.
    const limits = this.limitsOf(request.modelId);
    const refusal = refusalOf(request.body, limits);
    if (refusal) {
      this.#sendError(exchange, request, refusal.error, refusal.message);
      return;
    }
    const invalid = this.validation ? await converseRuleViolation(request.body) : null;
    if (invalid !== null) {
      this.#sendError(exchange, request, 'ValidationException', invalid);
      return;
    }
    const reply = this.#queue.shift() ?? (await this.#handler(request));
    if ('text' in reply)
      request.cache = this.#promptCache.account(request.modelId, request.body, limits.promptCache);
    if ('dropConnection' in reply) {
      if (!(await waitUnlessAborted(reply.delayMs ?? 0, exchange.signal))) return this.#cancelled(request);
      exchange.dropConnection();
      request.error = 'connection dropped';
      this.#finish(request, 'failed');
    } else if ('error' in reply) {
      if (!(await waitUnlessAborted(reply.delayMs ?? 0, exchange.signal))) return this.#cancelled(request);
      this.#sendError(exchange, request, reply.error, reply.message);
    } else if (operation === 'Converse') {
      await this.#converse(exchange, request, reply);
    } else {
      await this.#converseStream(exchange, request, reply);
    }
  }

  async #converse(exchange: Exchange, request: RecordedModelRequest, reply: TextReply): Promise<void> {
    const plan = planText(reply);
    const chunksToSend = reply.failAfterChunks === undefined ? plan.chunks.length : reply.failAfterChunks;
    const generationMs = plan.firstTokenDelayMs + Math.max(0, chunksToSend - 1) * plan.chunkDelayMs;
    if (!(await waitUnlessAborted(generationMs, exchange.signal))) return this.#cancelled(request);
    if (reply.failAfterChunks !== undefined) {
      const streamError = reply.streamError ?? 'modelStreamErrorException';
      this.#sendError(exchange, request, STREAM_ERROR_AS_HTTP_ERROR[streamError], reply.streamErrorMessage);
      return;
    }
    const text = plan.chunks.join('');
    const usage = usageOf(reply, request, text);
    request.firstTokenAtMs = nowMs();
    request.lastTokenAtMs = request.firstTokenAtMs;
    exchange.sendJson(200, {
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason: reply.stopReason ?? 'end_turn',
      usage,
      metrics: { latencyMs: Math.round(nowMs() - request.atMs) },
    });
    this.#finish(request, exchange.cancelled ? 'cancelled' : 'completed');
  }

  async #converseStream(exchange: Exchange, request: RecordedModelRequest, reply: TextReply): Promise<void> {
    const plan = planText(reply);
    const stream = exchange.startEventStream();
    const firstTokenDueMs = nowMs() + plan.firstTokenDelayMs;
    if (!(await stream.event('messageStart', { role: 'assistant' }))) return this.#cancelled(request);
    if (!(await waitUntilUnlessAborted(firstTokenDueMs, exchange.signal))) return this.#cancelled(request);
    for (const [index, chunk] of plan.chunks.entries()) {
      if (index === reply.failAfterChunks) return this.#failStream(stream, request, reply);
      const dueMs = firstTokenDueMs + index * plan.chunkDelayMs;
      if (index > 0 && !(await waitUntilUnlessAborted(dueMs, exchange.signal)))
        return this.#cancelled(request);
      const written = await stream.event('contentBlockDelta', {
        contentBlockIndex: 0,
        delta: { text: chunk },
      });
      if (!written) return this.#cancelled(request);
      request.firstTokenAtMs ??= nowMs();
      request.lastTokenAtMs = nowMs();
    }
    if (reply.failAfterChunks !== undefined) return this.#failStream(stream, request, reply);
    const usage = usageOf(reply, request, plan.chunks.join(''));
    if (!(await stream.event('contentBlockStop', { contentBlockIndex: 0 }))) return this.#cancelled(request);
    for (const [offset, use] of (reply.toolUses ?? []).entries()) {
      const contentBlockIndex = offset + 1;
      const json = JSON.stringify(use.input ?? {});
      const half = Math.ceil(json.length / 2);
      const written =
        (await stream.event('contentBlockStart', {
          contentBlockIndex,
          start: {
            toolUse: {
              toolUseId: use.id ?? `tooluse_${contentBlockIndex}${request.atMs.toFixed(0)}`,
              name: use.name,
            },
          },
        })) &&
        (await stream.event('contentBlockDelta', {
          contentBlockIndex,
          delta: { toolUse: { input: json.slice(0, half) } },
        })) &&
        (await stream.event('contentBlockDelta', {
          contentBlockIndex,
          delta: { toolUse: { input: json.slice(half) } },
        })) &&
        (await stream.event('contentBlockStop', { contentBlockIndex }));
      if (!written) return this.#cancelled(request);
    }
    const stopReason = reply.stopReason ?? (reply.toolUses?.length ? 'tool_use' : 'end_turn');
    const sent =
      (await stream.event('messageStop', { stopReason })) &&
      (await stream.event('metadata', { usage, metrics: { latencyMs: Math.round(nowMs() - request.atMs) } }));
    stream.end();
    this.#finish(request, sent ? 'completed' : 'cancelled');
  }

  async #failStream(
    stream: EventStreamWriter,
    request: RecordedModelRequest,
    reply: TextReply,
  ): Promise<void> {
    const streamError = reply.streamError ?? 'modelStreamErrorException';
    request.error = streamError;
    const message = reply.streamErrorMessage ?? MODEL_ERROR_MESSAGES[STREAM_ERROR_AS_HTTP_ERROR[streamError]];
    const payload =
      streamError === 'modelStreamErrorException'
        ? { message, originalStatusCode: 500, originalMessage: message }
        : { message };
    const sent = await stream.exception(streamError, payload);
    stream.end();
    this.#finish(request, sent ? 'failed' : 'cancelled');
  }

  #countTokens(exchange: Exchange, request: RecordedModelRequest): void {
    if (!this.countTokensSupported) {
      this.#sendError(
        exchange,
        request,
        'ValidationException',
        "The provided model doesn't support counting tokens.",
      );
      return;
    }
    const input = request.body.input;
    const converse =
      isObject(input) && isObject(input.converse) ? (input.converse as ModelRequestBody) : undefined;
    const text = converse ? requestText(converse) : JSON.stringify(input ?? '');
    exchange.sendJson(200, { inputTokens: estimateTokens(text) });
    this.#finish(request, 'completed');
  }

  #sendError(
    exchange: Exchange,
    request: RecordedModelRequest,
    name: ModelErrorName,
    message?: string,
  ): void {
    request.error = name;
    exchange.sendAwsError(MODEL_ERROR_STATUS[name], name, message ?? MODEL_ERROR_MESSAGES[name]);
    this.#finish(request, exchange.cancelled ? 'cancelled' : 'failed');
  }

  #cancelled(request: RecordedModelRequest): void {
    this.#finish(request, 'cancelled');
  }

  #finish(request: RecordedModelRequest, outcome: NonNullable<RecordedModelRequest['outcome']>): void {
    request.outcome = outcome;
    request.endedAtMs = nowMs();
  }
}

function planText(reply: TextReply): { chunks: string[]; firstTokenDelayMs: number; chunkDelayMs: number } {
  if (reply.tokensPerSecond !== undefined && reply.chunkDelayMs !== undefined) {
    throw new Error('give a reply either tokensPerSecond or chunkDelayMs, not both');
  }
  if (reply.tokensPerSecond !== undefined && reply.tokensPerSecond <= 0) {
    throw new RangeError('tokensPerSecond must be positive');
  }
  const chunks = Array.isArray(reply.text) ? reply.text : wordTokens(reply.text);
  const chunkDelayMs =
    reply.tokensPerSecond === undefined ? (reply.chunkDelayMs ?? 0) : 1000 / reply.tokensPerSecond;
  return { chunks, firstTokenDelayMs: reply.firstTokenDelayMs ?? 0, chunkDelayMs };
}

function usageOf(
  reply: TextReply,
  request: RecordedModelRequest,
  answer: string,
): {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
} {
  // Without checkpoints the whole request is input, estimated as one text (as before caching existed).
  const cache = request.cache && request.cache.cachePoints > 0 ? request.cache : null;
  const cached = cache ? cache.readTokens + cache.writeTokens : 0;
  const inputTokens =
    reply.usage?.inputTokens ??
    (cache ? cache.totalTokens - cached : estimateTokens(requestText(request.body)));
  const outputTokens = reply.usage?.outputTokens ?? estimateTokens(answer);
  const cacheFields = cache
    ? { cacheReadInputTokens: cache.readTokens, cacheWriteInputTokens: cache.writeTokens }
    : {};
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens + cached, ...cacheFields };
}

/** What Bedrock refuses of this request for this model, or null. */
function refusalOf(body: ModelRequestBody, limits: ModelLimits) {
  if (!limits.system && Array.isArray(body.system) && body.system.length > 0) return REFUSALS.system;
  if (!limits.promptCache && hasCachePoint(body)) return REFUSALS.promptCache;
  if (!limits.serviceTier && body.serviceTier !== undefined) return REFUSALS.serviceTier;
  const blocks = (body.messages ?? []).flatMap((message) => message.content ?? []);
  if (!limits.images && blocks.some((block) => 'image' in block)) return REFUSALS.images;
  if (!limits.documents && blocks.some((block) => 'document' in block)) return REFUSALS.documents;
  return null;
}

function hasCachePoint(body: ModelRequestBody): boolean {
  const blocks = [
    ...((body.toolConfig as { tools?: unknown[] } | undefined)?.tools ?? []),
    ...(body.system ?? []),
    ...(body.messages ?? []).flatMap((message) => message.content ?? []),
  ];
  return blocks.some((block) => typeof block === 'object' && block !== null && 'cachePoint' in block);
}

/** All the text a request sends the model (system prompt and every turn). */
function requestText(body: ModelRequestBody): string {
  const system = (body.system ?? []).map((block) => ('text' in block ? (block.text ?? '') : ''));
  const turns = (body.messages ?? []).flatMap((message) =>
    (message.content ?? []).map((block) => block.text ?? ''),
  );
  return [...system, ...turns].join('\n');
}

function lastUserText(body: ModelRequestBody): string {
  const lastUser = (body.messages ?? []).filter((message) => message.role === 'user').at(-1);
  return (lastUser?.content ?? [])
    .map((block) => block.text ?? '')
    .filter(Boolean)
    .join(' ');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
