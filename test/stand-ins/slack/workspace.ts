/**
 * The state of the fake Slack workspace: channels, users, messages (including native streams),
 * reactions and assistant-thread status. FakeSlack owns one and exposes it; the Web API handlers in
 * `web-api.ts` read and change it.
 *
 * @example
 * const workspace = new Workspace({ now: Date.now, streamIdleTimeoutMs: 120_000, onChange: () => {} });
 * workspace.addChannel({ id: 'C0001', name: 'general' });
 * const root = workspace.addMessage({ channel: 'C0001', user: 'U0001', text: 'hi' });
 * workspace.threadReplies('C0001', root.ts); // []
 */

export interface FakeChannel {
  id: string;
  name: string;
  isMember: boolean;
  isPrivate: boolean;
  /** Channel ids starting with 'D' are direct messages. */
  isIm: boolean;
  /** The other person in a DM. */
  user?: string;
}

export interface FakeUser {
  id: string;
  name: string;
  realName: string;
  displayName: string;
  isBot: boolean;
  email: string;
}

export interface StreamTask {
  id: string;
  title: string;
  status: string;
  details?: string;
  output?: string;
  sources?: unknown[];
}

export type StreamState = 'open' | 'stopped' | 'expired';

/** A published Home tab or an open modal, as Slack returns it (`views.publish`, `views.open`). */
export interface FakeView {
  id: string;
  team_id: string;
  type: 'home' | 'modal';
  blocks: unknown[];
  private_metadata: string;
  callback_id: string;
  title?: unknown;
  submit?: unknown;
  close?: unknown;
  hash: string;
  app_id: string;
  bot_id: string;
  /** Who sees it. */
  user: string;
}

export interface AddUsergroupInput {
  id: string;
  handle: string;
  users: string[];
}

export interface FakeMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  user?: string;
  botId?: string;
  botName?: string;
  subtype?: string;
  files?: unknown[];
  /** Plain text; for markdown messages (streamed or markdown_text) it mirrors `markdown`. */
  text: string;
  blocks?: unknown[];
  /** Accumulated markdown_text of a stream, or the markdown_text of a posted message. */
  markdown?: string;
  metadata?: unknown;
  replyBroadcast?: boolean;
  streaming: boolean;
  streamState: StreamState | null;
  /** Set on start and every append: the idle expiry counts from here. */
  streamTouchedAtMs?: number;
  streamRecipient?: { userId?: string; teamId?: string };
  taskDisplayMode?: string;
  /** task_update chunks by id (latest wins, first-seen order). */
  tasks: StreamTask[];
  /** The latest plan_update chunk. */
  plan?: { title: string };
  /** chat.update calls applied to this message. */
  updates: number;
  /** chat.appendStream calls applied to this message. */
  appends: number;
  reactions: string[];
  ephemeral?: { user: string };
  createdAtMs: number;
  deleted?: boolean;
  /** Slack stopped this stream because a person clicked Stop: later writes to it fail. */
  stoppedByUser?: boolean;
}

export interface AddChannelInput {
  id: string;
  name: string;
  isMember?: boolean;
  isPrivate?: boolean;
  user?: string;
}

export interface AddUserInput {
  id: string;
  name: string;
  realName?: string;
  displayName?: string;
  isBot?: boolean;
  /** The profile email (users.info shows it to a token with `users:read.email`); default `<name>@example.com`. */
  email?: string;
}

export interface AddMessageInput {
  channel: string;
  user?: string;
  text: string;
  ts?: string;
  threadTs?: string;
  botId?: string;
  /** The app's name Slack shows for a bot message (`bot_profile.name`). */
  botName?: string;
  subtype?: string;
  /** File objects shared with the message (as Slack lists them). */
  files?: unknown[];
}

export interface WorkspaceOptions {
  now: () => number;
  streamIdleTimeoutMs: number;
  /** A stream ends this long after it started, however busy (Slack: about 5 minutes). */
  streamLifetimeMs?: number;
  /** Slack clears an assistant thread's status after this long without a message. */
  statusTtlMs?: number;
  onChange: (message: FakeMessage) => void;
}

/** An agent session (agents.sessions.*): one per thread. */
export interface AgentSession {
  status: 'active' | 'processing' | 'suspended' | 'closed';
  title?: string;
  initiatorUserId?: string;
  /** Every status set, oldest first. */
  history: string[];
}

interface ThreadStatus {
  status: string;
  setAtMs: number;
  loadingMessages?: unknown;
}

export function isImChannelId(channelId: string): boolean {
  return channelId.startsWith('D');
}

export function tsToMicros(ts: string): number {
  const [seconds = '0', fraction = ''] = ts.split('.');
  return Number(seconds) * 1_000_000 + Number(fraction.padEnd(6, '0').slice(0, 6));
}

function microsToTs(micros: number): string {
  return `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
}

function threadKey(channel: string, threadTs: string | undefined): string {
  return `${channel}:${threadTs ?? ''}`;
}

/** The text a person would read: markdown, else the markdown/section block text, else `text`. */
export function displayText(message: FakeMessage): string {
  if (message.markdown) return message.markdown;
  const blockTexts: string[] = [];
  for (const block of message.blocks ?? []) {
    if (typeof block !== 'object' || block === null) continue;
    const { type, text } = block as { type?: unknown; text?: unknown };
    if (type === 'markdown' && typeof text === 'string') blockTexts.push(text);
    if (type === 'section' && typeof text === 'object' && text !== null) {
      const inner = (text as { text?: unknown }).text;
      if (typeof inner === 'string') blockTexts.push(inner);
    }
  }
  return blockTexts.length > 0 ? blockTexts.join('\n') : message.text;
}

export class Workspace {
  readonly channels = new Map<string, FakeChannel>();
  readonly users = new Map<string, FakeUser>();
  readonly #messages: FakeMessage[] = [];
  readonly #statuses = new Map<string, ThreadStatus>();
  readonly #suggestedPrompts = new Map<string, { prompts: unknown; title?: string }>();
  readonly #titles = new Map<string, string>();
  /** Each person's Home tab, as last published. */
  readonly homeViews = new Map<string, FakeView>();
  /** Open modals by view id. */
  readonly modals = new Map<string, FakeView>();
  readonly usergroups = new Map<string, AddUsergroupInput>();
  /** trigger_id → who it was issued to and when (Slack: one use, within 3 seconds). */
  readonly #triggers = new Map<string, { user: string; issuedAtMs: number; used: boolean }>();
  #viewSeq = 0;
  readonly #sessions = new Map<string, AgentSession>();
  readonly #now: () => number;
  readonly #streamIdleTimeoutMs: number;
  readonly #streamLifetimeMs: number;
  readonly #statusTtlMs: number;
  readonly #onChange: (message: FakeMessage) => void;
  #lastTsMicros = 0;

  constructor(options: WorkspaceOptions) {
    this.#now = options.now;
    this.#streamIdleTimeoutMs = options.streamIdleTimeoutMs;
    this.#streamLifetimeMs = options.streamLifetimeMs ?? Number.POSITIVE_INFINITY;
    this.#statusTtlMs = options.statusTtlMs ?? 120_000;
    this.#onChange = options.onChange;
  }

  /** Every live message (deleted ones are gone), with idle streams marked expired first. */
  get messages(): FakeMessage[] {
    this.sweepExpiredStreams();
    return this.#messages;
  }

  /** A unique ts later than every earlier one, taken from the clock. */
  nextTs(): string {
    const micros = Math.max(Math.floor(this.#now()) * 1000, this.#lastTsMicros + 1);
    this.#lastTsMicros = micros;
    return microsToTs(micros);
  }

  addChannel(input: AddChannelInput): FakeChannel {
    const isIm = isImChannelId(input.id);
    const channel: FakeChannel = {
      id: input.id,
      name: input.name,
      isMember: input.isMember ?? true,
      isPrivate: input.isPrivate ?? isIm,
      isIm,
      ...(input.user === undefined ? {} : { user: input.user }),
    };
    this.channels.set(channel.id, channel);
    return channel;
  }

  addUser(input: AddUserInput): FakeUser {
    const user: FakeUser = {
      id: input.id,
      name: input.name,
      realName: input.realName ?? input.name,
      displayName: input.displayName ?? input.name,
      isBot: input.isBot ?? false,
      email: input.email ?? `${input.name}@example.com`,
    };
    this.users.set(user.id, user);
    return user;
  }

  addMessage(input: AddMessageInput): FakeMessage {
    const ts = input.ts ?? this.nextTs();
    this.#lastTsMicros = Math.max(this.#lastTsMicros, tsToMicros(ts));
    return this.insert({
      channel: input.channel,
      ts,
      text: input.text,
      ...(input.threadTs === undefined ? {} : { threadTs: input.threadTs }),
      ...(input.user === undefined ? {} : { user: input.user }),
      ...(input.botId === undefined ? {} : { botId: input.botId }),
      ...(input.botName === undefined ? {} : { botName: input.botName }),
      ...(input.files === undefined ? {} : { files: input.files }),
      ...(input.subtype === undefined ? {} : { subtype: input.subtype }),
    });
  }

  /** Stores a message with defaults for the bookkeeping fields and announces it. */
  insert(fields: Pick<FakeMessage, 'channel' | 'ts' | 'text'> & Partial<FakeMessage>): FakeMessage {
    const message: FakeMessage = {
      streaming: false,
      streamState: null,
      tasks: [],
      updates: 0,
      appends: 0,
      reactions: [],
      createdAtMs: this.#now(),
      ...fields,
    };
    this.#messages.push(message);
    this.#onChange(message);
    return message;
  }

  changed(message: FakeMessage): void {
    this.#onChange(message);
  }

  remove(message: FakeMessage): void {
    const index = this.#messages.indexOf(message);
    if (index >= 0) this.#messages.splice(index, 1);
    message.deleted = true;
    this.#onChange(message);
  }

  /** A message people can see (ephemeral ones are not addressable by ts). */
  findMessage(channel: string, ts: string): FakeMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts && !m.ephemeral);
  }

  /** Root and replies of the thread that `ts` belongs to, oldest first. */
  thread(channel: string, ts: string): { root: FakeMessage; replies: FakeMessage[] } | undefined {
    const found = this.findMessage(channel, ts);
    if (!found) return undefined;
    const rootTs = found.threadTs ?? found.ts;
    const root = this.findMessage(channel, rootTs) ?? found;
    return { root, replies: this.threadReplies(channel, root.ts) };
  }

  threadReplies(channel: string, threadTs: string): FakeMessage[] {
    return this.messages
      .filter((m) => m.channel === channel && m.threadTs === threadTs && m.ts !== threadTs && !m.ephemeral)
      .sort((a, b) => tsToMicros(a.ts) - tsToMicros(b.ts));
  }

  /** Records a write to a stream: the idle expiry counts from the latest one. */
  touchStream(message: FakeMessage): void {
    message.streamTouchedAtMs = this.#now();
  }

  /** Marks a stream expired when it was idle for the idle timeout, or has outlived the stream lifetime. */
  refreshStreamState(message: FakeMessage): void {
    if (message.streamState !== 'open') return;
    const nowMs = this.#now();
    const idleMs = nowMs - (message.streamTouchedAtMs ?? message.createdAtMs);
    if (idleMs > this.#streamIdleTimeoutMs || nowMs - message.createdAtMs > this.#streamLifetimeMs) {
      message.streamState = 'expired';
      message.streaming = false;
      this.#onChange(message);
    }
  }

  sweepExpiredStreams(): void {
    for (const message of this.#messages) this.refreshStreamState(message);
  }

  setStatus(channel: string, threadTs: string, status: string, loadingMessages?: unknown): void {
    this.#statuses.set(threadKey(channel, threadTs), { status, setAtMs: this.#now(), loadingMessages });
  }

  /** Slack clears the status when the app replies in the thread. */
  clearStatus(channel: string, threadTs: string): void {
    const current = this.#statuses.get(threadKey(channel, threadTs));
    if (current) current.status = '';
  }

  /** The status shown now: '' once cleared or expired, undefined if never set. */
  statusOf(channel: string, threadTs: string): string | undefined {
    const current = this.#statuses.get(threadKey(channel, threadTs));
    if (!current) return undefined;
    return this.#now() - current.setAtMs > this.#statusTtlMs ? '' : current.status;
  }

  setSuggestedPrompts(channel: string, threadTs: string | undefined, prompts: unknown, title?: string): void {
    this.#suggestedPrompts.set(threadKey(channel, threadTs), {
      prompts,
      ...(title === undefined ? {} : { title }),
    });
  }

  suggestedPromptsOf(channel: string, threadTs?: string): { prompts: unknown; title?: string } | undefined {
    return this.#suggestedPrompts.get(threadKey(channel, threadTs));
  }

  setTitle(channel: string, threadTs: string, title: string): void {
    this.#titles.set(threadKey(channel, threadTs), title);
  }

  /** Creates the thread's agent session if needed and sets its status; a title counts only on creation. */
  setSessionStatus(
    channel: string,
    threadTs: string,
    status: AgentSession['status'],
    creation: { title?: string; initiatorUserId?: string },
  ): AgentSession {
    const key = threadKey(channel, threadTs);
    const session = this.#sessions.get(key) ?? {
      status,
      history: [],
      ...(creation.title === undefined ? {} : { title: creation.title }),
      ...(creation.initiatorUserId === undefined ? {} : { initiatorUserId: creation.initiatorUserId }),
    };
    session.status = status;
    session.history.push(status);
    this.#sessions.set(key, session);
    return session;
  }

  sessionOf(channel: string, threadTs: string): AgentSession | undefined {
    return this.#sessions.get(threadKey(channel, threadTs));
  }

  titleOf(channel: string, threadTs: string): string | undefined {
    return this.#titles.get(threadKey(channel, threadTs));
  }

  addUsergroup(input: AddUsergroupInput): void {
    this.usergroups.set(input.id, { ...input, users: [...input.users] });
  }

  nextViewId(): string {
    this.#viewSeq += 1;
    return `V${String(this.#viewSeq).padStart(10, '0')}`;
  }

  /** A trigger_id for an interaction by `user` (what Slack puts in block_actions and commands). */
  issueTrigger(user: string): string {
    const id = `${Math.floor(this.#now() / 1000)}.${this.#viewSeq}.${Math.random().toString(16).slice(2, 18)}`;
    this.#triggers.set(id, { user, issuedAtMs: this.#now(), used: false });
    return id;
  }

  /** Uses a trigger_id once: the person it was issued to, or why not. */
  useTrigger(id: string): { user: string } | { error: 'invalid_trigger_id' | 'expired_trigger_id' } {
    const trigger = this.#triggers.get(id);
    if (!trigger || trigger.used) return { error: 'invalid_trigger_id' };
    if (this.#now() - trigger.issuedAtMs > 3_000) return { error: 'expired_trigger_id' };
    trigger.used = true;
    return { user: trigger.user };
  }
}
