/**
 * The HTTP plumbing shared by the AWS stand-ins (Bedrock Runtime, Bedrock Agent Runtime): a loopback
 * server that speaks cleartext HTTP/2 with prior knowledge (h2c, what the SDK's NodeHttp2Handler
 * sends to an `http://` endpoint) and also HTTP/1.1 (a client configured with NodeHttpHandler, curl,
 * fetch), AWS REST-JSON error responses, and AWS event-stream responses.
 *
 * Usage:
 *   const server = await startHttp2JsonServer({
 *     port: 0,
 *     onExchange: async (exchange) => {
 *       if (exchange.path === '/ping') return exchange.sendJson(200, { pong: true });
 *       if (exchange.path === '/fail') return exchange.sendAwsError(429, 'ThrottlingException', 'Slow down');
 *       const stream = exchange.startEventStream();
 *       await stream.event('chunk', { text: 'hi' });
 *       await stream.exception('throttlingException', { message: 'Slow down' });
 *       stream.end();
 *     },
 *   });
 *   server.url; // http://127.0.0.1:<port>
 *   await server.stop(); // drops every connection and aborts every exchange's `signal`
 */
import { randomUUID } from 'node:crypto';
import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttp2Server, Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createServer as createNetServer, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { fromUtf8, toUtf8 } from '@smithy/core/serde';

/** One request and its response, handed to `onExchange`. */
export interface Exchange {
  readonly method: string;
  /** Raw path without the query string; path parameters are still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Lower-case header names; HTTP/2 pseudo-headers (`:path`, …) are left out. */
  readonly headers: Record<string, string>;
  readonly rawBody: string;
  /** The JSON body, or undefined when the body was empty. Invalid JSON is answered 400 before `onExchange`. */
  readonly body: unknown;
  readonly httpVersion: '1.1' | '2.0';
  /** The id sent back in `x-amzn-requestid` (the SDK puts it in `$metadata.requestId`). */
  readonly requestId: string;
  /** Aborted when the client goes away before the response ended, or the server stops. */
  readonly signal: AbortSignal;
  /** True once the client went away before the response ended. */
  readonly cancelled: boolean;
  readonly responded: boolean;
  sendJson(status: number, body: unknown, headers?: Record<string, string>): void;
  /** An AWS REST-JSON error: `x-amzn-errortype` names the error, the body carries `message` (and any extra fields). */
  sendAwsError(
    status: number,
    errorType: string,
    message: string,
    extraFields?: Record<string, unknown>,
    headers?: Record<string, string>,
  ): void;
  /** Sends 200 with `application/vnd.amazon.eventstream` and returns a writer of frames. */
  startEventStream(headers?: Record<string, string>): EventStreamWriter;
  /**
   * Closes the connection this request came on without an answer, as a network path that lost it
   * would: every other request sharing the connection fails with it.
   */
  dropConnection(): void;
}

/** What both Bedrock stand-ins record of every request's timing and fate. */
export interface RecordedExchange {
  headers: Record<string, string>;
  /** When the request arrived (epoch ms, fractional). */
  atMs: number;
  /** When the first / last text was written (non-streaming: when the answer was written). */
  firstTokenAtMs?: number;
  lastTokenAtMs?: number;
  /** When the stand-in finished with the request. */
  endedAtMs?: number;
  /** `cancelled`: the client went away first. */
  outcome?: 'completed' | 'failed' | 'cancelled';
  /** The error or exception frame sent, if any. */
  error?: string;
}

export interface EventStreamWriter {
  /** Writes an `event` frame with a JSON payload; resolves false when the client is gone. */
  event(eventType: string, payload: unknown): Promise<boolean>;
  /** Writes an `exception` frame with a JSON payload; resolves false when the client is gone. */
  exception(exceptionType: string, payload: unknown): Promise<boolean>;
  end(): void;
}

export interface Http2JsonServerOptions {
  port?: number;
  onExchange: (exchange: Exchange) => Promise<void> | void;
  /** Namespace in the `x-amzn-errortype` value (`Name:http://internal.amazon.com/coral/<ns>/`), as AWS sends it. */
  errorNamespace?: string;
}

export interface RunningHttp2JsonServer {
  readonly url: string;
  readonly port: number;
  /** TCP connections accepted since the start (an HTTP/2 client multiplexes requests over few). */
  readonly connectionsAccepted: number;
  stop(): Promise<void>;
}

const HTTP2_PREFACE_START = 'PRI';
const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Starts the server on 127.0.0.1 (port 0 picks a free port). */
export async function startHttp2JsonServer(options: Http2JsonServerOptions): Promise<RunningHttp2JsonServer> {
  const stopping = new AbortController();
  const sockets = new Set<Socket>();
  let connectionsAccepted = 0;
  const errorNamespace = options.errorNamespace ?? 'com.amazon.aws';

  const onRequest = (
    req: IncomingMessage | Http2ServerRequest,
    res: ServerResponse | Http2ServerResponse,
  ) => {
    void handleRequest(req, res, options.onExchange, stopping.signal, errorNamespace);
  };
  const http2Server = createHttp2Server(onRequest);
  const http1Server = createHttp1Server(onRequest);
  // A client that vanishes mid-stream must never take the stand-in down with it.
  http2Server.on('sessionError', () => {});
  http2Server.on('streamError', () => {});
  http1Server.on('clientError', (_error, socket) => socket.destroy());

  // One port for both protocols: an HTTP/2 client opens with the preface `PRI * HTTP/2.0`.
  // Node's HTTP/2 session reads bytes already buffered on the socket, so peeking and unshifting is safe.
  const netServer = createNetServer((socket) => {
    connectionsAccepted += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('readable', () => {
      const first: Buffer | null = socket.read();
      if (first === null) return;
      socket.unshift(first);
      const isHttp2 =
        first.subarray(0, HTTP2_PREFACE_START.length).toString('latin1') === HTTP2_PREFACE_START;
      (isHttp2 ? http2Server : http1Server).emit('connection', socket);
    });
  });
  await new Promise<void>((resolve, reject) => {
    netServer.once('error', reject);
    netServer.listen(options.port ?? 0, '127.0.0.1', () => {
      netServer.off('error', reject);
      resolve();
    });
  });
  const address = netServer.address();
  if (address === null || typeof address === 'string') throw new Error('stand-in server has no TCP address');
  const port = address.port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    get connectionsAccepted() {
      return connectionsAccepted;
    },
    async stop() {
      stopping.abort();
      for (const socket of sockets) socket.destroy();
      http2Server.close();
      http1Server.close();
      await new Promise<void>((resolve) => netServer.close(() => resolve()));
    },
  };
}

async function handleRequest(
  req: IncomingMessage | Http2ServerRequest,
  res: ServerResponse | Http2ServerResponse,
  onExchange: Http2JsonServerOptions['onExchange'],
  stopping: AbortSignal,
  errorNamespace: string,
): Promise<void> {
  const aborter = new AbortController();
  const onStop = () => aborter.abort();
  stopping.addEventListener('abort', onStop, { once: true });
  let ended = false;
  let cancelled = false;
  res.on('close', () => {
    stopping.removeEventListener('abort', onStop);
    if (!ended) {
      cancelled = true;
      aborter.abort();
    }
  });
  if (res instanceof Http2ServerResponse) res.stream.on('error', () => {});
  req.on('error', () => {});

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const requestId = randomUUID();
  const isGone = () => cancelled || aborter.signal.aborted;

  const writeHead = (status: number, responseHeaders: Record<string, string>) => {
    const all = { 'x-amzn-requestid': requestId, ...responseHeaders };
    if (res instanceof Http2ServerResponse) res.writeHead(status, all);
    else res.writeHead(status, all);
  };
  const endResponse = (chunk?: string) => {
    if (isGone() || ended) return;
    ended = true;
    if (chunk === undefined) res.end();
    else res.end(chunk);
  };
  const writeFrame = async (frame: Uint8Array): Promise<boolean> => {
    if (isGone() || ended) return false;
    const flushed = res instanceof Http2ServerResponse ? res.write(frame) : res.write(frame);
    if (!flushed) {
      // Respect back-pressure, but never wait on a client that already left.
      await new Promise<void>((resolve) => {
        res.once('drain', resolve);
        res.once('close', resolve);
      });
    }
    return !isGone();
  };

  let rawBody: string;
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(Buffer.from(chunk as Uint8Array));
    rawBody = Buffer.concat(chunks).toString('utf8');
  } catch {
    return; // the client left while sending its body
  }

  let responded = false;
  const sendJson = (status: number, body: unknown, extraHeaders: Record<string, string> = {}) => {
    if (responded || isGone()) return;
    responded = true;
    writeHead(status, { 'content-type': 'application/json', ...extraHeaders });
    endResponse(JSON.stringify(body));
  };
  const sendAwsError: Exchange['sendAwsError'] = (
    status,
    errorType,
    message,
    extraFields = {},
    extraHeaders = {},
  ) => {
    sendJson(
      status,
      { message, ...extraFields },
      {
        'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/${errorNamespace}/`,
        ...extraHeaders,
      },
    );
  };

  let body: unknown;
  try {
    body = rawBody.length === 0 ? undefined : JSON.parse(rawBody);
  } catch {
    sendAwsError(400, 'SerializationException', 'The request body is not valid JSON.');
    return;
  }

  const url = new URL(req.url ?? '/', 'http://stand-in');
  const exchange: Exchange = {
    method: req.method ?? 'GET',
    path: (req.url ?? '/').split('?')[0] ?? '/',
    query: url.searchParams,
    headers,
    rawBody,
    body,
    httpVersion: req.httpVersion === '2.0' ? '2.0' : '1.1',
    requestId,
    signal: aborter.signal,
    get cancelled() {
      return cancelled;
    },
    get responded() {
      return responded;
    },
    sendJson,
    sendAwsError,
    dropConnection() {
      responded = true;
      if (req instanceof Http2ServerRequest) req.stream.session?.destroy();
      else req.socket.destroy();
    },
    startEventStream(extraHeaders = {}) {
      if (responded) throw new Error('stand-in already responded to this request');
      responded = true;
      if (!isGone()) {
        writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', ...extraHeaders });
      }
      return {
        event: (eventType, payload) => writeFrame(encodeEventFrame('event', eventType, payload)),
        exception: (exceptionType, payload) =>
          writeFrame(encodeEventFrame('exception', exceptionType, payload)),
        end: () => endResponse(),
      };
    },
  };

  try {
    await onExchange(exchange);
  } catch (error) {
    // A broken handler shows up as a 500 the test can see, not as a hung request.
    if (!responded) sendAwsError(500, 'InternalServerException', `stand-in handler failed: ${String(error)}`);
    else endResponse();
  }
}

/** One AWS event-stream frame (`:message-type` event or exception) with a JSON payload. */
export function encodeEventFrame(
  messageType: 'event' | 'exception',
  type: string,
  payload: unknown,
): Uint8Array {
  const typeHeader = messageType === 'event' ? ':event-type' : ':exception-type';
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: messageType },
      [typeHeader]: { type: 'string', value: type },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: fromUtf8(JSON.stringify(payload)),
  });
}

/** Waits `delayMs`; resolves false instead when `signal` aborts first (the client left, the server stopped). */
export async function waitUnlessAborted(delayMs: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (delayMs <= 0) return true;
  try {
    await sleep(delayMs, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits until the epoch time `atMs` (false when aborted first). Paced against a fixed schedule, a
 * stream's tokens do not drift later with every late timer, as a real model's do not either.
 */
export function waitUntilUnlessAborted(atMs: number, signal: AbortSignal): Promise<boolean> {
  return waitUnlessAborted(atMs - nowMs(), signal);
}

/** Epoch milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Splits text into word-ish tokens (a word with its trailing whitespace), the way a model streams. */
export function wordTokens(text: string): string[] {
  return text.match(/\s*\S+\s*/g) ?? (text.length > 0 ? [text] : []);
}

/** A rough token count, about four characters a token, at least one for non-empty text. */
export function estimateTokens(text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4));
}
