/**
 * A fake Slack for tests, the benchmark and the playground: one HTTP server on 127.0.0.1 that
 * answers the Web API (`/api/<method>`), serves response_url posts (`/response/<id>`) and Socket
 * Mode (`/socket`), keeps a small workspace model (channels, users, messages, native streams) and
 * sends signed events, slash commands and actions to the bot, over HTTP or the socket.
 *
 * @example
 * const fake = await FakeSlack.start();
 * process.env.SLACK_API_URL = fake.apiUrl; // the bot's Web API calls now land here
 * fake.setBotEndpoint('http://127.0.0.1:3000/slack/events');
 * const { ts } = await fake.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' });
 * const reply = await fake.waitFor(() => fake.botReplies('C0001', ts).find((m) => m.streamState === 'stopped'));
 * fake.displayText(reply); // what the person reads
 * await fake.openAppHome('U0001');                 // app_home_opened; the bot publishes the Home tab
 * fake.homeViewOf('U0001');                        // what views.publish showed
 * await fake.act('U0001', 'home', { actionId: 'settings_toggle' }); // block_actions from that view
 * await fake.submitModal('U0001', { system_prompt: 'Be terse.' });  // view_submission of the open modal
 * await fake.stop();
 *
 * Every Web API call and response_url post is checked against Slack's documented method and Block
 * Kit limits first (slack/block-kit-limits.ts) and refused with Slack's error code;
 * `enforceLimits: false` turns that off for a test that must send what Slack would refuse.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { slackLimitViolation } from './slack/block-kit-limits.ts';
import { type FakeFile, FileStore, type UploadFileInput } from './slack/files.ts';
import { blockActionsPayload, type ViewAction, viewSubmissionPayload } from './slack/interactivity.ts';
import { type InstallGrant, type IssuedToken, OAuthInstalls } from './slack/oauth-installs.ts';
import { RateWindow } from './slack/rate-window.ts';
import {
  type DeliveryResult,
  eventEnvelope,
  postSigned,
  richTextBlocks,
  slackId,
} from './slack/signed-delivery.ts';
import { type EnvelopeType, SocketModeServer } from './slack/socket-mode-server.ts';
import { type TakeResult, TokenBucket } from './slack/token-bucket.ts';
import {
  type WebApiArgs,
  type WebApiBody,
  type WebApiContext,
  type WebApiHandler,
  webApiMethods,
} from './slack/web-api.ts';
import {
  type AddChannelInput,
  type AddMessageInput,
  type AddUsergroupInput,
  type AddUserInput,
  displayText,
  type FakeMessage,
  type FakeView,
  isImChannelId,
  Workspace,
} from './slack/workspace.ts';

export type { FakeFile, UploadFileInput } from './slack/files.ts';
export type { ViewAction } from './slack/interactivity.ts';
export type { InstallGrant, IssuedToken } from './slack/oauth-installs.ts';
export { type DeliveryResult, postSigned, slackSignature } from './slack/signed-delivery.ts';
export { slackLimits, validateBlocks } from './slack/web-api.ts';
export type {
  AddChannelInput,
  AddMessageInput,
  AddUsergroupInput,
  AddUserInput,
  FakeChannel,
  FakeMessage,
  FakeUser,
  FakeView,
  StreamState,
  StreamTask,
} from './slack/workspace.ts';
export { displayText };

export interface FakeSlackOptions {
  port?: number;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  botToken?: string;
  appToken?: string;
  signingSecret?: string;
  /** Returned by auth.test in the `x-oauth-scopes` header. */
  grantedScopes?: string[];
  /** An open stream not started or appended within this expires. */
  streamIdleTimeoutMs?: number;
  /**
   * A stream ends this long after it started, even while appends flow (Slack: about 5 minutes);
   * later appends and stops fail with `message_not_in_streaming_state`. Default 300,000.
   */
  streamLifetimeMs?: number;
  /** Rate limit per method (see `RateLimit`), e.g. `{ 'chat.update': { perMinute: 50 } }`. */
  rateLimits?: Record<string, RateLimit>;
  /** The workspace clock (ts values, stream expiry, status expiry, rate limits, response_url expiry). */
  now?: () => number;
  /** How long a Socket Mode envelope waits for its ack. */
  socketAckTimeoutMs?: number;
  socketPingIntervalMs?: number;
  /** How long an HTTP delivery to the bot may take before it fails. */
  deliveryTimeoutMs?: number;
  /**
   * Whether the app subscribes to `agent_session_stopped` (default true). Without it Slack's
   * setStatus warns `missing_agent_session_stopped_event_subscription` and the spinner has no Stop.
   */
  agentSessionStoppedSubscribed?: boolean;
  /**
   * Refuse calls that break Slack's documented method and Block Kit limits, with Slack's error
   * codes (slack/block-kit-limits.ts). Default true; false for a test that must see what Slack refuses.
   */
  enforceLimits?: boolean;
}

/**
 * How the stand-in limits a method: `{ perSecond }`, a token bucket that holds one second's calls;
 * or `{ perMinute }`, at most that many calls in any minute (Slack's tiers are per-minute windows),
 * per workspace or, with `perChannel`, per channel (as Slack limits chat.postMessage).
 */
export type RateLimit = { perSecond: number } | { perMinute: number; perChannel?: boolean };

export interface RecordedCall {
  method: string;
  /** Form fields (JSON-looking values parsed) or the JSON body, without the token. */
  args: WebApiArgs;
  status: number;
  ok: boolean;
  error?: string;
  /** The Retry-After of a 429, in seconds. */
  retryAfterS?: number;
  /** Applied, but the connection was destroyed instead of answering (`failNext(…, { appliedButLost: true })`). */
  responseLost?: true;
  atMs: number;
  token?: string;
}

/**
 * Serves the playground's page: FakeSlack hands it every request for `/` and `/playground/...`
 * (see `slack/page/playground-page.ts`).
 */
export type PageHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  url: URL,
  rawBody: string,
) => Promise<void> | void;

/**
 * A fault for `failNext`: Slack refuses with an error, a 429, or a 500 (nothing applied); or
 * `appliedButLost`: the call is applied to the workspace and recorded as usual, then the connection
 * is destroyed without a response, as when a response is lost in transit or the client times out
 * after Slack did the work (the web client sees a reset); or `appliedThenSlowMs`: applied and
 * visible at once, answered only after that long (a slow response, not a failure).
 */
export type FakeFailure =
  | { error: string }
  | { status: 429; retryAfterS: number }
  | { status: 500 }
  | { appliedButLost: true }
  | { appliedThenSlowMs: number };

export interface ResponseUrlPost {
  id: string;
  url: string;
  body: unknown;
  atMs: number;
}

export interface DeliveryOptions {
  /** The workspace the event comes from (the envelope's `team_id`); defaults to the stand-in's. */
  teamId?: string;
  /** Defaults to HTTP when a bot endpoint is set, else the Socket Mode connection. */
  via?: 'http' | 'socket';
  retryNum?: number;
  retryReason?: string;
  /** Enterprise Grid: the org the event comes from (the envelope's `enterprise_id`). */
  enterpriseId?: string;
  /** The app is installed org-wide (`authorizations[0].is_enterprise_install`). */
  isEnterpriseInstall?: boolean;
  /** The event's channel is shared with another organization. */
  isExtSharedChannel?: boolean;
  /** Sign with another secret, to test refusal of bad signatures. */
  signingSecret?: string;
  /** Signature timestamp in seconds (defaults to the real wall clock), to test replay refusal. */
  timestampS?: number;
}

export interface SendEventOptions extends DeliveryOptions {
  eventId?: string;
}

export interface SendEventResult extends DeliveryResult {
  eventId: string;
}

export interface UserMessageInput {
  channel: string;
  user: string;
  text: string;
  threadTs?: string;
  /** Files shared with the message (made with `uploadFile`). */
  files?: FakeFile[];
}

export interface UserMessageResult extends SendEventResult {
  ts: string;
  /** The app_mention delivery, when the text mentions the bot outside a DM. */
  mention?: SendEventResult;
}

export interface CommandInput {
  command?: string;
  text: string;
  user: string;
  channel: string;
  /** Sent instead of a response_url on this server (one Slack would never send, to test refusal). */
  responseUrl?: string;
}

export interface CommandResult extends DeliveryResult {
  responseUrl: string;
}

/** The limiter a call counts against (its method's bucket or window, or its channel's). */
type MethodLimiter = (args: WebApiArgs) => { take(): TakeResult };

interface FailureEntry {
  failure: FakeFailure;
  remaining: number;
}

interface ApiAnswer {
  status: number;
  body: WebApiBody;
  headers?: Record<string, string>;
  /** Destroy the connection instead of sending this answer (it was applied all the same). */
  lose?: true;
  /** Send the answer only this long after the call was applied (a slow response). */
  slowMs?: number;
}

const appId = 'A0001';
const verificationToken = 'fake-verification-token';
const responseUrlMaxUses = 5;
const responseUrlTtlMs = 30 * 60_000;
/** Free-text fields are never JSON-parsed, even when they look like JSON ("[1] see…"). */
const textFields = new Set(['text', 'markdown_text', 'title', 'status', 'name', 'query', 'fallback']);

function parseFormArgs(params: URLSearchParams): WebApiArgs {
  const args: WebApiArgs = {};
  for (const [key, value] of params) {
    args[key] = value;
    if (!textFields.has(key) && /^\s*[[{]/.test(value)) {
      try {
        args[key] = JSON.parse(value);
      } catch {
        // Not JSON after all: keep the string, as Slack would then reject it.
      }
    }
  }
  return args;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
}

export class FakeSlack {
  readonly teamId: string;
  readonly botUserId: string;
  readonly botId: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly signingSecret: string;
  readonly appId = appId;
  /** Emits 'call' (RecordedCall), 'message' (FakeMessage created or changed), 'response' (ResponseUrlPost). */
  readonly events = new EventEmitter();
  readonly calls: RecordedCall[] = [];
  readonly responseUrlPosts: ResponseUrlPost[] = [];
  readonly workspace: Workspace;
  /** Files people shared (served at `url_private_download` to the bot token with `files:read`). */
  readonly files: FileStore;
  /** OAuth installs: the consent page, oauth.v2.access and the tokens it issued (see slack/oauth-installs.ts). */
  readonly oauth: OAuthInstalls;
  /** `http://127.0.0.1:<port>/api/`: the bot's SLACK_API_URL. */
  apiUrl = '';
  /** `http://127.0.0.1:<port>`. */
  baseUrl = '';

  readonly #options: FakeSlackOptions;
  readonly #now: () => number;
  readonly #server: Server;
  readonly #sockets: SocketModeServer;
  readonly #failures = new Map<string, FailureEntry[]>();
  readonly #limits = new Map<string, MethodLimiter>();
  readonly #responseUrls = new Map<string, { uses: number; createdAtMs: number }>();
  /** `action_token`s put in the events of people's messages (for the Real-time Search API). */
  readonly #actionTokens = new Set<string>();
  #botEndpoint: string | undefined;
  #pageHandler: PageHandler | undefined;
  #stopped = false;
  /** Slack reuses its connections to an app; so does the stand-in (closed on stop). */
  readonly #deliveryAgent = new Agent({ keepAlive: true });

  private constructor(options: FakeSlackOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.teamId = options.teamId ?? 'T0001';
    this.botUserId = options.botUserId ?? 'UBOT';
    this.botId = options.botId ?? 'BBOT';
    this.botToken = options.botToken ?? 'xoxb-test';
    this.appToken = options.appToken ?? 'xapp-test';
    this.signingSecret = options.signingSecret ?? 'test-signing-secret';
    this.events.setMaxListeners(100);
    this.files = new FileStore(this.#now);
    this.oauth = new OAuthInstalls({ now: this.#now, botUserId: this.botUserId, botId: this.botId });
    this.workspace = new Workspace({
      now: this.#now,
      streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 120_000,
      streamLifetimeMs: options.streamLifetimeMs ?? 300_000,
      onChange: (message) => this.events.emit('message', message),
    });
    for (const [method, limit] of Object.entries(options.rateLimits ?? {})) this.setRateLimit(method, limit);
    this.#seed();
    this.#sockets = new SocketModeServer({
      appId,
      ackTimeoutMs: options.socketAckTimeoutMs ?? 5000,
      pingIntervalMs: options.socketPingIntervalMs ?? 10_000,
    });
    this.#server = createServer((request, response) => {
      this.#onRequest(request, response).catch((error: unknown) => {
        if (!response.headersSent)
          sendJson(response, 500, { ok: false, error: 'fatal_error', detail: String(error) });
      });
    });
    this.#server.on('upgrade', (request, socket, head) => {
      if (new URL(request.url ?? '/', 'http://localhost').pathname === '/socket') {
        this.#sockets.handleUpgrade(request, socket, head);
      } else {
        socket.destroy();
      }
    });
  }

  static async start(options: FakeSlackOptions = {}): Promise<FakeSlack> {
    const fake = new FakeSlack(options);
    await new Promise<void>((resolve, reject) => {
      fake.#server.once('error', reject);
      fake.#server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
    });
    const { port } = fake.#server.address() as AddressInfo;
    fake.baseUrl = `http://127.0.0.1:${port}`;
    fake.apiUrl = `${fake.baseUrl}/api/`;
    return fake;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#sockets.close();
    this.#deliveryAgent.destroy();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #seed(): void {
    this.addUser({ id: 'U0001', name: 'alice', realName: 'Alice Example' });
    this.addUser({ id: 'U0002', name: 'bob', realName: 'Bob Example' });
    this.addUser({ id: this.botUserId, name: 'assistant', isBot: true });
    this.addChannel({ id: 'C0001', name: 'general', isMember: true });
    this.addChannel({ id: 'C0002', name: 'random', isMember: false });
    this.addChannel({ id: 'D0001', name: '', user: 'U0001' });
  }

  // ---- workspace model ----

  addChannel(input: AddChannelInput): void {
    this.workspace.addChannel(input);
  }

  addUser(input: AddUserInput): void {
    this.workspace.addUser(input);
  }

  /** A user group (`S…`) whose members `usergroups.users.list` returns. */
  addUsergroup(input: AddUsergroupInput): void {
    this.workspace.addUsergroup(input);
  }

  /** The Home tab the bot last published for `user`. */
  homeViewOf(user: string): FakeView | undefined {
    return this.workspace.homeViews.get(user);
  }

  /** The modal the bot last opened for `user` that is still open. */
  modalOf(user: string): FakeView | undefined {
    return [...this.workspace.modals.values()].filter((view) => view.user === user).at(-1);
  }

  /** Adds a message without sending any event (e.g. earlier thread history); returns its ts. */
  addMessage(input: AddMessageInput): string {
    return this.workspace.addMessage(input).ts;
  }

  get messages(): FakeMessage[] {
    return this.workspace.messages;
  }

  get ephemerals(): FakeMessage[] {
    return this.messages.filter((m) => m.ephemeral);
  }

  /** Replies in a thread, oldest first, without the root and without ephemeral messages. */
  threadReplies(channel: string, threadTs: string): FakeMessage[] {
    return this.workspace.threadReplies(channel, threadTs);
  }

  botReplies(channel: string, threadTs: string): FakeMessage[] {
    return this.threadReplies(channel, threadTs).filter((m) => m.botId === this.botId);
  }

  displayText(message: FakeMessage): string {
    return displayText(message);
  }

  /** The assistant status shown in a thread: '' once cleared (or 2 minutes old), undefined if never set. */
  statusOf(channel: string, threadTs: string): string | undefined {
    return this.workspace.statusOf(channel, threadTs);
  }

  suggestedPromptsOf(channel: string, threadTs?: string): { prompts: unknown; title?: string } | undefined {
    return this.workspace.suggestedPromptsOf(channel, threadTs);
  }

  titleOf(channel: string, threadTs: string): string | undefined {
    return this.workspace.titleOf(channel, threadTs);
  }

  // ---- recording, waiting, faults ----

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  /** Polls until the predicate returns something other than undefined, null or false. */
  async waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 5000): Promise<T> {
    const deadlineMs = performance.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
      try {
        const value = predicate();
        if (value !== undefined && value !== null && value !== false) return value;
      } catch (error) {
        lastError = error;
      }
      if (performance.now() >= deadlineMs) {
        throw new Error(`FakeSlack.waitFor: condition not met within ${timeoutMs}ms`, { cause: lastError });
      }
      await delay(10);
    }
  }

  /**
   * The next `times` calls to `method` fail this way (after authentication, before rate limits).
   * `{ appliedButLost: true }` applies the call, records it, then drops the connection unanswered.
   */
  failNext(method: string, failure: FakeFailure, times = 1): void {
    const queue = this.#failures.get(method) ?? [];
    queue.push({ failure, remaining: times });
    this.#failures.set(method, queue);
  }

  /** Drops the failures queued with `failNext` for `method` (or for every method). */
  clearFailures(method?: string): void {
    if (method === undefined) this.#failures.clear();
    else this.#failures.delete(method);
  }

  /** Limits `method` from now on: a number is calls per second (`{ perSecond }`); null lifts the limit. */
  setRateLimit(method: string, limit: number | RateLimit | null): void {
    if (limit === null) {
      this.#limits.delete(method);
      return;
    }
    const spec = typeof limit === 'number' ? { perSecond: limit } : limit;
    if ('perSecond' in spec) {
      const bucket = new TokenBucket(spec.perSecond, this.#now);
      this.#limits.set(method, () => bucket);
      return;
    }
    const windows = new Map<string, RateWindow>();
    this.#limits.set(method, (args) => {
      const key = spec.perChannel ? String(args.channel ?? args.channel_id ?? '') : '';
      let window = windows.get(key);
      if (!window) {
        window = new RateWindow(spec.perMinute, 60_000, this.#now);
        windows.set(key, window);
      }
      return window;
    });
  }

  // ---- HTTP server ----

  async #onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.baseUrl || 'http://127.0.0.1');
    const rawBody = await readBody(request);
    if (url.pathname.startsWith('/api/')) {
      this.#onApiRequest(request, response, url, rawBody);
    } else if (url.pathname.startsWith('/files/') && request.method === 'GET') {
      this.files.serve(request, response, url, {
        token: this.#fileToken(request),
        scopes: this.#options.grantedScopes ?? null,
      });
    } else if (url.pathname === '/oauth/v2/authorize' && request.method === 'GET') {
      const approved = this.oauth.authorize(url);
      if (approved.location) response.writeHead(approved.status, { location: approved.location }).end();
      else sendJson(response, approved.status, { ok: false, error: approved.error });
    } else if (url.pathname === '/signin') {
      FileStore.signIn(response);
    } else if (url.pathname.startsWith('/response/') && request.method === 'POST') {
      this.#onResponseUrl(response, url, rawBody);
    } else if (this.#pageHandler && (url.pathname === '/' || url.pathname.startsWith('/playground/'))) {
      await this.#pageHandler(request, response, url, rawBody);
    } else {
      sendJson(response, 404, { ok: false, error: 'not_found' });
    }
  }

  /** The token a file download may carry: the stand-in's own, or a live one it issued by OAuth. */
  #fileToken(request: IncomingMessage): string {
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const issued = bearer ? this.oauth.tokenInfo(bearer) : undefined;
    return issued && !this.oauth.refusal(issued) ? issued.token : this.botToken;
  }

  #onApiRequest(request: IncomingMessage, response: ServerResponse, url: URL, rawBody: string): void {
    const method = decodeURIComponent(url.pathname.slice('/api/'.length));
    let args: WebApiArgs;
    if ((request.headers['content-type'] ?? '').includes('application/json')) {
      try {
        args = { ...parseFormArgs(url.searchParams), ...(JSON.parse(rawBody || '{}') as WebApiArgs) };
      } catch {
        args = {};
      }
    } else {
      args = { ...parseFormArgs(url.searchParams), ...parseFormArgs(new URLSearchParams(rawBody)) };
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    delete args.token;
    const answer = this.#answer(method, args, token);
    const retryAfter = answer.headers?.['retry-after'];
    const call: RecordedCall = {
      method,
      args,
      status: answer.status,
      ok: answer.body.ok,
      ...(answer.body.error === undefined ? {} : { error: answer.body.error }),
      ...(retryAfter === undefined ? {} : { retryAfterS: Number(retryAfter) }),
      ...(answer.lose ? { responseLost: true as const } : {}),
      atMs: this.#now(),
      ...(token === undefined ? {} : { token }),
    };
    this.calls.push(call);
    this.events.emit('call', call);
    if (answer.lose) request.socket.destroy();
    else if (answer.slowMs)
      setTimeout(() => sendJson(response, answer.status, answer.body, answer.headers), answer.slowMs);
    else sendJson(response, answer.status, answer.body, answer.headers);
  }

  #answer(method: string, args: WebApiArgs, token: string | undefined): ApiAnswer {
    const isSocketOpen = method === 'apps.connections.open';
    // The code and refresh grants authenticate with the app's client id and secret, not a token.
    if (method === 'oauth.v2.access') return { status: 200, body: this.oauth.access(args) };
    const installed = token ? this.oauth.tokenInfo(token) : undefined;
    if (installed) {
      const refused = this.oauth.refusal(installed);
      if (refused) return { status: 200, body: { ok: false, error: refused } };
      return this.#admitted(method, args, webApiMethods[method], installed);
    }
    const handler = webApiMethods[method];
    if (!handler && !isSocketOpen) return { status: 200, body: { ok: false, error: 'unknown_method' } };
    const expectedToken = isSocketOpen ? this.appToken : this.botToken;
    const otherToken = isSocketOpen ? this.botToken : this.appToken;
    if (!token) return { status: 200, body: { ok: false, error: 'not_authed' } };
    if (token === otherToken) return { status: 200, body: { ok: false, error: 'not_allowed_token_type' } };
    if (token !== expectedToken) return { status: 200, body: { ok: false, error: 'invalid_auth' } };
    return this.#admitted(method, args, handler);
  }

  /** An authenticated call: injected faults, then rate limits, then the workspace model. */
  #admitted(
    method: string,
    args: WebApiArgs,
    handler: WebApiHandler | undefined,
    installed?: IssuedToken,
  ): ApiAnswer {
    const injected = this.#takeFailure(method);
    if (injected === 'applied_but_lost')
      return { ...this.#apply(method, args, handler, installed), lose: true };
    if (typeof injected === 'object' && 'appliedThenSlowMs' in injected)
      return { ...this.#apply(method, args, handler, installed), slowMs: injected.appliedThenSlowMs };
    if (injected) return injected;
    const taken = this.#limits.get(method)?.(args).take();
    if (taken && !taken.ok) {
      return {
        status: 429,
        body: { ok: false, error: 'ratelimited' },
        headers: { 'retry-after': String(taken.retryAfterS) },
      };
    }

    return this.#apply(method, args, handler, installed);
  }

  /** Runs an authenticated, admitted call against the workspace model (as the installed token's workspace). */
  #apply(
    method: string,
    args: WebApiArgs,
    handler: WebApiHandler | undefined,
    installed?: IssuedToken,
  ): ApiAnswer {
    if (method === 'apps.connections.open') {
      const ticket = this.#sockets.issueTicket();
      const wsUrl = `ws://127.0.0.1:${new URL(this.baseUrl).port}/socket?ticket=${ticket}&app_id=${appId}`;
      return { status: 200, body: { ok: true, url: wsUrl } };
    }
    const refusal = this.#options.enforceLimits === false ? undefined : slackLimitViolation(method, args);
    if (refusal) return { status: 200, body: refusal };
    const context: WebApiContext = {
      workspace: this.workspace,
      teamId: installed ? (installed.teamId ?? this.teamId) : this.teamId,
      botUserId: this.botUserId,
      botId: this.botId,
      appId,
      agentSessionStoppedSubscribed: this.#options.agentSessionStoppedSubscribed ?? true,
      files: this.files,
      baseUrl: this.baseUrl,
      actionTokens: this.#actionTokens,
      scopes: this.#options.grantedScopes ?? null,
    };
    let body = handler?.(context, args) ?? { ok: false, error: 'unknown_method' };
    if (method === 'auth.test' && installed)
      body = {
        ...body,
        enterprise_id: installed.enterpriseId ?? undefined,
        is_enterprise_install: installed.isEnterpriseInstall,
      };
    const headers: Record<string, string> =
      method === 'auth.test' && this.#options.grantedScopes
        ? { 'x-oauth-scopes': this.#options.grantedScopes.join(',') }
        : {};
    return { status: 200, body, headers };
  }

  #takeFailure(method: string): ApiAnswer | 'applied_but_lost' | { appliedThenSlowMs: number } | undefined {
    const queue = this.#failures.get(method);
    const entry = queue?.[0];
    if (!queue || !entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) queue.shift();
    const { failure } = entry;
    if ('appliedButLost' in failure) return 'applied_but_lost';
    if ('appliedThenSlowMs' in failure) return failure;
    if ('error' in failure) return { status: 200, body: { ok: false, error: failure.error } };
    if (failure.status === 429) {
      return {
        status: 429,
        body: { ok: false, error: 'ratelimited' },
        headers: { 'retry-after': String(failure.retryAfterS) },
      };
    }
    return { status: 500, body: { ok: false, error: 'internal_error' } };
  }

  #onResponseUrl(response: ServerResponse, url: URL, rawBody: string): void {
    const id = url.pathname.slice('/response/'.length);
    const record = this.#responseUrls.get(id);
    if (!record || this.#now() - record.createdAtMs > responseUrlTtlMs) {
      sendJson(response, 404, { ok: false, error: 'expired_url' });
      return;
    }
    if (record.uses >= responseUrlMaxUses) {
      sendJson(response, 404, { ok: false, error: 'used_url' });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      sendJson(response, 400, { ok: false, error: 'invalid_payload' });
      return;
    }
    // A response_url takes a message payload, with chat.postMessage's limits (status unverified).
    const refusal =
      this.#options.enforceLimits === false || typeof body !== 'object' || body === null
        ? undefined
        : slackLimitViolation('chat.postMessage', body as WebApiArgs);
    if (refusal) {
      sendJson(response, 400, refusal);
      return;
    }
    record.uses += 1;
    const post: ResponseUrlPost = { id, url: `${this.baseUrl}${url.pathname}`, body, atMs: this.#now() };
    this.responseUrlPosts.push(post);
    this.events.emit('response', post);
    sendJson(response, 200, { ok: true });
  }

  /** A fresh response_url on this server (5 uses within 30 minutes), e.g. for an action payload. */
  createResponseUrl(): string {
    const id = slackId('R', 12);
    this.#responseUrls.set(id, { uses: 0, createdAtMs: this.#now() });
    return `${this.baseUrl}/response/${id}`;
  }

  /** Serves `/` and `/playground/...` with this handler (the playground's page); undefined: 404 again. */
  setPageHandler(handler: PageHandler | undefined): void {
    this.#pageHandler = handler;
  }

  // ---- Slack → bot ----

  setBotEndpoint(url: string | undefined): void {
    this.#botEndpoint = url;
  }

  socketConnected(): boolean {
    return this.#sockets.connectionCount > 0;
  }

  async waitForSocket(timeoutMs = 5000): Promise<void> {
    await this.waitFor(() => this.socketConnected(), timeoutMs);
  }

  /** Sends `disconnect` and closes every Socket Mode connection; the client reconnects. */
  disconnectSockets(reason?: string): void {
    this.#sockets.disconnectAll(reason);
  }

  async #deliver(
    type: EnvelopeType,
    payload: unknown,
    httpBody: { rawBody: string; contentType: 'application/json' | 'application/x-www-form-urlencoded' },
    options: DeliveryOptions,
  ): Promise<DeliveryResult> {
    const via = options.via ?? (this.#botEndpoint ? 'http' : this.socketConnected() ? 'socket' : undefined);
    if (via === 'socket') {
      const delivery = await this.#sockets.deliver(type, payload, {
        ...(options.retryNum === undefined ? {} : { retryAttempt: options.retryNum }),
        ...(options.retryReason === undefined ? {} : { retryReason: options.retryReason }),
      });
      return {
        status: 200,
        body: delivery.ackPayload,
        sentAtMs: delivery.sentAtMs,
        elapsedMs: delivery.elapsedMs,
      };
    }
    if (!this.#botEndpoint) {
      throw new Error('FakeSlack: call setBotEndpoint() or connect a Socket Mode client before sending');
    }
    const retryHeaders: Record<string, string> =
      options.retryNum === undefined
        ? {}
        : {
            'x-slack-retry-num': String(options.retryNum),
            'x-slack-retry-reason': options.retryReason ?? 'http_timeout',
          };
    return postSigned(this.#botEndpoint, {
      ...httpBody,
      signingSecret: options.signingSecret ?? this.signingSecret,
      ...(options.timestampS === undefined ? {} : { timestampS: options.timestampS }),
      headers: retryHeaders,
      timeoutMs: this.#options.deliveryTimeoutMs ?? 10_000,
      agent: this.#deliveryAgent,
    });
  }

  /**
   * Wraps an inner event in an event_callback envelope and delivers it, signed. `event` is any
   * JSON value, so tests can send what Slack's format does not allow (null, a string).
   */
  async sendEvent(event: unknown, options: SendEventOptions = {}): Promise<SendEventResult> {
    const eventId = options.eventId ?? slackId('Ev');
    const envelope = eventEnvelope({
      event,
      eventId,
      eventTimeS: Math.floor(this.#now() / 1000),
      teamId: options.teamId ?? this.teamId,
      appId,
      botUserId: this.botUserId,
      verificationToken,
      ...(options.enterpriseId ? { enterpriseId: options.enterpriseId } : {}),
      ...(options.isEnterpriseInstall ? { isEnterpriseInstall: true } : {}),
      ...(options.isExtSharedChannel ? { isExtSharedChannel: true } : {}),
    });
    const result = await this.#deliver(
      'events_api',
      envelope,
      { rawBody: JSON.stringify(envelope), contentType: 'application/json' },
      options,
    );
    return { ...result, eventId };
  }

  /**
   * A person writes a message: it joins the workspace (so conversations.replies sees it) and the
   * `message` event is sent; a mention of the bot outside a DM also sends `app_mention`, like Slack.
   */
  #issueActionToken(): string {
    const token = `at-${randomUUID()}`;
    this.#actionTokens.add(token);
    return token;
  }

  /** A person uploads a file (to share it with a message: `postUserMessage({ files: [file] })`). */
  uploadFile(input: UploadFileInput): FakeFile {
    return this.files.add(input);
  }

  async postUserMessage(input: UserMessageInput, options: DeliveryOptions = {}): Promise<UserMessageResult> {
    const files = (input.files ?? []).map((file) => this.files.json(file, this.baseUrl));
    const message = this.workspace.addMessage({
      ...input,
      ...(files.length > 0 ? { files, subtype: 'file_share' } : {}),
    });
    const channel = this.workspace.channels.get(input.channel);
    const isIm = isImChannelId(input.channel);
    const parent = input.threadTs ? this.workspace.findMessage(input.channel, input.threadTs) : undefined;
    const common = {
      user: input.user,
      text: input.text,
      ts: message.ts,
      channel: input.channel,
      event_ts: message.ts,
      team: options.teamId ?? this.teamId,
      client_msg_id: randomUUID(),
      blocks: richTextBlocks(input.text),
      ...(input.threadTs ? { thread_ts: input.threadTs } : {}),
      ...(parent?.user ? { parent_user_id: parent.user } : {}),
      ...(files.length > 0 ? { files, upload: false } : {}),
      action_token: this.#issueActionToken(),
    };
    const channelType = isIm ? 'im' : channel?.isPrivate ? 'group' : 'channel';
    const mentionsBot = !isIm && input.text.includes(`<@${this.botUserId}>`);
    const [messageResult, mention] = await Promise.all([
      this.sendEvent(
        {
          type: 'message',
          ...(files.length > 0 ? { subtype: 'file_share' } : {}),
          ...common,
          channel_type: channelType,
        },
        options,
      ),
      mentionsBot ? this.sendEvent({ type: 'app_mention', ...common }, options) : undefined,
    ]);
    return { ts: message.ts, ...messageResult, ...(mention ? { mention } : {}) };
  }

  /**
   * A person clicks Slack's native Stop on a thread's agent session, as Slack allows it: only while
   * the session is `processing` and the app subscribes to the event. Slack stops the thread's open
   * streams itself (later writes to them fail with `stopped_by_user`) and sends `agent_session_stopped`;
   * the session's status is left for the app to change.
   */
  async clickStop(input: { channel: string; threadTs: string; user: string }): Promise<SendEventResult> {
    const session = this.workspace.sessionOf(input.channel, input.threadTs);
    if (session?.status !== 'processing')
      throw new Error('FakeSlack: no Stop button: the session is not processing');
    if (this.#options.agentSessionStoppedSubscribed === false)
      throw new Error('FakeSlack: no Stop button: the app does not subscribe to agent_session_stopped');
    const stopped: string[] = [];
    for (const message of this.workspace.threadReplies(input.channel, input.threadTs)) {
      if (message.botId !== this.botId || message.streamState !== 'open') continue;
      message.streamState = 'stopped';
      message.streaming = false;
      message.stoppedByUser = true;
      stopped.push(message.ts);
      this.workspace.changed(message);
    }
    return this.sendEvent({
      type: 'agent_session_stopped',
      channel: input.channel,
      thread_ts: input.threadTs,
      user: input.user,
      streaming_message_ts: stopped,
      event_ts: this.workspace.nextTs(),
    });
  }

  /**
   * A person installs the app from the bot's install URL, as a browser would: the bot's
   * `/slack/install` sends them to this stand-in's consent page, which approves `grant` at once and
   * sends them back to the bot's redirect URL (the app's configured one, by default beside the
   * install URL) with the code; the state cookie goes along. The bot's last answer is returned.
   */
  async installApp(installUrl: string, grant: InstallGrant = {}): Promise<{ status: number; body: string }> {
    this.oauth.nextInstall(grant);
    this.oauth.redirectUri ??= new URL('/slack/oauth_redirect', installUrl).toString();
    const start = await fetch(installUrl, { redirect: 'manual' });
    const consent = start.headers.get('location');
    if (!consent)
      throw new Error(`FakeSlack: ${installUrl} did not redirect to the consent page (${start.status})`);
    const cookie = start.headers
      .getSetCookie()
      .map((value) => value.split(';')[0])
      .join('; ');
    const approved = await fetch(consent, { redirect: 'manual' });
    const back = approved.headers.get('location');
    if (!back)
      throw new Error(`FakeSlack: the consent page refused (${approved.status} ${await approved.text()})`);
    const done = await fetch(back, { headers: { cookie }, redirect: 'manual' });
    return { status: done.status, body: await done.text() };
  }

  /**
   * Someone removes the app from a workspace (or, `orgWide`, from the whole org): its tokens are
   * revoked and `app_uninstalled` is sent, as Slack does.
   */
  async uninstall(target: {
    teamId?: string;
    enterpriseId?: string;
    orgWide?: boolean;
  }): Promise<SendEventResult> {
    this.oauth.revoke(target);
    return this.sendEvent(
      { type: 'app_uninstalled', event_ts: this.workspace.nextTs() },
      this.#installDelivery(target),
    );
  }

  /** An admin revokes the app's bot token in a workspace: `tokens_revoked` names the bot user. */
  async revokeBotTokens(target: {
    teamId?: string;
    enterpriseId?: string;
    orgWide?: boolean;
  }): Promise<SendEventResult> {
    this.oauth.revoke(target);
    return this.sendEvent(
      { type: 'tokens_revoked', tokens: { bot: [this.botUserId] }, event_ts: this.workspace.nextTs() },
      this.#installDelivery(target),
    );
  }

  #installDelivery(target: { teamId?: string; enterpriseId?: string; orgWide?: boolean }): SendEventOptions {
    return {
      teamId: target.teamId ?? this.teamId,
      ...(target.enterpriseId ? { enterpriseId: target.enterpriseId } : {}),
      ...(target.orgWide ? { isEnterpriseInstall: true } : {}),
    };
  }

  /** Sends a slash command (form-encoded, signed) with a response_url on this server. */
  async sendCommand(input: CommandInput, options: DeliveryOptions = {}): Promise<CommandResult> {
    const channel = this.workspace.channels.get(input.channel);
    const responseUrl = input.responseUrl ?? this.createResponseUrl();
    const fields: Record<string, string> = {
      token: verificationToken,
      team_id: this.teamId,
      team_domain: 'fake-workspace',
      channel_id: input.channel,
      channel_name: channel?.isIm ? 'directmessage' : (channel?.name ?? 'unknown'),
      user_id: input.user,
      user_name: this.workspace.users.get(input.user)?.name ?? input.user,
      command: input.command ?? '/ask',
      text: input.text,
      api_app_id: appId,
      is_enterprise_install: 'false',
      response_url: responseUrl,
      trigger_id: this.workspace.issueTrigger(input.user),
    };
    const result = await this.#deliver(
      'slash_commands',
      fields,
      { rawBody: new URLSearchParams(fields).toString(), contentType: 'application/x-www-form-urlencoded' },
      options,
    );
    return { ...result, responseUrl };
  }

  /** A person opens the app's Home tab (`app_home_opened`, tab `home`), as Slack sends it. */
  async openAppHome(user: string, options: SendEventOptions = {}): Promise<SendEventResult> {
    const dm = [...this.workspace.channels.values()].find((channel) => channel.isIm && channel.user === user);
    const view = this.homeViewOf(user);
    const event = {
      type: 'app_home_opened',
      user,
      channel: dm?.id ?? `D${user.slice(1)}`,
      tab: 'home',
      event_ts: (this.#now() / 1000).toFixed(6),
      ...(view ? { view: { ...view, state: { values: {} } } } : {}),
    };
    return this.sendEvent(event, options);
  }

  /**
   * A person clicks or picks in a view the bot showed them: `'home'` (their Home tab) or the open
   * modal. Throws when that view has no such element: a person can only use what is shown.
   */
  async act(user: string, where: 'home' | 'modal', action: ViewAction, options: DeliveryOptions = {}) {
    const view = where === 'home' ? this.homeViewOf(user) : this.modalOf(user);
    if (!view) throw new Error(`FakeSlack: ${user} has no ${where} view open`);
    const payload = blockActionsPayload({
      view,
      user,
      action,
      teamId: options.teamId ?? this.teamId,
      appId,
      triggerId: this.workspace.issueTrigger(user),
      people: this.workspace.users,
    });
    return this.sendAction(payload, options);
  }

  /**
   * A person submits the open modal with `values` by action id (inputs not given keep what they
   * show). The bot's ack is the result's `body`; a modal acked without errors closes.
   */
  async submitModal(user: string, values: Record<string, string | null>, options: DeliveryOptions = {}) {
    const view = this.modalOf(user);
    if (!view) throw new Error(`FakeSlack: ${user} has no modal open`);
    const payload = viewSubmissionPayload({
      view,
      user,
      values,
      teamId: options.teamId ?? this.teamId,
      appId,
      triggerId: this.workspace.issueTrigger(user),
      people: this.workspace.users,
    });
    const result = await this.sendAction(payload, options);
    const ack = result.body as { response_action?: string } | undefined;
    if (result.status === 200 && ack?.response_action !== 'errors') this.workspace.modals.delete(view.id);
    return result;
  }

  /**
   * A person clicks a button in one of the bot's messages: finds it in the message's blocks by
   * `actionId` (refusing a button the message does not show) and sends Slack's block_actions payload.
   */
  async clickButton(input: {
    user: string;
    message: FakeMessage;
    actionId: string;
  }): Promise<DeliveryResult> {
    const { message, user, actionId } = input;
    const button = (message.blocks ?? [])
      .flatMap(
        (block) => ((block as { elements?: unknown[] }).elements ?? []) as Array<Record<string, unknown>>,
      )
      .find((element) => element.action_id === actionId);
    if (!button) throw new Error(`FakeSlack: the message shows no button ${actionId}`);
    const block = (message.blocks ?? []).find((b) =>
      ((b as { elements?: unknown[] }).elements ?? []).includes(button),
    ) as { block_id?: string } | undefined;
    const channel = this.workspace.channels.get(message.channel);
    return this.sendAction({
      type: 'block_actions',
      api_app_id: appId,
      token: verificationToken,
      // A real trigger: the click may open a modal (views.open), as Slack allows for a button.
      trigger_id: this.workspace.issueTrigger(user),
      user: { id: user, username: this.workspace.users.get(user)?.name ?? user, team_id: this.teamId },
      team: { id: this.teamId, domain: 'fake-workspace' },
      channel: { id: message.channel, name: channel?.name ?? '' },
      container: {
        type: 'message',
        message_ts: message.ts,
        channel_id: message.channel,
        ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
      },
      message: {
        type: 'message',
        ts: message.ts,
        text: message.text,
        ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
        ...(message.blocks ? { blocks: message.blocks } : {}),
      },
      response_url: this.createResponseUrl(),
      actions: [
        {
          type: button.type,
          action_id: actionId,
          block_id: block?.block_id ?? 'b',
          ...(button.value === undefined ? {} : { value: button.value }),
          action_ts: `${(this.#now() / 1000).toFixed(6)}`,
        },
      ],
    });
  }

  /** Sends an interactivity payload (block_actions, view_submission…) as `payload=<json>`, signed. */
  async sendAction(payload: object, options: DeliveryOptions = {}): Promise<DeliveryResult> {
    return this.#deliver(
      'interactive',
      payload,
      {
        rawBody: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(),
        contentType: 'application/x-www-form-urlencoded',
      },
      options,
    );
  }
}
