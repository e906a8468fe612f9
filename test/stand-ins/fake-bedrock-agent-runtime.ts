/**
 * A stand-in for Amazon Bedrock Agent Runtime's Knowledge Base operations (Retrieve,
 * RetrieveAndGenerate, RetrieveAndGenerateStream) on 127.0.0.1, spoken to by the real
 * `BedrockAgentRuntimeClient` over cleartext HTTP/2 (HTTP/1.1 also works). Tests, the benchmark and
 * the playground all start this one.
 *
 * Usage:
 *   const fake = await FakeBedrockAgentRuntime.start({ knowledgeBaseIds: ['KB12345678'] });
 *   const client = new BedrockAgentRuntimeClient({
 *     region: 'us-east-1', endpoint: fake.url, maxAttempts: 1,
 *     credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
 *   }); // or set AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME=fake.url
 *   const refunds = { text: 'Refund policy…', location: { type: 'S3', s3Location: { uri: 's3://docs/refunds.pdf' } } } as const;
 *   fake.enqueue(
 *     FakeBedrockAgentRuntime.groundedReply([
 *       { text: 'Refunds take five days.', references: [refunds] },
 *       { text: ' Ask finance for more.' },
 *     ]),
 *     { error: 'ThrottlingException' },
 *   );
 *   fake.setHandler((req) => req.operation === 'Retrieve' ? { retrievalResults: [] } : { outputs: ['…'] });
 *   fake.expireSession(sessionId); // the next request with it gets 400 ValidationException
 *   fake.requests[0]; // { operation, knowledgeBaseId, sessionId, responseSessionId, body, headers, atMs, … }
 *   await fake.stop();
 *
 * Like Bedrock it refuses, before any reply is used: a request that breaks the Agent Runtime
 * service model (bedrock/request-validator.ts; `validation: false` turns it off), `input.text` over 1,000 characters and a
 * `sessionId` it never issued or has expired (400 ValidationException), and, when `knowledgeBaseIds`
 * is given, any other Knowledge Base (404 ResourceNotFoundException). Sessions are issued on the
 * first RetrieveAndGenerate(Stream) without a `sessionId` and returned in the body (non-streaming)
 * and in the `x-amzn-bedrock-knowledge-base-session-id` header (both operations).
 *
 * Citation events carry `generatedResponsePart` and `retrievedReferences` directly (the current API);
 * `citationEventStyle: 'wrapped' | 'both'` adds the deprecated `citation` wrapper the SDK also reads.
 * Span `end` is the index of the cited text's last character in `groundedReply` (inclusive; not
 * verified against the live service).
 */
import { randomUUID } from 'node:crypto';
import { serviceModel, validateHttpRequest, validationMessage } from './bedrock/request-validator.ts';
import {
  type EventStreamWriter,
  type Exchange,
  nowMs,
  type RecordedExchange,
  type RunningHttp2JsonServer,
  startHttp2JsonServer,
  waitUnlessAborted,
  waitUntilUnlessAborted,
} from './http2-json-server.ts';

/** Errors the Agent Runtime answers before a stream starts (HTTP status from the SDK's error schemas). */
export const AGENT_ERROR_STATUS = {
  ValidationException: 400,
  ServiceQuotaExceededException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ConflictException: 409,
  DependencyFailedException: 424,
  ModelNotReadyException: 424,
  ThrottlingException: 429,
  InternalServerException: 500,
  BadGatewayException: 502,
} as const;
export type AgentErrorName = keyof typeof AGENT_ERROR_STATUS;

/** Exception frames the SDK accepts inside a RetrieveAndGenerateStream. */
export type AgentStreamErrorName =
  | 'internalServerException'
  | 'validationException'
  | 'resourceNotFoundException'
  | 'serviceQuotaExceededException'
  | 'throttlingException'
  | 'accessDeniedException'
  | 'conflictException'
  | 'dependencyFailedException'
  | 'badGatewayException';

export type AgentOperation = 'Retrieve' | 'RetrieveAndGenerate' | 'RetrieveAndGenerateStream';

/** Where a retrieved passage came from, as Bedrock reports it. */
export type RetrievalLocation =
  | { type: 'S3'; s3Location: { uri: string } }
  | { type: 'WEB'; webLocation: { url: string } }
  | { type: 'CONFLUENCE'; confluenceLocation: { url: string } }
  | { type: 'SHAREPOINT'; sharePointLocation: { url: string } }
  | { type: 'SALESFORCE'; salesforceLocation: { url: string } }
  | { type: 'KENDRA'; kendraDocumentLocation: { uri: string } }
  | { type: 'CUSTOM'; customDocumentLocation: { id: string } };

export interface RetrievedPassage {
  text: string;
  location: RetrievalLocation;
  metadata?: Record<string, unknown>;
}

export interface RetrievalResult extends RetrievedPassage {
  /** Relevance, 0..1 (default 0.5). */
  score?: number;
}

export interface CitationSpec {
  /** Stream: the citation event follows the output chunk with this index (past the end: after the last). */
  afterOutputIndex: number;
  /** The cited part of the generated text. */
  text: string;
  span: { start: number; end: number };
  references: RetrievedPassage[];
}

export interface GenerateReply {
  /** Text chunks: one `output` event each; joined for RetrieveAndGenerate. */
  outputs: string[];
  citations?: CitationSpec[];
  firstTokenDelayMs?: number;
  chunkDelayMs?: number;
  guardrailAction?: 'INTERVENED' | 'NONE';
  /** Stream: send this many output chunks, then an exception frame. RetrieveAndGenerate: an HTTP error. */
  failAfterChunks?: number;
  streamError?: AgentStreamErrorName;
  streamErrorMessage?: string;
  /** `flat` (default, the current API), `wrapped` (deprecated `{citation: {...}}`) or `both`. */
  citationEventStyle?: 'flat' | 'wrapped' | 'both';
}

export interface RetrieveReply {
  retrievalResults: RetrievalResult[];
  delayMs?: number;
}

export interface AgentErrorReply {
  error: AgentErrorName;
  message?: string;
  delayMs?: number;
}

export type AgentReply = GenerateReply | RetrieveReply | AgentErrorReply;

export interface RecordedAgentRequest extends RecordedExchange {
  operation: AgentOperation;
  /** From the path (Retrieve) or `retrieveAndGenerateConfiguration.knowledgeBaseConfiguration`. */
  knowledgeBaseId?: string;
  /** The text asked: `input.text` or `retrievalQuery.text`. */
  text: string;
  /** The session id the client sent, if any. */
  sessionId?: string;
  /** `userContext.userId`: whom retrieval runs as (document-level access control), if sent. */
  userContextUserId?: string;
  /** The session id the stand-in answered with (new or continued). */
  responseSessionId?: string;
  body: Record<string, unknown>;
}

export type AgentHandler = (request: RecordedAgentRequest) => AgentReply | Promise<AgentReply>;

export interface FakeBedrockAgentRuntimeOptions {
  port?: number;
  /** Knowledge Bases that exist; others get 404 ResourceNotFoundException. Default: every id exists. */
  knowledgeBaseIds?: string[];
  /** Check every request against the Agent Runtime service model (default true). */
  validation?: boolean;
}

export const MAX_INPUT_CHARS = 1_000;
const SESSION_HEADER = 'x-amzn-bedrock-knowledge-base-session-id';

const AGENT_ERROR_MESSAGES: Record<AgentErrorName, string> = {
  ValidationException: 'The request failed validation.',
  ServiceQuotaExceededException: 'The number of requests exceeds the service quota.',
  AccessDeniedException: 'The request is denied because of missing access permissions.',
  ResourceNotFoundException: 'The specified resource could not be found.',
  ConflictException: 'There was a conflict performing the operation.',
  DependencyFailedException: 'The model or a dependency failed to process the request.',
  ModelNotReadyException: 'The model is not ready to serve inference requests.',
  ThrottlingException: 'Your request was throttled because of service-wide limitations.',
  InternalServerException: 'An internal server error occurred. Retry your request.',
  BadGatewayException: 'There was an issue with a dependency due to a server issue.',
};

const STREAM_ERROR_AS_HTTP_ERROR: Record<AgentStreamErrorName, AgentErrorName> = {
  internalServerException: 'InternalServerException',
  validationException: 'ValidationException',
  resourceNotFoundException: 'ResourceNotFoundException',
  serviceQuotaExceededException: 'ServiceQuotaExceededException',
  throttlingException: 'ThrottlingException',
  accessDeniedException: 'AccessDeniedException',
  conflictException: 'ConflictException',
  dependencyFailedException: 'DependencyFailedException',
  badGatewayException: 'BadGatewayException',
};

const RETRIEVE_ROUTE = /^\/knowledgebases\/([^/]+)\/retrieve$/;

const defaultHandler: AgentHandler = (request) => {
  const source: RetrievedPassage = {
    text: `A stand-in passage about: ${request.text}`,
    location: { type: 'S3', s3Location: { uri: 's3://stand-in-knowledge-base/doc-1.md' } },
    metadata: { 'x-amz-bedrock-kb-source-uri': 's3://stand-in-knowledge-base/doc-1.md' },
  };
  if (request.operation === 'Retrieve') return { retrievalResults: [{ ...source, score: 0.9 }] };
  return FakeBedrockAgentRuntime.groundedReply([
    { text: `Answer to: ${request.text}`, references: [source] },
  ]);
};

export class FakeBedrockAgentRuntime {
  readonly url: string;
  readonly port: number;
  /** Every request, oldest first (refused ones too). */
  readonly requests: RecordedAgentRequest[] = [];
  /** Refuse (400 ValidationException) what breaks the Agent Runtime service model, as Bedrock does. */
  validation: boolean;
  readonly #server: RunningHttp2JsonServer;
  readonly #knowledgeBaseIds: Set<string> | undefined;
  readonly #queue: AgentReply[] = [];
  readonly #sessions = new Map<string, { expired: boolean }>();
  #handler: AgentHandler = defaultHandler;

  /** TCP connections the clients opened to this stand-in so far. */
  get connectionsAccepted(): number {
    return this.#server.connectionsAccepted;
  }

  private constructor(server: RunningHttp2JsonServer, options: FakeBedrockAgentRuntimeOptions) {
    this.#server = server;
    this.url = server.url;
    this.port = server.port;
    this.#knowledgeBaseIds = options.knowledgeBaseIds ? new Set(options.knowledgeBaseIds) : undefined;
    this.validation = options.validation ?? true;
  }

  static async start(options: FakeBedrockAgentRuntimeOptions = {}): Promise<FakeBedrockAgentRuntime> {
    // Parsed now rather than on the first request, so that its cost never lands inside a timed answer.
    serviceModel('bedrock-agent-runtime');
    let fake: FakeBedrockAgentRuntime | undefined;
    const server = await startHttp2JsonServer({
      port: options.port ?? 0,
      errorNamespace: 'com.amazon.bedrock.agent.runtime',
      onExchange: (exchange) => (fake ? fake.#onExchange(exchange) : undefined),
    });
    fake = new FakeBedrockAgentRuntime(server, options);
    return fake;
  }

  /**
   * A reply from consecutive parts of the answer: one output chunk per part, and one citation per part
   * with references, spanning that part in the joined text (`end` inclusive).
   */
  static groundedReply(
    parts: Array<{ text: string; references?: RetrievedPassage[] }>,
    options: Omit<GenerateReply, 'outputs' | 'citations'> = {},
  ): GenerateReply {
    const citations: CitationSpec[] = [];
    let offset = 0;
    for (const [index, part] of parts.entries()) {
      if (part.references && part.references.length > 0) {
        const span = { start: offset, end: offset + Math.max(0, part.text.length - 1) };
        citations.push({ afterOutputIndex: index, text: part.text, span, references: part.references });
      }
      offset += part.text.length;
    }
    return { ...options, outputs: parts.map((part) => part.text), citations };
  }

  /** Replies used first, in order, before the handler. */
  enqueue(...replies: AgentReply[]): void {
    this.#queue.push(...replies);
  }

  get queuedReplies(): number {
    return this.#queue.length;
  }

  /** Answers every request once the queue is empty; the default cites one stand-in S3 document. */
  setHandler(handler: AgentHandler): void {
    this.#handler = handler;
  }

  /** Makes a session id invalid, as when Bedrock expires it; the next request with it gets 400. */
  expireSession(sessionId: string): void {
    this.#sessions.set(sessionId, { expired: true });
  }

  /** Session ids issued so far and still valid. */
  get activeSessionIds(): string[] {
    return [...this.#sessions].filter(([, session]) => !session.expired).map(([id]) => id);
  }

  /** Clears the queue, the recorded requests, the sessions and the handler (back to the default). */
  reset(): void {
    this.#queue.length = 0;
    this.requests.length = 0;
    this.#sessions.clear();
    this.#handler = defaultHandler;
  }

  /** Stops listening and drops open connections, ending any stream in flight. */
  async stop(): Promise<void> {
    await this.#server.stop();
  }

  async #onExchange(exchange: Exchange): Promise<void> {
    const operation = routeOf(exchange);
    if (operation === undefined) {
      exchange.sendAwsError(
        404,
        'UnknownOperationException',
        `No Agent Runtime operation at ${exchange.path}`,
      );
      return;
    }
    const body = isObject(exchange.body) ? exchange.body : {};
    const request: RecordedAgentRequest = {
      operation,
      text: '',
      body,
      headers: exchange.headers,
      atMs: nowMs(),
    };
    this.requests.push(request);
    const asUser = stringAt(body, 'userContext', 'userId');
    if (asUser !== undefined) request.userContextUserId = asUser;

    if (operation === 'Retrieve') {
      request.knowledgeBaseId = decodeURIComponent(RETRIEVE_ROUTE.exec(exchange.path)?.[1] ?? '');
      request.text = stringAt(body, 'retrievalQuery', 'text') ?? '';
    } else {
      request.knowledgeBaseId = stringAt(
        body,
        'retrieveAndGenerateConfiguration',
        'knowledgeBaseConfiguration',
        'knowledgeBaseId',
      );
      request.text = stringAt(body, 'input', 'text') ?? '';
      request.sessionId = typeof body.sessionId === 'string' ? body.sessionId : undefined;
    }

    // Bedrock checks the request against its service model first (bedrock/request-validator.ts).
    const checked = this.validation
      ? validateHttpRequest(serviceModel('bedrock-agent-runtime'), exchange).errors
      : [];
    const refusal: { name: AgentErrorName; message: string } | undefined =
      checked.length > 0
        ? { name: 'ValidationException', message: validationMessage(checked) }
        : this.#refusal(request);
    if (refusal) {
      this.#sendError(exchange, request, refusal.name, refusal.message);
      return;
    }
    if (operation !== 'Retrieve') request.responseSessionId = request.sessionId ?? this.#issueSession();

    const reply = this.#queue.shift() ?? (await this.#handler(request));
    if ('error' in reply) {
      if (!(await waitUnlessAborted(reply.delayMs ?? 0, exchange.signal))) {
        return this.#finish(request, 'cancelled');
      }
      this.#sendError(exchange, request, reply.error, reply.message);
      return;
    }
    if (operation === 'Retrieve') {
      if (!('retrievalResults' in reply)) {
        return this.#misuse(exchange, request, 'Retrieve needs { retrievalResults }');
      }
      await this.#retrieve(exchange, request, reply);
      return;
    }
    if (!('outputs' in reply)) {
      return this.#misuse(exchange, request, `${operation} needs { outputs, citations }`);
    }
    if (operation === 'RetrieveAndGenerate') await this.#retrieveAndGenerate(exchange, request, reply);
    else await this.#retrieveAndGenerateStream(exchange, request, reply);
  }

  /** The checks Bedrock makes before generating anything. */
  #refusal(request: RecordedAgentRequest): { name: AgentErrorName; message: string } | undefined {
    if (request.operation !== 'Retrieve' && request.text.length > MAX_INPUT_CHARS) {
      return {
        name: 'ValidationException',
        message: `1 validation error detected: Value at 'input.text' failed to satisfy constraint: Member must have length less than or equal to ${MAX_INPUT_CHARS}`,
      };
    }
    if (!request.knowledgeBaseId) {
      return {
        name: 'ValidationException',
        message:
          'The stand-in serves only KNOWLEDGE_BASE requests: knowledgeBaseConfiguration.knowledgeBaseId is required.',
      };
    }
    if (this.#knowledgeBaseIds && !this.#knowledgeBaseIds.has(request.knowledgeBaseId)) {
      return {
        name: 'ResourceNotFoundException',
        message: `Knowledge base with id ${request.knowledgeBaseId} does not exist`,
      };
    }
    if (request.sessionId !== undefined && this.#sessions.get(request.sessionId)?.expired !== false) {
      return {
        name: 'ValidationException',
        message: `Session with Id ${request.sessionId} is not valid. Please check and try again.`,
      };
    }
    return undefined;
  }

  async #retrieve(exchange: Exchange, request: RecordedAgentRequest, reply: RetrieveReply): Promise<void> {
    if (!(await waitUnlessAborted(reply.delayMs ?? 0, exchange.signal))) {
      return this.#finish(request, 'cancelled');
    }
    exchange.sendJson(200, {
      retrievalResults: reply.retrievalResults.map((result) => ({
        content: { text: result.text, type: 'TEXT' },
        location: result.location,
        score: result.score ?? 0.5,
        metadata: result.metadata ?? {},
      })),
    });
    this.#finish(request, exchange.cancelled ? 'cancelled' : 'completed');
  }

  async #retrieveAndGenerate(
    exchange: Exchange,
    request: RecordedAgentRequest,
    reply: GenerateReply,
  ): Promise<void> {
    const chunksToSend = reply.failAfterChunks ?? reply.outputs.length;
    const generationMs =
      (reply.firstTokenDelayMs ?? 0) + Math.max(0, chunksToSend - 1) * (reply.chunkDelayMs ?? 0);
    if (!(await waitUnlessAborted(generationMs, exchange.signal))) return this.#finish(request, 'cancelled');
    if (reply.failAfterChunks !== undefined) {
      const name = STREAM_ERROR_AS_HTTP_ERROR[reply.streamError ?? 'dependencyFailedException'];
      this.#sendError(exchange, request, name, reply.streamErrorMessage);
      return;
    }
    const sessionId = request.responseSessionId ?? '';
    request.firstTokenAtMs = nowMs();
    request.lastTokenAtMs = request.firstTokenAtMs;
    exchange.sendJson(
      200,
      {
        sessionId,
        output: { text: reply.outputs.join('') },
        citations: (reply.citations ?? []).map(citationBody),
        ...(reply.guardrailAction ? { guardrailAction: reply.guardrailAction } : {}),
      },
      { [SESSION_HEADER]: sessionId },
    );
    this.#finish(request, exchange.cancelled ? 'cancelled' : 'completed');
  }

  async #retrieveAndGenerateStream(
    exchange: Exchange,
    request: RecordedAgentRequest,
    reply: GenerateReply,
  ): Promise<void> {
    const stream = exchange.startEventStream({ [SESSION_HEADER]: request.responseSessionId ?? '' });
    const citations = reply.citations ?? [];
    const lastIndex = reply.outputs.length - 1;
    const sendCitationsAfter = async (index: number): Promise<boolean> => {
      for (const citation of citations) {
        const due =
          index === lastIndex ? citation.afterOutputIndex >= lastIndex : citation.afterOutputIndex === index;
        if (due && !(await stream.event('citation', citationEvent(citation, reply.citationEventStyle)))) {
          return false;
        }
      }
      return true;
    };
    // Paced against a fixed schedule (see waitUntilUnlessAborted).
    const firstTokenDueMs = nowMs() + (reply.firstTokenDelayMs ?? 0);
    if (!(await waitUntilUnlessAborted(firstTokenDueMs, exchange.signal))) {
      return this.#finish(request, 'cancelled');
    }
    for (const [index, text] of reply.outputs.entries()) {
      if (index === reply.failAfterChunks) return this.#failStream(stream, request, reply);
      const dueMs = firstTokenDueMs + index * (reply.chunkDelayMs ?? 0);
      if (index > 0 && !(await waitUntilUnlessAborted(dueMs, exchange.signal))) {
        return this.#finish(request, 'cancelled');
      }
      if (!(await stream.event('output', { text }))) return this.#finish(request, 'cancelled');
      request.firstTokenAtMs ??= nowMs();
      request.lastTokenAtMs = nowMs();
      if (!(await sendCitationsAfter(index))) return this.#finish(request, 'cancelled');
    }
    if (reply.failAfterChunks !== undefined) return this.#failStream(stream, request, reply);
    if (reply.outputs.length === 0 && !(await sendCitationsAfter(-1))) {
      return this.#finish(request, 'cancelled');
    }
    if (reply.guardrailAction && !(await stream.event('guardrail', { action: reply.guardrailAction }))) {
      return this.#finish(request, 'cancelled');
    }
    stream.end();
    this.#finish(request, exchange.cancelled ? 'cancelled' : 'completed');
  }

  async #failStream(
    stream: EventStreamWriter,
    request: RecordedAgentRequest,
    reply: GenerateReply,
  ): Promise<void> {
    const name = reply.streamError ?? 'dependencyFailedException';
    request.error = name;
    const message = reply.streamErrorMessage ?? AGENT_ERROR_MESSAGES[STREAM_ERROR_AS_HTTP_ERROR[name]];
    const sent = await stream.exception(name, { message });
    stream.end();
    this.#finish(request, sent ? 'failed' : 'cancelled');
  }

  #issueSession(): string {
    const sessionId = randomUUID();
    this.#sessions.set(sessionId, { expired: false });
    return sessionId;
  }

  #sendError(
    exchange: Exchange,
    request: RecordedAgentRequest,
    name: AgentErrorName,
    message?: string,
  ): void {
    request.error = name;
    exchange.sendAwsError(AGENT_ERROR_STATUS[name], name, message ?? AGENT_ERROR_MESSAGES[name]);
    this.#finish(request, exchange.cancelled ? 'cancelled' : 'failed');
  }

  /** A reply that does not fit the operation is a test's mistake: make it loud. */
  #misuse(exchange: Exchange, request: RecordedAgentRequest, message: string): void {
    this.#sendError(exchange, request, 'InternalServerException', `stand-in misuse: ${message}`);
  }

  #finish(request: RecordedAgentRequest, outcome: NonNullable<RecordedAgentRequest['outcome']>): void {
    request.outcome = outcome;
    request.endedAtMs = nowMs();
  }
}

function routeOf(exchange: Exchange): AgentOperation | undefined {
  if (exchange.method !== 'POST') return undefined;
  if (exchange.path === '/retrieveAndGenerate') return 'RetrieveAndGenerate';
  if (exchange.path === '/retrieveAndGenerateStream') return 'RetrieveAndGenerateStream';
  if (RETRIEVE_ROUTE.test(exchange.path)) return 'Retrieve';
  return undefined;
}

function citationBody(citation: CitationSpec) {
  return {
    generatedResponsePart: { textResponsePart: { text: citation.text, span: citation.span } },
    retrievedReferences: citation.references.map((reference) => ({
      content: { text: reference.text, type: 'TEXT' },
      location: reference.location,
      metadata: reference.metadata ?? {},
    })),
  };
}

function citationEvent(citation: CitationSpec, style: GenerateReply['citationEventStyle'] = 'flat') {
  const body = citationBody(citation);
  if (style === 'wrapped') return { citation: body };
  if (style === 'both') return { citation: body, ...body };
  return body;
}

function stringAt(value: unknown, ...path: string[]): string | undefined {
  let current: unknown = value;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return typeof current === 'string' ? current : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
