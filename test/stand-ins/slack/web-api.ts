/**
 * The Web API methods the fake Slack answers, as pure functions over a Workspace: each takes the
 * parsed arguments and returns the JSON body (`{ok: true, ...}` or `{ok: false, error}`).
 * Authentication, fault injection, rate limits and `apps.connections.open` live in FakeSlack.
 *
 * @example
 * const handler = webApiMethods['chat.postMessage'];
 * const body = handler?.(context, { channel: 'C0001', text: 'hi' }); // { ok: true, ts, ... }
 */
import type { FileStore } from './files.ts';
import {
  type FakeChannel,
  type FakeMessage,
  type FakeView,
  type StreamTask,
  tsToMicros,
  type Workspace,
} from './workspace.ts';

export interface WebApiContext {
  workspace: Workspace;
  teamId: string;
  botUserId: string;
  botId: string;
  appId?: string;
  /** False: the app is not subscribed to agent_session_stopped (setStatus warns, Stop cannot be clicked). */
  agentSessionStoppedSubscribed: boolean;
  files: FileStore;
  /** Where files are served (`url_private_download`). */
  baseUrl: string;
  /** `action_token`s this workspace put in events (assistant.search.context accepts only those). */
  actionTokens: Set<string>;
  /** The scopes the calling token was granted; null: every scope the app asks for. */
  scopes: string[] | null;
}

export type WebApiArgs = Record<string, unknown>;
export type WebApiBody = { ok: boolean; error?: string; [key: string]: unknown };
export type WebApiHandler = (context: WebApiContext, args: WebApiArgs) => WebApiBody;

/** Limits from Slack's documentation (see PLATFORM-FACTS.md). */
export const slackLimits = {
  textChars: 40_000,
  markdownChars: 12_000,
  sectionTextChars: 3_000,
  headerTextChars: 150,
  blocksPerMessage: 50,
  contextActionsElements: 5,
  /** Reported as "about 13,200" for all block text of one message together (bolt-js #2509). */
  blocksTotalTextChars: 13_200,
  /** Home tabs and modals take up to 100 blocks; `private_metadata` up to 3,000 characters. */
  blocksPerView: 100,
  privateMetadataChars: 3_000,
} as const;

const taskStatuses = new Set(['pending', 'in_progress', 'complete', 'error']);

function fail(error: string, detail?: string): WebApiBody {
  return detail === undefined
    ? { ok: false, error }
    : { ok: false, error, response_metadata: { messages: [`[ERROR] ${detail}`] } };
}

function optionalString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function present(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  return !(Array.isArray(value) && value.length === 0);
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}

type ChannelCheck = { channel: FakeChannel } | { error: WebApiBody };

/** The bot can read and write in DMs and in channels it is a member of. */
function writableChannel(context: WebApiContext, channelId: unknown): ChannelCheck {
  const channel = typeof channelId === 'string' ? context.workspace.channels.get(channelId) : undefined;
  if (!channel || (channel.isPrivate && !channel.isMember && !channel.isIm)) {
    return { error: fail('channel_not_found') };
  }
  if (!channel.isIm && !channel.isMember) return { error: fail('not_in_channel') };
  return { channel };
}

function collectTextLength(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + collectTextLength(item), 0);
  if (typeof value !== 'object' || value === null) return 0;
  let sum = 0;
  for (const [key, inner] of Object.entries(value)) {
    sum += key === 'text' && typeof inner === 'string' ? inner.length : collectTextLength(inner);
  }
  return sum;
}

/** Validates a blocks array the way chat.postMessage/chat.update/chat.stopStream do. */
export function validateBlocks(blocks: unknown): WebApiBody | undefined {
  if (!Array.isArray(blocks)) return fail('invalid_blocks', 'blocks must be a JSON array');
  if (blocks.length > slackLimits.blocksPerMessage) {
    return fail('invalid_blocks', `${blocks.length} blocks; at most ${slackLimits.blocksPerMessage}`);
  }
  let markdownChars = 0;
  for (const [index, block] of blocks.entries()) {
    if (
      typeof block !== 'object' ||
      block === null ||
      typeof (block as { type?: unknown }).type !== 'string'
    ) {
      return fail('invalid_blocks', `block ${index} has no type`);
    }
    const { type, text, elements } = block as { type: string; text?: unknown; elements?: unknown };
    const innerText =
      typeof text === 'object' && text !== null
        ? optionalString((text as { text?: unknown }).text)
        : undefined;
    if (type === 'section' && (innerText?.length ?? 0) > slackLimits.sectionTextChars) {
      return fail(
        'invalid_blocks',
        `section block ${index} text is longer than ${slackLimits.sectionTextChars}`,
      );
    }
    if (type === 'header' && (innerText?.length ?? 0) > slackLimits.headerTextChars) {
      return fail(
        'invalid_blocks',
        `header block ${index} text is longer than ${slackLimits.headerTextChars}`,
      );
    }
    if (type === 'markdown') {
      const length = typeof text === 'string' ? text.length : 0;
      markdownChars += length;
      if (length > slackLimits.markdownChars || markdownChars > slackLimits.markdownChars) {
        return fail(
          'invalid_blocks',
          `markdown block text is longer than ${slackLimits.markdownChars} in total`,
        );
      }
    }
    if (
      type === 'context_actions' &&
      Array.isArray(elements) &&
      elements.length > slackLimits.contextActionsElements
    ) {
      return fail('invalid_blocks', `context_actions block ${index} has more than 5 elements`);
    }
  }
  if (collectTextLength(blocks) > slackLimits.blocksTotalTextChars) return fail('msg_blocks_too_long');
  return undefined;
}

/** Checks a view the way views.publish / views.open do; the view with its Slack fields, or the error. */
function parseView(
  context: WebApiContext,
  raw: unknown,
  type: FakeView['type'],
  user: string,
): { view: FakeView } | { error: WebApiBody } {
  const view = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (view.type !== type) return { error: fail('invalid_arguments', `view.type must be ${type}`) };
  const blocks = view.blocks;
  if (!Array.isArray(blocks)) return { error: fail('invalid_arguments', 'view.blocks must be an array') };
  if (blocks.length > slackLimits.blocksPerView)
    return {
      error: fail('invalid_arguments', `${blocks.length} blocks; at most ${slackLimits.blocksPerView}`),
    };
  for (const [index, block] of blocks.entries()) {
    const { type: blockType, text } = (block ?? {}) as { type?: unknown; text?: { text?: unknown } };
    if (typeof blockType !== 'string')
      return { error: fail('invalid_arguments', `block ${index} has no type`) };
    if (blockType === 'section' && String(text?.text ?? '').length > slackLimits.sectionTextChars)
      return { error: fail('invalid_arguments', `section block ${index} text is longer than 3000`) };
  }
  const metadata = optionalString(view.private_metadata) ?? '';
  if (metadata.length > slackLimits.privateMetadataChars)
    return { error: fail('invalid_arguments', 'private_metadata is longer than 3000') };
  if (type === 'modal' && (typeof view.title !== 'object' || view.title === null))
    return { error: fail('invalid_arguments', 'a modal needs a title') };
  return {
    view: {
      id: context.workspace.nextViewId(),
      team_id: context.teamId,
      type,
      blocks,
      private_metadata: metadata,
      callback_id: optionalString(view.callback_id) ?? '',
      ...(view.title === undefined ? {} : { title: view.title }),
      ...(view.submit === undefined ? {} : { submit: view.submit }),
      ...(view.close === undefined ? {} : { close: view.close }),
      hash: `${Date.now()}.${Math.random().toString(36).slice(2, 10)}`,
      app_id: context.appId ?? 'A0001',
      bot_id: context.botId,
      user,
    },
  };
}

/** A view as the Web API returns it (without the stand-in's own `user`). */
function viewJson(view: FakeView): Record<string, unknown> {
  const { user: _user, ...json } = view;
  return { ...json, state: { values: {} } };
}

interface MessageContent {
  text?: string;
  blocks?: unknown[];
  markdownText?: string;
}

/** The content checks shared by postMessage, update and postEphemeral. */
function validateContent(args: WebApiArgs): { content: MessageContent } | { error: WebApiBody } {
  const text = optionalString(args.text);
  const markdownText = optionalString(args.markdown_text);
  if (present(markdownText) && (present(text) || present(args.blocks))) {
    return { error: fail('markdown_text_conflict') };
  }
  if (!present(text) && !present(args.blocks) && !present(markdownText)) return { error: fail('no_text') };
  if ((text?.length ?? 0) > slackLimits.textChars) return { error: fail('msg_too_long') };
  if ((markdownText?.length ?? 0) > slackLimits.markdownChars) return { error: fail('msg_too_long') };
  if (present(args.blocks)) {
    const blocksError = validateBlocks(args.blocks);
    if (blocksError) return { error: blocksError };
  }
  return {
    content: {
      ...(present(text) ? { text } : {}),
      ...(present(args.blocks) ? { blocks: args.blocks as unknown[] } : {}),
      ...(present(markdownText) ? { markdownText } : {}),
    },
  };
}

/** The shape conversations.replies and chat.postMessage return for a message. */
export function messageJson(
  message: FakeMessage,
  teamId: string,
  includeMetadata = false,
): Record<string, unknown> {
  return {
    type: 'message',
    ...(message.subtype ? { subtype: message.subtype } : {}),
    ...(message.user ? { user: message.user } : {}),
    ...(message.botId ? { bot_id: message.botId } : {}),
    ...(message.botId && message.botName
      ? { bot_profile: { id: message.botId, name: message.botName } }
      : {}),
    text: message.markdown ?? message.text,
    ts: message.ts,
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.files ? { files: message.files } : {}),
    ...(includeMetadata && message.metadata !== undefined ? { metadata: message.metadata } : {}),
    team: teamId,
  };
}

type ChunkCheck = { markdown: string; apply: (message: FakeMessage) => void } | { error: WebApiBody };

/** Validates markdown_text and chunks of one streaming call; `apply` writes them to the message. */
function parseStreamContent(args: WebApiArgs): ChunkCheck {
  const markdownText = optionalString(args.markdown_text) ?? '';
  const rawChunks = args.chunks ?? [];
  if (!Array.isArray(rawChunks)) return { error: fail('invalid_chunks', 'chunks must be a JSON array') };
  let markdown = markdownText;
  const tasks: StreamTask[] = [];
  let plan: { title: string } | undefined;
  const blocks: unknown[] = [];
  for (const [index, chunk] of rawChunks.entries()) {
    const c = (typeof chunk === 'object' && chunk !== null ? chunk : {}) as Record<string, unknown>;
    if (c.type === 'markdown_text' && typeof c.text === 'string') {
      markdown += c.text;
    } else if (
      c.type === 'task_update' &&
      typeof c.id === 'string' &&
      typeof c.title === 'string' &&
      typeof c.status === 'string' &&
      taskStatuses.has(c.status)
    ) {
      tasks.push(c as unknown as StreamTask);
    } else if (c.type === 'plan_update' && typeof c.title === 'string') {
      plan = { title: c.title };
    } else if (c.type === 'blocks' && Array.isArray(c.blocks)) {
      blocks.push(...c.blocks);
    } else {
      return { error: fail('invalid_chunks', `chunk ${index} is not a valid chunk`) };
    }
  }
  if (markdown.length > slackLimits.markdownChars) return { error: fail('msg_too_long') };
  return {
    markdown,
    apply: (message) => {
      message.markdown = (message.markdown ?? '') + markdown;
      message.text = message.markdown;
      for (const task of tasks) {
        const { type: _type, ...fields } = task as StreamTask & { type?: string };
        const index = message.tasks.findIndex((t) => t.id === task.id);
        if (index >= 0) message.tasks[index] = fields;
        else message.tasks.push(fields);
      }
      if (plan) message.plan = plan;
      if (blocks.length > 0) message.blocks = [...(message.blocks ?? []), ...blocks];
    },
  };
}

function openStream(
  context: WebApiContext,
  args: WebApiArgs,
): { message: FakeMessage } | { error: WebApiBody } {
  const message =
    typeof args.channel === 'string' && typeof args.ts === 'string'
      ? context.workspace.findMessage(args.channel, args.ts)
      : undefined;
  if (!message) return { error: fail('message_not_found') };
  if (message.stoppedByUser) return { error: fail('stopped_by_user') };
  context.workspace.refreshStreamState(message);
  if (message.streamState !== 'open') return { error: fail('message_not_in_streaming_state') };
  return { message };
}

function threadMessage(context: WebApiContext, args: WebApiArgs): FakeMessage | undefined {
  const channel = optionalString(args.channel);
  const ts = optionalString(args.timestamp) ?? optionalString(args.ts);
  return channel && ts ? context.workspace.findMessage(channel, ts) : undefined;
}

function botMessageFields(context: WebApiContext): Pick<FakeMessage, 'user' | 'botId'> {
  return { user: context.botUserId, botId: context.botId };
}

export const webApiMethods: Record<string, WebApiHandler> = {
  'auth.test': (context) => ({
    ok: true,
    url: 'https://fake.slack/',
    team: 'Fake Workspace',
    user: context.workspace.users.get(context.botUserId)?.name ?? 'bot',
    team_id: context.teamId,
    user_id: context.botUserId,
    bot_id: context.botId,
    is_enterprise_install: false,
  }),

  'chat.postMessage': (context, args) => {
    const checked = writableChannel(context, args.channel);
    if ('error' in checked) return checked.error;
    const validated = validateContent(args);
    if ('error' in validated) return validated.error;
    const { text, blocks, markdownText } = validated.content;
    const threadTs = optionalString(args.thread_ts);
    const { workspace } = context;
    const message = workspace.insert({
      channel: checked.channel.id,
      ts: workspace.nextTs(),
      text: markdownText ?? text ?? '',
      ...botMessageFields(context),
      ...(threadTs ? { threadTs } : {}),
      ...(blocks ? { blocks } : {}),
      ...(markdownText !== undefined ? { markdown: markdownText } : {}),
      ...(args.metadata !== undefined ? { metadata: args.metadata } : {}),
      ...(isTrue(args.reply_broadcast) ? { replyBroadcast: true } : {}),
    });
    if (threadTs) workspace.clearStatus(message.channel, threadTs);
    return {
      ok: true,
      channel: message.channel,
      ts: message.ts,
      message: messageJson(message, context.teamId),
    };
  },

  'chat.update': (context, args) => {
    const checked = writableChannel(context, args.channel);
    if ('error' in checked) return checked.error;
    const message = threadMessage(context, args);
    if (!message) return fail('message_not_found');
    if (message.botId !== context.botId) return fail('cant_update_message');
    const validated = validateContent(args);
    if ('error' in validated) return validated.error;
    const { text, blocks, markdownText } = validated.content;
    if (markdownText !== undefined) {
      message.markdown = markdownText;
      message.text = markdownText;
      delete message.blocks;
    } else {
      delete message.markdown;
      if (text !== undefined) message.text = text;
      if (blocks !== undefined) message.blocks = blocks;
    }
    if (args.metadata !== undefined) message.metadata = args.metadata;
    message.updates += 1;
    context.workspace.changed(message);
    return {
      ok: true,
      channel: message.channel,
      ts: message.ts,
      text: message.text,
      message: messageJson(message, context.teamId),
    };
  },

  'chat.postEphemeral': (context, args) => {
    const checked = writableChannel(context, args.channel);
    if ('error' in checked) return checked.error;
    const user = optionalString(args.user);
    if (!user || !context.workspace.users.has(user)) return fail('user_not_found');
    const validated = validateContent(args);
    if ('error' in validated) return validated.error;
    const { text, blocks, markdownText } = validated.content;
    const threadTs = optionalString(args.thread_ts);
    const message = context.workspace.insert({
      channel: checked.channel.id,
      ts: context.workspace.nextTs(),
      text: markdownText ?? text ?? '',
      ...botMessageFields(context),
      ...(threadTs ? { threadTs } : {}),
      ...(blocks ? { blocks } : {}),
      ...(markdownText !== undefined ? { markdown: markdownText } : {}),
      ephemeral: { user },
    });
    return { ok: true, message_ts: message.ts };
  },

  'chat.delete': (context, args) => {
    const checked = writableChannel(context, args.channel);
    if ('error' in checked) return checked.error;
    const message = threadMessage(context, args);
    if (!message) return fail('message_not_found');
    if (message.botId !== context.botId) return fail('cant_delete_message');
    context.workspace.remove(message);
    return { ok: true, channel: message.channel, ts: message.ts };
  },

  'chat.getPermalink': (context, args) => {
    const channel = optionalString(args.channel);
    const ts = optionalString(args.message_ts);
    if (!channel || !context.workspace.channels.has(channel)) return fail('channel_not_found');
    if (!ts || !context.workspace.findMessage(channel, ts)) return fail('message_not_found');
    return { ok: true, channel, permalink: `https://fake.slack/archives/${channel}/p${ts.replace('.', '')}` };
  },

  'chat.startStream': (context, args) => {
    const checked = writableChannel(context, args.channel);
    if ('error' in checked) return checked.error;
    const threadTs = optionalString(args.thread_ts);
    if (!threadTs) return fail('invalid_arguments', 'thread_ts is required');
    const recipientUserId = optionalString(args.recipient_user_id);
    const recipientTeamId = optionalString(args.recipient_team_id);
    if (!checked.channel.isIm) {
      if (!recipientUserId) return fail('missing_recipient_user_id');
      if (!recipientTeamId) return fail('missing_recipient_team_id');
    }
    const displayMode = optionalString(args.task_display_mode);
    if (displayMode !== undefined && displayMode !== 'timeline' && displayMode !== 'plan') {
      return fail('invalid_arguments', 'task_display_mode must be timeline or plan');
    }
    const content = parseStreamContent(args);
    if ('error' in content) return content.error;
    const { workspace } = context;
    const message = workspace.insert({
      channel: checked.channel.id,
      ts: workspace.nextTs(),
      text: '',
      markdown: '',
      threadTs,
      ...botMessageFields(context),
      streaming: true,
      streamState: 'open',
      streamRecipient: {
        ...(recipientUserId ? { userId: recipientUserId } : {}),
        ...(recipientTeamId ? { teamId: recipientTeamId } : {}),
      },
      ...(displayMode ? { taskDisplayMode: displayMode } : {}),
    });
    workspace.touchStream(message);
    content.apply(message);
    workspace.clearStatus(message.channel, threadTs);
    workspace.changed(message);
    return { ok: true, channel: message.channel, ts: message.ts };
  },

  'chat.appendStream': (context, args) => {
    const content = parseStreamContent(args);
    if ('error' in content) return content.error;
    const stream = openStream(context, args);
    if ('error' in stream) return stream.error;
    const { message } = stream;
    content.apply(message);
    message.appends += 1;
    context.workspace.touchStream(message);
    context.workspace.changed(message);
    return { ok: true, channel: message.channel, ts: message.ts };
  },

  'chat.stopStream': (context, args) => {
    const content = parseStreamContent(args);
    if ('error' in content) return content.error;
    if (args.blocks !== undefined) {
      const blocksError = validateBlocks(args.blocks);
      if (blocksError) return blocksError;
    }
    const stream = openStream(context, args);
    if ('error' in stream) return stream.error;
    const { message } = stream;
    if ((message.markdown?.length ?? 0) + content.markdown.length > slackLimits.markdownChars) {
      return fail('msg_too_long', `a streamed message holds at most ${slackLimits.markdownChars} characters`);
    }
    content.apply(message);
    if (Array.isArray(args.blocks)) message.blocks = [...(message.blocks ?? []), ...args.blocks];
    if (args.metadata !== undefined) message.metadata = args.metadata;
    message.streamState = 'stopped';
    message.streaming = false;
    context.workspace.changed(message);
    return {
      ok: true,
      channel: message.channel,
      ts: message.ts,
      message: messageJson(message, context.teamId),
    };
  },

  'conversations.replies': (context, args) => {
    const checked = writableChannel(context, args.channel);
    if ('error' in checked) return checked.error;
    const ts = optionalString(args.ts);
    const thread = ts ? context.workspace.thread(checked.channel.id, ts) : undefined;
    if (!thread) return fail('thread_not_found');
    const includeMetadata = isTrue(args.include_all_metadata);
    // `oldest`/`latest` bound the replies (`inclusive` keeps the bounds); the root always comes first.
    const oldest = optionalString(args.oldest);
    const latest = optionalString(args.latest);
    const inclusive = isTrue(args.inclusive);
    const inRange = (m: FakeMessage) => {
      const at = tsToMicros(m.ts);
      if (oldest && (inclusive ? at < tsToMicros(oldest) : at <= tsToMicros(oldest))) return false;
      return !(latest && (inclusive ? at > tsToMicros(latest) : at >= tsToMicros(latest)));
    };
    const all = [thread.root, ...thread.replies.filter(inRange)].map((m) =>
      messageJson(m, context.teamId, includeMetadata),
    );
    const limit = Math.max(1, Number(optionalString(args.limit) ?? 1000) || 1000);
    const offset = Number(
      Buffer.from(optionalString(args.cursor) ?? '', 'base64')
        .toString()
        .split(':')[1] ?? 0,
    );
    const page = all.slice(offset, offset + limit);
    const hasMore = offset + limit < all.length;
    return {
      ok: true,
      messages: page,
      has_more: hasMore,
      response_metadata: {
        next_cursor: hasMore ? Buffer.from(`offset:${offset + limit}`).toString('base64') : '',
      },
    };
  },

  'conversations.history': (context, args) => {
    const checked = writableChannel(context, args.channel);
    if ('error' in checked) return checked.error;
    const limit = Math.min(999, Math.max(1, Number(optionalString(args.limit) ?? 100) || 100));
    // Top-level messages only (replies stay in their threads), newest first, as Slack answers.
    const topLevel = context.workspace.messages
      .filter((m) => m.channel === checked.channel.id && !m.ephemeral && (!m.threadTs || m.threadTs === m.ts))
      .sort((a, b) => tsToMicros(b.ts) - tsToMicros(a.ts));
    const page = topLevel.slice(0, limit).map((m) => messageJson(m, context.teamId));
    return { ok: true, messages: page, has_more: topLevel.length > limit };
  },

  'conversations.info': (context, args) => {
    const channel =
      typeof args.channel === 'string' ? context.workspace.channels.get(args.channel) : undefined;
    if (!channel || (channel.isPrivate && !channel.isMember && !channel.isIm))
      return fail('channel_not_found');
    return {
      ok: true,
      channel: {
        id: channel.id,
        ...(channel.isIm ? { user: channel.user } : { name: channel.name }),
        is_channel: !channel.isIm && !channel.isPrivate,
        is_group: !channel.isIm && channel.isPrivate,
        is_im: channel.isIm,
        is_private: channel.isPrivate,
        is_member: channel.isIm || channel.isMember,
      },
    };
  },

  'users.info': (context, args) => {
    const user = typeof args.user === 'string' ? context.workspace.users.get(args.user) : undefined;
    if (!user) return fail('user_not_found');
    return {
      ok: true,
      user: {
        id: user.id,
        team_id: context.teamId,
        name: user.name,
        real_name: user.realName,
        deleted: false,
        is_bot: user.isBot,
        tz: 'UTC',
        profile: {
          display_name: user.displayName,
          real_name: user.realName,
          // Slack shows the email only to tokens granted users:read.email.
          ...(context.scopes === null || context.scopes.includes('users:read.email')
            ? { email: user.email }
            : {}),
        },
      },
    };
  },

  'reactions.add': (context, args) => {
    const message = threadMessage(context, args);
    const name = optionalString(args.name);
    if (!message) return fail('message_not_found');
    if (!name) return fail('invalid_name');
    if (message.reactions.includes(name)) return fail('already_reacted');
    message.reactions.push(name);
    context.workspace.changed(message);
    return { ok: true };
  },

  'reactions.remove': (context, args) => {
    const message = threadMessage(context, args);
    const name = optionalString(args.name);
    if (!message) return fail('message_not_found');
    const index = name ? message.reactions.indexOf(name) : -1;
    if (index < 0) return fail('no_reaction');
    message.reactions.splice(index, 1);
    context.workspace.changed(message);
    return { ok: true };
  },

  'assistant.threads.setStatus': (context, args) => {
    const channel = optionalString(args.channel_id);
    const threadTs = optionalString(args.thread_ts);
    if (!channel || !context.workspace.channels.has(channel)) return fail('channel_not_found');
    if (!threadTs) return fail('invalid_arguments', 'thread_ts is required');
    if (Array.isArray(args.loading_messages) && args.loading_messages.length > 10)
      return fail('invalid_arguments', 'at most 10 loading_messages');
    context.workspace.setStatus(channel, threadTs, optionalString(args.status) ?? '', args.loading_messages);
    return { ok: true };
  },

  'assistant.threads.setSuggestedPrompts': (context, args) => {
    const channel = optionalString(args.channel_id);
    if (!channel || !context.workspace.channels.has(channel)) return fail('channel_not_found');
    if (!Array.isArray(args.prompts) || args.prompts.length === 0 || args.prompts.length > 4) {
      return fail('invalid_arguments', 'prompts must be an array of 1 to 4 prompts');
    }
    context.workspace.setSuggestedPrompts(
      channel,
      optionalString(args.thread_ts),
      args.prompts,
      optionalString(args.title),
    );
    return { ok: true };
  },

  'views.publish': (context, args) => {
    const user = optionalString(args.user_id);
    if (!user || !context.workspace.users.has(user)) return fail('user_not_found');
    const parsed = parseView(context, args.view, 'home', user);
    if ('error' in parsed) return parsed.error;
    const previous = context.workspace.homeViews.get(user);
    const hash = optionalString(args.hash);
    // Slack refuses a publish based on an older copy of the view: a race between two updates.
    if (hash !== undefined && previous && previous.hash !== hash) return fail('hash_conflict');
    const view = previous ? { ...parsed.view, id: previous.id } : parsed.view;
    context.workspace.homeViews.set(user, view);
    return { ok: true, view: viewJson(view) };
  },

  'views.open': (context, args) => {
    const trigger = context.workspace.useTrigger(optionalString(args.trigger_id) ?? '');
    if ('error' in trigger) return fail(trigger.error);
    const parsed = parseView(context, args.view, 'modal', trigger.user);
    if ('error' in parsed) return parsed.error;
    context.workspace.modals.set(parsed.view.id, parsed.view);
    return { ok: true, view: viewJson(parsed.view) };
  },

  'views.update': (context, args) => {
    const id = optionalString(args.view_id);
    const current = id ? context.workspace.modals.get(id) : undefined;
    if (!current) return fail('not_found');
    const parsed = parseView(context, args.view, 'modal', current.user);
    if ('error' in parsed) return parsed.error;
    const view = { ...parsed.view, id: current.id };
    context.workspace.modals.set(current.id, view);
    return { ok: true, view: viewJson(view) };
  },

  'usergroups.users.list': (context, args) => {
    const group = context.workspace.usergroups.get(optionalString(args.usergroup) ?? '');
    if (!group) return fail('no_such_subteam');
    return { ok: true, users: [...group.users] };
  },

  'assistant.search.context': (context, args) => {
    const token = optionalString(args.action_token);
    if (!token) return fail('invalid_arguments', 'a bot token needs the action_token of an event');
    if (!context.actionTokens.has(token)) return fail('invalid_action_token');
    const words = (optionalString(args.query) ?? '').toLowerCase().split(/\s+/).filter(Boolean);
    const limit = Math.min(20, Number(optionalString(args.limit) ?? 20) || 20);
    // Public channels only (what a bot with search:read.public sees), people's messages.
    const found = context.workspace.messages
      .filter((m) => !m.ephemeral && !m.botId && m.user)
      .filter((m) => {
        const channel = context.workspace.channels.get(m.channel);
        return channel && !channel.isIm && !channel.isPrivate;
      })
      .filter((m) => words.length > 0 && words.every((word) => m.text.toLowerCase().includes(word)))
      .slice(0, limit);
    return {
      ok: true,
      results: {
        messages: found.map((m) => ({
          author_user_id: m.user,
          author_name: context.workspace.users.get(m.user ?? '')?.name ?? m.user,
          channel_id: m.channel,
          channel_name: context.workspace.channels.get(m.channel)?.name ?? m.channel,
          message_ts: m.ts,
          content: m.text,
          permalink: `https://fake.slack/archives/${m.channel}/p${m.ts.replace('.', '')}`,
        })),
      },
    };
  },

  'files.info': (context, args) => {
    const file = typeof args.file === 'string' ? context.files.get(args.file) : undefined;
    if (!file) return fail('file_not_found');
    return { ok: true, file: context.files.json(file, context.baseUrl) };
  },

  'agents.sessions.setStatus': (context, args) => {
    const status = optionalString(args.status);
    if (status !== 'active' && status !== 'processing' && status !== 'suspended' && status !== 'closed') {
      return fail('invalid_arguments', 'status must be active, processing, suspended or closed');
    }
    const channel = optionalString(args.channel_id);
    const threadTs = optionalString(args.thread_ts);
    if (!channel || !context.workspace.channels.has(channel)) return fail('channel_not_found');
    if (!threadTs) return fail('invalid_arguments', 'thread_ts is required for a thread-based session');
    const title = optionalString(args.title);
    if (title !== undefined && title.length > 200)
      return fail('invalid_arguments', 'title is over 200 characters');
    const initiatorUserId = optionalString(args.initiator_user_id);
    const session = context.workspace.setSessionStatus(channel, threadTs, status, {
      ...(title === undefined ? {} : { title }),
      ...(initiatorUserId === undefined ? {} : { initiatorUserId }),
    });
    return {
      ok: true,
      status: session.status,
      ...(session.title === undefined ? {} : { title: session.title }),
      ...(context.agentSessionStoppedSubscribed
        ? {}
        : { warning: 'missing_agent_session_stopped_event_subscription' }),
    };
  },

  'agents.sessions.rename': (context, args) => {
    const channel = optionalString(args.channel_id);
    const threadTs = optionalString(args.thread_ts);
    const title = optionalString(args.title);
    if (!channel || !threadTs) return fail('invalid_arguments', 'channel_id and thread_ts are required');
    const session = context.workspace.sessionOf(channel, threadTs);
    if (!session) return fail('session_not_found');
    if (!title || title.length > 200) return fail('invalid_arguments', 'title must be 1 to 200 characters');
    session.title = title;
    return { ok: true, title };
  },

  'assistant.threads.setTitle': (context, args) => {
    const channel = optionalString(args.channel_id);
    const threadTs = optionalString(args.thread_ts);
    const title = optionalString(args.title);
    if (!channel || !context.workspace.channels.has(channel)) return fail('channel_not_found');
    if (!threadTs || !title) return fail('invalid_arguments', 'thread_ts and title are required');
    context.workspace.setTitle(channel, threadTs, title);
    return { ok: true };
  },
};
