/**
 * The playground's page, served by FakeSlack at `/` and `/playground/...`: a Slack-like client for
 * one person (alice, U0001) and a side panel for people who build on the bot.
 *
 * - Static files: `index.html`, `app.js`, `app.css` next to this module, and marked's browser build.
 * - `GET /playground/events`: Server-Sent Events, first a `snapshot` of everything, then `message`,
 *   `call`, `model`, `log`, `switch` and `status` as they happen (fed by FakeSlack's `events`).
 * - `POST /playground/api/send` `{channel, text, threadTs?}`: what a person types. `/ask …` becomes a
 *   signed slash command with a working response_url (`sendCommand`); anything else a message event
 *   (`postUserMessage`), with `@assistant` turned into `<@UBOT>` as Slack's client does.
 * - `POST /playground/api/action`: a button click, sent as a signed `block_actions` payload.
 * - `POST /playground/api/switch` `{id, on}`: a fault switch registered by the playground.
 *
 * @example
 * const page = new PlaygroundPage(slack, { modelLabel: 'Demo model', switches: [] });
 * page.attach(); // http://127.0.0.1:<port>/ now shows the workspace
 * page.recordModelRequest({ id: '1', atMs: Date.now(), operation: 'ConverseStream', modelId: 'm', messages: 1 });
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FakeFile, FakeMessage, FakeSlack, RecordedCall, ResponseUrlPost } from '../../fake-slack.ts';
import { announceSharedFile } from '../file-events.ts';

export interface PageSwitch {
  id: string;
  label: string;
  description: string;
  /** Why the switch cannot be used in this set-up (e.g. model faults with real Bedrock). */
  disabledReason?: string;
  set: (on: boolean) => void;
}

export interface PageModelRequest {
  id: string;
  atMs: number;
  operation: string;
  /** Model id, or the Knowledge Base id for Knowledge Base operations. */
  modelId: string;
  /** Messages in a Converse request; null where there are none (Knowledge Base operations). */
  messages: number | null;
  inputTokens?: number;
  outputTokens?: number;
  outcome?: string;
  error?: string;
  firstTokenMs?: number;
  durationMs?: number;
}

export interface PlaygroundPageOptions {
  /** What answers: shown at the top of the page (e.g. "Demo model: not a real LLM"). */
  modelLabel: string;
  /** Marks the model badge as a demo (highlighted). */
  modelIsDemo?: boolean;
  modelDetail?: string;
  knowledgeBaseLabel?: string;
  storeLabel?: string;
  switches: PageSwitch[];
}

interface MessageView {
  key: string;
  channel: string;
  ts: string;
  threadTs: string | null;
  user: string | null;
  /** 'user', 'bot' (this app), or 'slackbot' (Slack's own notes on this page). */
  author: 'user' | 'bot' | 'slackbot';
  text: string;
  markdown: string | null;
  blocks: unknown[] | null;
  streamState: string | null;
  tasks: unknown[];
  plan: { title: string } | null;
  ephemeralFor: string | null;
  reactions: string[];
  files?: Array<{ name: string }>;
  deleted: boolean;
  /** Where it came from, for the Slack-savvy: 'api' (Web API), 'response_url', 'ack', 'page'. */
  via: string;
}

interface CallView {
  id: number;
  atMs: number;
  direction: 'out' | 'in';
  method: string;
  status: number;
  ok: boolean;
  error: string | null;
  retryAfterS: number | null;
  summary: string;
  args: string;
}

interface LogView {
  atMs: number;
  level: string;
  msg: string;
  fields: string;
}

type EventListener = Parameters<FakeSlack['events']['on']>[1];

const here = dirname(fileURLToPath(import.meta.url));
const VIEWER = 'U0001';
const MAX_CALLS = 400;
const MAX_MODEL = 200;
const MAX_LOGS = 300;
const MAX_BODY_BYTES = 64 * 1024;
const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: join(here, 'index.html'), type: 'text/html; charset=utf-8' },
  '/playground/app.js': { file: join(here, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/playground/app.css': { file: join(here, 'app.css'), type: 'text/css; charset=utf-8' },
  '/playground/vendor/marked.esm.js': {
    file: fileURLToPath(import.meta.resolve('marked')),
    type: 'text/javascript; charset=utf-8',
  },
};
/** Log fields worth a glance in the side panel. */
const LOG_FIELDS = [
  'outcome',
  'ref',
  'errorCode',
  'code',
  'method',
  'timeToFirstTokenMs',
  'durationMs',
  'inputTokens',
  'outputTokens',
  'stopReason',
  'thread',
  'surface',
];

export class PlaygroundPage {
  readonly #slack: FakeSlack;
  readonly #options: PlaygroundPageOptions;
  readonly #clients = new Set<ServerResponse>();
  readonly #calls: CallView[] = [];
  readonly #model = new Map<string, PageModelRequest>();
  readonly #logs: LogView[] = [];
  readonly #switchState = new Map<string, boolean>();
  /** Messages the page adds itself: response_url posts, slash-command acks, Slackbot notes. */
  readonly #extraMessages = new Map<string, MessageView>();
  /** response_url id → where its command was run; posts that arrive first wait in `#earlyResponses`. */
  readonly #responseTargets = new Map<string, { channel: string; user: string; posts: number }>();
  readonly #earlyResponses = new Map<string, ResponseUrlPost[]>();
  readonly #listeners: Array<[string, EventListener]> = [];
  #callSeq = 0;
  #heartbeat: NodeJS.Timeout | undefined;

  constructor(slack: FakeSlack, options: PlaygroundPageOptions) {
    this.#slack = slack;
    this.#options = options;
    for (const item of options.switches) this.#switchState.set(item.id, false);
  }

  /** Starts serving the page on the Slack stand-in and following its events. */
  attach(): void {
    this.#slack.setPageHandler((request, response, url, rawBody) =>
      this.#handle(request, response, url, rawBody),
    );
    this.#on('message', (message: FakeMessage) => this.#onMessage(message));
    this.#on('call', (call: RecordedCall) => this.#onCall(call));
    this.#on('response', (post: ResponseUrlPost) => this.#onResponse(post));
    this.#heartbeat = setInterval(() => {
      for (const client of this.#clients) client.write(': keep-alive\n\n');
    }, 15_000);
    this.#heartbeat.unref();
  }

  /** Stops following events and ends every open event stream. */
  detach(): void {
    for (const [name, listener] of this.#listeners) this.#slack.events.off(name, listener);
    this.#listeners.length = 0;
    clearInterval(this.#heartbeat);
    this.#slack.setPageHandler(undefined);
    for (const client of this.#clients) client.end();
    this.#clients.clear();
  }

  /** Adds or updates (same id) a model request in the side panel. */
  recordModelRequest(request: PageModelRequest): void {
    this.#model.set(request.id, request);
    if (this.#model.size > MAX_MODEL) {
      const oldest = this.#model.keys().next().value;
      if (oldest !== undefined) this.#model.delete(oldest);
    }
    this.#broadcast('model', request);
  }

  /** Adds one of the bot's JSON log lines to the side panel. */
  recordLog(line: Record<string, unknown>): void {
    const fields = LOG_FIELDS.filter((key) => line[key] !== undefined && line[key] !== null)
      .map((key) => `${key}=${typeof line[key] === 'object' ? JSON.stringify(line[key]) : String(line[key])}`)
      .join(' ');
    const err = line.err as { message?: string } | undefined;
    const view: LogView = {
      atMs: typeof line.time === 'number' ? line.time : Date.now(),
      level: String(line.level ?? 'info'),
      msg: String(line.msg ?? ''),
      fields: err?.message ? `${fields} err="${err.message}"`.trim() : fields,
    };
    this.#logs.push(view);
    if (this.#logs.length > MAX_LOGS) this.#logs.shift();
    this.#broadcast('log', view);
  }

  #on<T>(name: string, listener: (value: T) => void): void {
    this.#slack.events.on(name, listener);
    this.#listeners.push([name, listener as EventListener]);
  }

  // ---- HTTP ----

  async #handle(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    rawBody: string,
  ): Promise<void> {
    const file = STATIC_FILES[url.pathname];
    if (file && request.method === 'GET') {
      const body = await readFile(file.file);
      response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' });
      response.end(body);
      return;
    }
    if (url.pathname === '/playground/events' && request.method === 'GET') {
      this.#openEventStream(request, response);
      return;
    }
    if (url.pathname.startsWith('/playground/api/') && request.method === 'POST') {
      const refusal = this.#refuseForeign(request, rawBody);
      if (refusal) return sendJson(response, 403, { ok: false, error: refusal });
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(rawBody) as Record<string, unknown>;
      } catch {
        return sendJson(response, 400, { ok: false, error: 'invalid_json' });
      }
      const result = await this.#api(url.pathname.slice('/playground/api/'.length), body);
      return sendJson(response, result.ok ? 200 : 400, result);
    }
    sendJson(response, 404, { ok: false, error: 'not_found' });
  }

  /**
   * The API changes the workspace and can make the bot call a real model: only this page may use it.
   * JSON content (a CORS preflight for other sites), a same-origin Origin, and a loopback Host.
   */
  #refuseForeign(request: IncomingMessage, rawBody: string): string | undefined {
    if (rawBody.length > MAX_BODY_BYTES) return 'body_too_large';
    if (!(request.headers['content-type'] ?? '').includes('application/json')) return 'json_only';
    const host = request.headers.host ?? '';
    if (!/^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host)) return 'foreign_host';
    const origin = request.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) return 'foreign_origin';
    return undefined;
  }

  #openEventStream(request: IncomingMessage, response: ServerResponse): void {
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    response.write(`event: snapshot\ndata: ${JSON.stringify(this.#snapshot())}\n\n`);
    this.#clients.add(response);
    request.on('close', () => this.#clients.delete(response));
  }

  #broadcast(event: string, data: unknown): void {
    if (this.#clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.#clients) client.write(frame);
  }

  #snapshot() {
    const { workspace } = this.#slack;
    const messages = [
      ...workspace.messages.map((message) => this.#view(message)),
      ...this.#extraMessages.values(),
    ];
    const statuses = [];
    const sessions = [];
    for (const message of workspace.messages) {
      if (message.threadTs !== undefined) continue;
      const status = workspace.statusOf(message.channel, message.ts);
      if (status) statuses.push({ channel: message.channel, threadTs: message.ts, status });
      const session = workspace.sessionOf(message.channel, message.ts);
      if (session) sessions.push({ channel: message.channel, threadTs: message.ts, status: session.status });
    }
    return {
      info: {
        modelLabel: this.#options.modelLabel,
        modelIsDemo: this.#options.modelIsDemo ?? false,
        modelDetail: this.#options.modelDetail ?? '',
        knowledgeBaseLabel: this.#options.knowledgeBaseLabel ?? '',
        storeLabel: this.#options.storeLabel ?? '',
        botUserId: this.#slack.botUserId,
        viewer: VIEWER,
      },
      channels: [...workspace.channels.values()],
      users: [...workspace.users.values()],
      messages,
      calls: this.#calls,
      model: [...this.#model.values()],
      logs: this.#logs,
      switches: this.#options.switches.map((item) => this.#switchView(item)),
      statuses,
      sessions,
      prompts: [...workspace.channels.values()]
        .filter((channel) => channel.isIm)
        .map((channel) => this.#promptsView(channel.id)),
    };
  }

  #switchView(item: PageSwitch) {
    return {
      id: item.id,
      label: item.label,
      description: item.description,
      on: this.#switchState.get(item.id) ?? false,
      disabledReason: item.disabledReason ?? null,
    };
  }

  async #api(name: string, body: Record<string, unknown>): Promise<{ ok: boolean; [key: string]: unknown }> {
    try {
      if (name === 'send') return await this.#send(body);
      if (name === 'action') return await this.#action(body);
      if (name === 'switch') return this.#toggle(body);
      if (name === 'open') return await this.#openMessagesTab(body);
      if (name === 'stop') return await this.#stop(body);
      return { ok: false, error: 'unknown_api' };
    } catch (error) {
      return { ok: false, error: 'delivery_failed', detail: (error as Error).message };
    }
  }

  // ---- what the person does ----

  async #send(body: Record<string, unknown>): Promise<{ ok: boolean; [key: string]: unknown }> {
    const channel = typeof body.channel === 'string' ? body.channel : '';
    const text = typeof body.text === 'string' ? body.text.trim() : '';
    const threadTs = typeof body.threadTs === 'string' && body.threadTs ? body.threadTs : undefined;
    if (!this.#slack.workspace.channels.has(channel)) return { ok: false, error: 'channel_not_found' };
    const files = this.#uploads(body.files);
    if (!text && files.length === 0) return { ok: false, error: 'no_text' };

    const command = /^\/(\S+)(?:\s+([\s\S]*))?$/.exec(text);
    if (command && !threadTs && files.length === 0) {
      const [, name = '', args = ''] = command;
      if (name !== 'ask') {
        this.#slackbotNote(channel, undefined, `/${name} is not a valid command. This app has one: /ask.`);
        return { ok: true, kind: 'note' };
      }
      return this.#command(channel, args.trim());
    }
    const encoded = this.#encodeUserText(text);
    const sent = await this.#slack.postUserMessage({
      channel,
      user: VIEWER,
      text: encoded,
      ...(threadTs ? { threadTs } : {}),
      ...(files.length > 0 ? { files } : {}),
    });
    this.#delivery(sent.mention ? 'message + app_mention' : 'message', sent.status, sent.elapsedMs);
    // Slack also says `file_shared` for each file shared in a conversation.
    for (const file of files) await announceSharedFile(this.#slack, file, channel);
    const target = this.#slack.workspace.channels.get(channel);
    if (target && !target.isIm && !target.isMember && encoded.includes(`<@${this.#slack.botUserId}>`)) {
      // What Slack itself says to the author; the stand-in still delivers the events to the bot.
      this.#slackbotNote(
        channel,
        threadTs,
        `You mentioned <@${this.#slack.botUserId}>, but they’re not in this channel. In Slack you would be asked whether to invite them (/invite).`,
      );
    }
    return { ok: true, kind: 'message', ts: sent.ts, status: sent.status };
  }

  /** Files the page picked, uploaded as the viewer's (at most 10 MB each; the page sends base64). */
  #uploads(raw: unknown): FakeFile[] {
    if (!Array.isArray(raw)) return [];
    return raw.slice(0, 10).flatMap((item) => {
      const { name, mimetype, base64 } = (item ?? {}) as {
        name?: unknown;
        mimetype?: unknown;
        base64?: unknown;
      };
      if (typeof name !== 'string' || typeof base64 !== 'string') return [];
      const content = Buffer.from(base64, 'base64');
      if (content.length > 10_000_000) return [];
      const type = typeof mimetype === 'string' && mimetype ? mimetype : 'application/octet-stream';
      return [this.#slack.uploadFile({ name: name.slice(0, 200), mimetype: type, content, user: VIEWER })];
    });
  }

  async #command(channel: string, text: string): Promise<{ ok: boolean; [key: string]: unknown }> {
    const result = await this.#slack.sendCommand({
      command: '/ask',
      text: escapeSlack(text),
      user: VIEWER,
      channel,
    });
    this.#delivery('/ask', result.status, result.elapsedMs);
    const id = new URL(result.responseUrl).pathname.split('/').pop() ?? '';
    this.#responseTargets.set(id, { channel, user: VIEWER, posts: 0 });
    for (const post of this.#earlyResponses.get(id) ?? []) this.#onResponse(post);
    this.#earlyResponses.delete(id);
    // An acknowledgement with a body (e.g. usage help) is shown to the person, like Slack does.
    const ack = result.body as { text?: unknown; blocks?: unknown; response_type?: unknown } | undefined;
    if (ack && typeof ack === 'object' && (typeof ack.text === 'string' || Array.isArray(ack.blocks))) {
      this.#addExtra({
        ...this.#extraBase(channel, undefined, 'bot', 'ack'),
        text: typeof ack.text === 'string' ? ack.text : '',
        blocks: Array.isArray(ack.blocks) ? ack.blocks : null,
        ephemeralFor: ack.response_type === 'in_channel' ? null : VIEWER,
      });
    }
    return { ok: true, kind: 'command', status: result.status };
  }

  /** Opening the app's DM is opening its Messages tab: Slack sends `app_home_opened`. */
  async #openMessagesTab(body: Record<string, unknown>): Promise<{ ok: boolean; [key: string]: unknown }> {
    const channel = this.#slack.workspace.channels.get(String(body.channel ?? ''));
    if (!channel?.isIm) return { ok: false, error: 'not_a_dm' };
    const result = await this.#slack.sendEvent({
      type: 'app_home_opened',
      user: VIEWER,
      channel: channel.id,
      tab: 'messages',
      event_ts: (Date.now() / 1000).toFixed(6),
    });
    this.#delivery('app_home_opened (messages)', result.status, result.elapsedMs);
    const lookingAt = this.#slack.workspace.channels.get(String(body.lookingAt ?? ''));
    if (lookingAt && !lookingAt.isIm) {
      // In Slack the Messages tab opens beside a channel; here it replaces it, so say which one.
      const changed = await this.#slack.sendEvent({
        type: 'app_context_changed',
        user: VIEWER,
        channel: channel.id,
        context: {
          entities: [{ type: 'slack#/types/channel_id', value: lookingAt.id, team_id: this.#slack.teamId }],
        },
        event_ts: (Date.now() / 1000).toFixed(6),
      });
      this.#delivery(`app_context_changed (#${lookingAt.name})`, changed.status, changed.elapsedMs);
    }
    return { ok: true, kind: 'event', status: result.status };
  }

  /** Slack's native Stop on a thread whose agent session is processing. */
  async #stop(body: Record<string, unknown>): Promise<{ ok: boolean; [key: string]: unknown }> {
    const channel = String(body.channel ?? '');
    const threadTs = String(body.threadTs ?? '');
    if (this.#slack.workspace.sessionOf(channel, threadTs)?.status !== 'processing')
      return { ok: false, error: 'not_processing' };
    const result = await this.#slack.clickStop({ channel, threadTs, user: VIEWER });
    this.#delivery('agent_session_stopped', result.status, result.elapsedMs);
    return { ok: true, kind: 'event', status: result.status };
  }

  async #action(body: Record<string, unknown>): Promise<{ ok: boolean; [key: string]: unknown }> {
    const channel = String(body.channel ?? '');
    const messageTs = String(body.messageTs ?? '');
    const message = this.#slack.workspace.messages.find((m) => m.channel === channel && m.ts === messageTs);
    const user = this.#slack.workspace.users.get(VIEWER);
    const channelInfo = this.#slack.workspace.channels.get(channel);
    const nowS = (Date.now() / 1000).toFixed(6);
    const action: Record<string, unknown> = {
      type: String(body.type ?? 'button'),
      action_id: String(body.actionId ?? ''),
      block_id: String(body.blockId ?? ''),
      action_ts: nowS,
      ...(body.value === undefined ? {} : { value: String(body.value) }),
      ...(body.text === undefined ? {} : { text: { type: 'plain_text', text: String(body.text) } }),
    };
    const result = await this.#slack.sendAction({
      type: 'block_actions',
      user: { id: VIEWER, username: user?.name, name: user?.name, team_id: this.#slack.teamId },
      api_app_id: this.#slack.appId,
      token: 'fake-verification-token',
      container: {
        type: 'message',
        message_ts: messageTs,
        channel_id: channel,
        is_ephemeral: Boolean(message?.ephemeral),
        ...(message?.threadTs ? { thread_ts: message.threadTs } : {}),
      },
      trigger_id: `${Math.floor(Date.now() / 1000)}.${Date.now()}`,
      team: { id: this.#slack.teamId, domain: 'fake-workspace' },
      enterprise: null,
      is_enterprise_install: false,
      channel: { id: channel, name: channelInfo?.isIm ? 'directmessage' : (channelInfo?.name ?? '') },
      message: message
        ? {
            type: 'message',
            ts: message.ts,
            text: message.text,
            ...(message.user ? { user: message.user } : {}),
            ...(message.botId ? { bot_id: message.botId } : {}),
            ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
            ...(message.blocks ? { blocks: message.blocks } : {}),
          }
        : undefined,
      state: { values: {} },
      response_url: this.#slack.createResponseUrl(),
      actions: [action],
    });
    this.#delivery(`block_actions ${action.action_id}`, result.status, result.elapsedMs);
    return { ok: true, kind: 'action', status: result.status };
  }

  #toggle(body: Record<string, unknown>): { ok: boolean; [key: string]: unknown } {
    const item = this.#options.switches.find((s) => s.id === body.id);
    if (!item) return { ok: false, error: 'unknown_switch' };
    if (item.disabledReason) return { ok: false, error: 'switch_disabled', detail: item.disabledReason };
    const on = body.on === true;
    item.set(on);
    this.#switchState.set(item.id, on);
    this.#broadcast('switch', this.#switchView(item));
    return { ok: true, on };
  }

  /** Text as Slack's client sends it: `&`, `<`, `>` escaped, `@name` turned into `<@U…>`. */
  #encodeUserText(text: string): string {
    const users = [...this.#slack.workspace.users.values()];
    return escapeSlack(text).replace(
      /(^|[^\w@.])@([a-z0-9](?:[\w.-]*[a-z0-9])?)/gi,
      (whole, before: string, name: string) => {
        const lower = name.toLowerCase();
        if (lower === 'channel' || lower === 'here' || lower === 'everyone') return `${before}<!${lower}>`;
        const user =
          lower === 'bot'
            ? this.#slack.workspace.users.get(this.#slack.botUserId)
            : users.find((u) => [u.name, u.displayName, u.realName].some((n) => n.toLowerCase() === lower));
        return user ? `${before}<@${user.id}>` : whole;
      },
    );
  }

  // ---- what the page shows ----

  #onMessage(message: FakeMessage): void {
    this.#broadcast('message', this.#view(message));
    if (message.threadTs) this.#broadcastStatus(message.channel, message.threadTs);
  }

  #onCall(call: RecordedCall): void {
    this.#pushCall({
      direction: 'out',
      method: call.method,
      status: call.status,
      ok: call.ok,
      error: call.error ?? null,
      retryAfterS: call.retryAfterS ?? null,
      summary: summarize(call),
      args: truncateJson(call.args),
    });
    if (call.method === 'assistant.threads.setSuggestedPrompts' && call.ok) {
      const channel = String(call.args.channel_id ?? '');
      if (call.args.thread_ts === undefined) this.#broadcast('prompts', this.#promptsView(channel));
    }
    if (call.method === 'agents.sessions.setStatus' && call.ok) {
      const channel = String(call.args.channel_id ?? '');
      const threadTs = String(call.args.thread_ts ?? '');
      const status = this.#slack.workspace.sessionOf(channel, threadTs)?.status;
      if (status) this.#broadcast('session', { channel, threadTs, status });
    }
    if (call.method === 'assistant.threads.setStatus' && call.ok) {
      const channel = String(call.args.channel_id ?? '');
      const threadTs = String(call.args.thread_ts ?? '');
      this.#broadcastStatus(channel, threadTs);
    }
  }

  #promptsView(channel: string) {
    const set = this.#slack.suggestedPromptsOf(channel);
    return { channel, title: set?.title ?? null, prompts: set?.prompts ?? [] };
  }

  #broadcastStatus(channel: string, threadTs: string): void {
    const status = this.#slack.workspace.statusOf(channel, threadTs);
    if (status !== undefined) this.#broadcast('status', { channel, threadTs, status });
  }

  #delivery(what: string, status: number, elapsedMs: number): void {
    this.#pushCall({
      direction: 'in',
      method: what,
      status,
      ok: status >= 200 && status < 300,
      error: status >= 200 && status < 300 ? null : `HTTP ${status}`,
      retryAfterS: null,
      summary: `acknowledged in ${Math.round(elapsedMs)} ms`,
      args: '',
    });
  }

  #pushCall(call: Omit<CallView, 'id' | 'atMs'>): void {
    const view: CallView = { id: ++this.#callSeq, atMs: Date.now(), ...call };
    this.#calls.push(view);
    if (this.#calls.length > MAX_CALLS) this.#calls.shift();
    this.#broadcast('call', view);
  }

  #onResponse(post: ResponseUrlPost): void {
    const target = this.#responseTargets.get(post.id);
    if (!target) {
      // The bot answered before sendCommand returned: show it once the command is known.
      this.#earlyResponses.set(post.id, [...(this.#earlyResponses.get(post.id) ?? []), post]);
      return;
    }
    const body = (post.body ?? {}) as Record<string, unknown>;
    const current = `resp:${post.id}:${target.posts}`;
    if (body.delete_original === true) {
      const gone = this.#extraMessages.get(current);
      if (gone) this.#addExtra({ ...gone, deleted: true });
      return;
    }
    const replacing = body.replace_original === true && this.#extraMessages.has(current);
    if (!replacing && this.#extraMessages.has(current)) target.posts += 1;
    const key = `resp:${post.id}:${target.posts}`;
    const previous = this.#extraMessages.get(key);
    this.#addExtra({
      ...(previous ?? this.#extraBase(target.channel, undefined, 'bot', 'response_url')),
      key,
      text: typeof body.text === 'string' ? body.text : '',
      blocks: Array.isArray(body.blocks) ? body.blocks : null,
      ephemeralFor: body.response_type === 'in_channel' ? null : target.user,
    });
  }

  #slackbotNote(channel: string, threadTs: string | undefined, text: string): void {
    this.#addExtra({ ...this.#extraBase(channel, threadTs, 'slackbot', 'page'), text, ephemeralFor: VIEWER });
  }

  #extraBase(
    channel: string,
    threadTs: string | undefined,
    author: MessageView['author'],
    via: string,
  ): MessageView {
    const ts = this.#slack.workspace.nextTs();
    return {
      key: `${via}:${channel}:${ts}`,
      channel,
      ts,
      threadTs: threadTs ?? null,
      user: author === 'bot' ? this.#slack.botUserId : null,
      author,
      text: '',
      markdown: null,
      blocks: null,
      streamState: null,
      tasks: [],
      plan: null,
      ephemeralFor: VIEWER,
      reactions: [],
      deleted: false,
      via,
    };
  }

  #addExtra(view: MessageView): void {
    if (view.deleted) this.#extraMessages.delete(view.key);
    else this.#extraMessages.set(view.key, view);
    this.#broadcast('message', view);
  }

  #view(message: FakeMessage): MessageView {
    const isBot = message.botId !== undefined;
    return {
      key: `${message.ephemeral ? 'eph' : 'msg'}:${message.channel}:${message.ts}`,
      channel: message.channel,
      ts: message.ts,
      threadTs: message.threadTs ?? null,
      user: message.user ?? null,
      author: isBot ? 'bot' : 'user',
      text: message.text,
      markdown: message.markdown ?? null,
      blocks: message.blocks ?? null,
      streamState: message.streamState,
      tasks: message.tasks,
      plan: message.plan ?? null,
      ephemeralFor: message.ephemeral?.user ?? null,
      reactions: message.reactions,
      files: (message.files ?? []).map((file) => ({
        name: String((file as { name?: unknown }).name ?? 'file'),
      })),
      deleted: message.deleted === true,
      via: 'api',
    };
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
  });
  response.end(JSON.stringify(body));
}

/** Slack's client escapes these three in what people type. */
function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function truncateJson(value: unknown, max = 2_000): string {
  const json = JSON.stringify(value, null, 1) ?? '';
  return json.length > max ? `${json.slice(0, max)}…` : json;
}

/** One line about a Web API call: where it wrote and how much. */
function summarize(call: RecordedCall): string {
  const { args } = call;
  const parts: string[] = [];
  const channel = args.channel ?? args.channel_id;
  if (typeof channel === 'string') parts.push(channel);
  const ts = args.ts ?? args.thread_ts;
  if (typeof ts === 'string') parts.push(args.ts ? `ts ${ts}` : `thread ${ts}`);
  let chars = typeof args.markdown_text === 'string' ? args.markdown_text.length : 0;
  const tasks: string[] = [];
  if (Array.isArray(args.chunks)) {
    for (const chunk of args.chunks as Array<Record<string, unknown>>) {
      if (chunk.type === 'markdown_text' && typeof chunk.text === 'string') chars += chunk.text.length;
      if (chunk.type === 'task_update') tasks.push(`${String(chunk.title)} (${String(chunk.status)})`);
    }
  }
  if (call.method.endsWith('Stream') && chars > 0) parts.push(`+${chars} chars`);
  else if (typeof args.text === 'string' && args.text) parts.push(`“${args.text.slice(0, 40)}”`);
  if (tasks.length > 0) parts.push(`task: ${tasks.join(', ')}`);
  if (typeof args.status === 'string') parts.push(`status “${args.status}”`);
  if (typeof args.user === 'string') parts.push(args.user);
  return parts.join(' · ');
}
