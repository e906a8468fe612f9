/**
 * Block Kit for control and cost: the Home tab (admins pick a channel, see and change its
 * settings and today's use; everyone sees their own use), the settings modal and reading its
 * submission, and the texts of `/ask settings` and `/ask usage`. Pure functions: no Slack calls.
 * Everything that comes from people (system prompts, model ids) is escaped for mrkdwn.
 */
import {
  type ChannelSettingsValues,
  type EffectiveChannelSettings,
  LABELS,
  SYSTEM_PROMPT_MAX_CHARS,
} from '../conversation/channel-settings.ts';
import type { SourceRecord } from '../conversation/knowledge-ports.ts';
import { emptyUsage, type UsageTotals } from '../conversation/ports.ts';
import type { Budgets } from '../conversation/usage-ledger.ts';
import { escapeMrkdwn } from './render/slack-safe-text.ts';

export const SETTINGS_ACTIONS = {
  channel: 'settings_channel',
  toggle: 'settings_toggle',
  edit: 'settings_edit',
  forget: 'settings_forget',
} as const;
export const SETTINGS_MODAL_CALLBACK = 'channel_settings';

type Block = Record<string, unknown>;
const plain = (text: string) => ({ type: 'plain_text', text, emoji: true });
const mrkdwn = (text: string) => ({ type: 'mrkdwn', text });
const option = (text: string, value: string) => ({ text: plain(text), value });

const POLICY_NAMES: Record<ChannelSettingsValues['threadReplyPolicy'], string> = {
  participants: 'people who asked me there',
  all: 'everyone in the thread',
  'mention-only': 'only when mentioned',
};
const KB_ACCESS_NAMES = {
  bot: 'what the bot may see',
  asker: 'only what the asker may see (their email)',
} as const;
const TIER_NAMES = {
  none: "Bedrock's default",
  priority: 'priority',
  default: 'default',
  flex: 'flex',
} as const;

export function formatUsd(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`;
}

const count = (n: number) => n.toLocaleString('en-US');

/** "3 answers, 12,345 tokens in (10,000 from the prompt cache), 678 out, about $0.0123". */
export function usageLine(usage: UsageTotals): string {
  if (usage.answers === 0) return 'no answers';
  const input = usage.inputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
  const cached = usage.cacheReadTokens > 0 ? ` (${count(usage.cacheReadTokens)} from the prompt cache)` : '';
  return `${count(usage.answers)} answer${usage.answers === 1 ? '' : 's'}, ${count(input)} tokens in${cached}, ${count(usage.outputTokens)} out, about ${formatUsd(usage.costMicroUsd / 1_000_000)}`;
}

export function sumUsage(days: UsageTotals[]): UsageTotals {
  return days.reduce<UsageTotals>(
    (sum, day) => ({
      answers: sum.answers + day.answers,
      inputTokens: sum.inputTokens + day.inputTokens,
      outputTokens: sum.outputTokens + day.outputTokens,
      cacheReadTokens: sum.cacheReadTokens + day.cacheReadTokens,
      cacheWriteTokens: sum.cacheWriteTokens + day.cacheWriteTokens,
      costMicroUsd: sum.costMicroUsd + day.costMicroUsd,
    }),
    emptyUsage(),
  );
}

function when(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Each setting as a person reads it (mrkdwn, escaped). */
function settingLines(settings: EffectiveChannelSettings): Array<[string, string]> {
  const prompt =
    settings.systemPrompt.length > 300 ? `${settings.systemPrompt.slice(0, 300)}…` : settings.systemPrompt;
  return [
    [LABELS.enabled, settings.enabled ? 'on' : '*off*'],
    [LABELS.modelId, `\`${escapeMrkdwn(settings.modelId)}\``],
    [
      LABELS.knowledgeBaseId,
      settings.knowledgeBaseId
        ? `\`${escapeMrkdwn(settings.knowledgeBaseId)}\` (${settings.kbMode} mode)`
        : 'none',
    ],
    [LABELS.kbUserContext, KB_ACCESS_NAMES[settings.kbUserContext ? 'asker' : 'bot']],
    [LABELS.threadReplyPolicy, POLICY_NAMES[settings.threadReplyPolicy]],
    [LABELS.serviceTier, TIER_NAMES[settings.serviceTier ?? 'none']],
    [
      LABELS.tools,
      settings.tools === null
        ? 'all the tools I have'
        : settings.tools.length === 0
          ? 'none'
          : toolsLine(settings.tools),
    ],
    [LABELS.learnFromFiles, settings.learnFromFiles ? 'on' : 'off'],
    [LABELS.learnFromAnswers, settings.learnFromAnswers ? 'on' : 'off'],
    [LABELS.systemPrompt, `“${escapeMrkdwn(prompt)}”`],
  ];
}

/** A section field holds at most 2,000 characters (docs.slack.dev, section block): 50 long tool names do not fit. */
const TOOLS_LINE_MAX_CHARS = 1_000;

/** The enabled tools, as many as fit, then how many more. */
function toolsLine(tools: string[]): string {
  const shown: string[] = [];
  let length = 0;
  for (const tool of tools) {
    const item = `\`${escapeMrkdwn(tool)}\``;
    if (length + item.length + 2 > TOOLS_LINE_MAX_CHARS) break;
    shown.push(item);
    length += item.length + 2;
  }
  const more = tools.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function changedNote(settings: EffectiveChannelSettings): string {
  const changed = settings.overridden.map((field) => LABELS[field]);
  const which =
    changed.length > 0
      ? `Set for this channel: ${changed.join(', ')}; the rest are the defaults.`
      : 'All defaults.';
  const by =
    settings.updatedBy && settings.updatedAtMs !== null
      ? ` Last changed by <@${settings.updatedBy}> on ${when(settings.updatedAtMs)}.`
      : '';
  return `${which}${by}`;
}

export interface HomeViewInput {
  isAdmin: boolean;
  adminsConfigured: boolean;
  /** The channel an admin picked, with its settings and use today. */
  channel: {
    settings: EffectiveChannelSettings;
    today: UsageTotals;
    /** What the channel learned from (channel knowledge); absent when learning is not set up. */
    sources?: SourceRecord[];
  } | null;
  viewer: { today: UsageTotals; week: UsageTotals };
  budgets: Budgets;
  resetsIn: string;
  /** Why the last change did not happen, shown once. */
  notice?: string;
}

export function homeView(input: HomeViewInput): Record<string, unknown> {
  const blocks: Block[] = [{ type: 'header', text: plain('Bedrock Assistant') }];
  if (input.notice)
    blocks.push({ type: 'context', elements: [mrkdwn(`:warning: ${escapeMrkdwn(input.notice)}`)] });
  if (input.isAdmin) {
    blocks.push({
      type: 'section',
      block_id: 'channel',
      text: mrkdwn('*Channel settings.* Pick a channel to see and change how I answer there.'),
      accessory: {
        type: 'conversations_select',
        action_id: SETTINGS_ACTIONS.channel,
        placeholder: plain('Choose a channel'),
        filter: { include: ['public', 'private'], exclude_bot_users: true },
        ...(input.channel ? { initial_conversation: input.channel.settings.channelId } : {}),
      },
    });
    if (input.channel) blocks.push(...channelBlocks(input.channel, input.budgets));
  } else {
    blocks.push({
      type: 'section',
      text: mrkdwn(
        input.adminsConfigured
          ? 'Channel settings are changed here by admins. `/ask settings` in a channel shows how I answer there.'
          : 'Nobody can change channel settings yet: name admins with `SETTINGS_ADMIN_USER_IDS` or `SETTINGS_ADMIN_USERGROUP_ID`. `/ask settings` in a channel shows how I answer there.',
      ),
    });
  }
  blocks.push({ type: 'divider' });
  const budget = input.budgets.userDailyUsd;
  blocks.push({
    type: 'section',
    block_id: 'your_usage',
    text: mrkdwn(
      [
        `*Your use* (estimated from the tokens the model reported)`,
        `Today (UTC): ${usageLine(input.viewer.today)}`,
        `Last 7 days: ${usageLine(input.viewer.week)}`,
        budget === null
          ? 'No daily budget.'
          : `Your daily budget: ${formatUsd(budget)}; it resets at midnight UTC, ${input.resetsIn}.`,
      ].join('\n'),
    ),
  });
  return {
    type: 'home',
    blocks,
    private_metadata: JSON.stringify({ channelId: input.channel?.settings.channelId ?? null }),
  };
}

function channelBlocks(channel: NonNullable<HomeViewInput['channel']>, budgets: Budgets): Block[] {
  const { settings, today } = channel;
  const budget = budgets.channelDailyUsd;
  return [
    {
      type: 'section',
      block_id: 'settings',
      text: mrkdwn(`*How I answer in <#${settings.channelId}>*`),
      fields: settingLines(settings).map(([label, value]) => mrkdwn(`*${label}*\n${value}`)),
    },
    { type: 'context', elements: [mrkdwn(changedNote(settings))] },
    {
      type: 'actions',
      block_id: 'settings_actions',
      elements: [
        {
          type: 'button',
          action_id: SETTINGS_ACTIONS.toggle,
          text: plain(settings.enabled ? 'Turn off here' : 'Turn on here'),
          value: settings.enabled ? 'off' : 'on',
          ...(settings.enabled ? { style: 'danger' } : { style: 'primary' }),
        },
        {
          type: 'button',
          action_id: SETTINGS_ACTIONS.edit,
          text: plain('Edit settings'),
          value: settings.channelId,
        },
      ],
    },
    ...(channel.sources ? sourceBlocks(channel.sources) : []),
    {
      type: 'section',
      block_id: 'channel_usage',
      text: mrkdwn(
        `*Today in this channel:* ${usageLine(today)}.${budget === null ? '' : ` Daily budget: ${formatUsd(budget)}.`}`,
      ),
    },
  ];
}

/** Most sources listed in the Home tab (Block Kit allows 100 blocks in a view). */
const SOURCES_SHOWN = 20;

/** What the channel learned from: each source's name, passages and when, with "Forget". */
function sourceBlocks(sources: SourceRecord[]): Block[] {
  const blocks: Block[] = [
    {
      type: 'section',
      block_id: 'knowledge',
      text: mrkdwn(
        sources.length === 0
          ? '*What I learned here:* nothing yet.'
          : `*What I learned here* (${sources.length.toLocaleString('en-US')} source${sources.length === 1 ? '' : 's'})`,
      ),
    },
  ];
  for (const source of sources.slice(0, SOURCES_SHOWN)) {
    // Slack wants block ids unique in a view; the source's id names it.
    const blockId = `source:${source.id}`.slice(0, 255);
    const name = escapeMrkdwn(source.title.replace(/\s+/g, ' '));
    const label = source.url ? `<${source.url.replace(/[<>|]/g, '')}|${name}>` : name;
    const kind = source.kind === 'file' ? 'file' : 'answered thread';
    blocks.push({
      type: 'section',
      block_id: blockId,
      text: mrkdwn(
        `${label}\n${kind}, ${source.chunks.toLocaleString('en-US')} passage${source.chunks === 1 ? '' : 's'}, learned ${when(source.indexedAtMs)}`,
      ),
      accessory: {
        type: 'button',
        action_id: SETTINGS_ACTIONS.forget,
        text: plain('Forget'),
        value: source.id.slice(0, 2000),
        confirm: {
          title: plain('Forget this source?'),
          text: plain('I will no longer use it to answer in this channel.'),
          confirm: plain('Forget'),
          deny: plain('Keep'),
        },
      },
    });
  }
  if (sources.length > SOURCES_SHOWN)
    blocks.push({
      type: 'context',
      elements: [mrkdwn(`…and ${(sources.length - SOURCES_SHOWN).toLocaleString('en-US')} more.`)],
    });
  return blocks;
}

/** The modal an admin edits a channel's settings in: it shows what answers follow now. */
export function settingsModal(
  settings: EffectiveChannelSettings,
  modelChoices: string[],
): Record<string, unknown> {
  const select = (
    field: string,
    label: string,
    options: Array<[string, string]>,
    current: string,
    hint?: string,
  ) => ({
    type: 'input',
    block_id: field,
    label: plain(label),
    ...(hint ? { hint: plain(hint) } : {}),
    element: {
      type: 'static_select',
      action_id: field,
      options: options.map(([text, value]) => option(text, value)),
      initial_option: option(options.find(([, value]) => value === current)?.[0] ?? current, current),
    },
  });
  const models = modelChoices.slice(0, 100).map((id): [string, string] => [id.slice(0, 75), id]);
  return {
    type: 'modal',
    callback_id: SETTINGS_MODAL_CALLBACK,
    private_metadata: JSON.stringify({ channelId: settings.channelId }),
    title: plain('Channel settings'),
    submit: plain('Save'),
    close: plain('Cancel'),
    blocks: [
      { type: 'section', text: mrkdwn(`How I answer in <#${settings.channelId}>. ${changedNote(settings)}`) },
      select(
        'enabled',
        LABELS.enabled,
        [
          ['On', 'on'],
          ['Off', 'off'],
        ],
        settings.enabled ? 'on' : 'off',
      ),
      select('modelId', LABELS.modelId, models, settings.modelId),
      {
        type: 'input',
        block_id: 'systemPrompt',
        label: plain(LABELS.systemPrompt),
        element: {
          type: 'plain_text_input',
          action_id: 'systemPrompt',
          multiline: true,
          max_length: SYSTEM_PROMPT_MAX_CHARS,
          initial_value: settings.systemPrompt,
        },
      },
      {
        type: 'input',
        block_id: 'knowledgeBaseId',
        optional: true,
        label: plain(LABELS.knowledgeBaseId),
        hint: plain('A Knowledge Base id (ten letters and digits); empty for plain model answers.'),
        element: {
          type: 'plain_text_input',
          action_id: 'knowledgeBaseId',
          ...(settings.knowledgeBaseId ? { initial_value: settings.knowledgeBaseId } : {}),
        },
      },
      select(
        'kbMode',
        LABELS.kbMode,
        [
          ['managed (RetrieveAndGenerate)', 'managed'],
          ['retrieve (Retrieve, then the model)', 'retrieve'],
        ],
        settings.kbMode,
      ),
      select(
        'kbUserContext',
        LABELS.kbUserContext,
        Object.entries(KB_ACCESS_NAMES).map(([value, text]): [string, string] => [text, value]),
        settings.kbUserContext ? 'asker' : 'bot',
        'With document-level access control: retrieval as the person asking.',
      ),
      select(
        'threadReplyPolicy',
        LABELS.threadReplyPolicy,
        Object.entries(POLICY_NAMES).map(([value, text]): [string, string] => [text, value]),
        settings.threadReplyPolicy,
        'Who gets an answer in a thread without mentioning me.',
      ),
      select(
        'serviceTier',
        LABELS.serviceTier,
        Object.entries(TIER_NAMES).map(([value, text]): [string, string] => [text, value]),
        settings.serviceTier ?? 'none',
      ),
      {
        type: 'input',
        block_id: 'tools',
        optional: true,
        label: plain(LABELS.tools),
        hint: plain(
          'Tool names, comma-separated (e.g. shop__order_status); empty for all the tools I have; none for none.',
        ),
        element: {
          type: 'plain_text_input',
          action_id: 'tools',
          ...(settings.tools === null
            ? {}
            : { initial_value: settings.tools.length === 0 ? 'none' : settings.tools.join(', ') }),
        },
      },
      ...(['learnFromFiles', 'learnFromAnswers'] as const).map((field) =>
        select(
          field,
          LABELS[field],
          [
            ['On', 'on'],
            ['Off (and forget what was learned)', 'off'],
          ],
          settings[field] ? 'on' : 'off',
        ),
      ),
    ],
  };
}

type StateValues = Record<
  string,
  Record<string, { value?: string | null; selected_option?: { value?: string } | null }>
>;

/** The settings a submitted modal proposes (every field it shows). */
export function readSettingsSubmission(values: StateValues): Partial<ChannelSettingsValues> {
  const picked = (field: string) => values[field]?.[field]?.selected_option?.value;
  const typed = (field: string) => values[field]?.[field]?.value ?? null;
  const proposed: Record<string, unknown> = {};
  const enabled = picked('enabled');
  if (enabled !== undefined) proposed.enabled = enabled === 'on';
  for (const field of ['modelId', 'kbMode', 'threadReplyPolicy'] as const) {
    const value = picked(field);
    if (value !== undefined) proposed[field] = value;
  }
  const access = picked('kbUserContext');
  if (access !== undefined) proposed.kbUserContext = access === 'asker';
  for (const field of ['learnFromFiles', 'learnFromAnswers'] as const) {
    const value = picked(field);
    if (value !== undefined) proposed[field] = value === 'on';
  }
  const tier = picked('serviceTier');
  if (tier !== undefined) proposed.serviceTier = tier === 'none' ? null : tier;
  if ('systemPrompt' in values) proposed.systemPrompt = typed('systemPrompt') ?? '';
  if ('knowledgeBaseId' in values) proposed.knowledgeBaseId = typed('knowledgeBaseId')?.trim() || null;
  if ('tools' in values) {
    const named = (typed('tools') ?? '').trim();
    proposed.tools =
      named === ''
        ? null
        : named === 'none'
          ? []
          : named
              .split(',')
              .map((tool) => tool.trim())
              .filter(Boolean);
  }
  return proposed as Partial<ChannelSettingsValues>;
}

/** `/ask settings`: how the bot answers in this channel (mrkdwn). */
export function settingsText(settings: EffectiveChannelSettings): string {
  const where = settings.channelId.startsWith('D') ? 'in direct messages' : `in <#${settings.channelId}>`;
  const lines = settingLines(settings).map(([label, value]) => `• *${label}:* ${value}`);
  const note = settings.channelId.startsWith('D')
    ? 'Direct messages follow the defaults.'
    : `${changedNote(settings)} Admins change these in my Home tab.`;
  return [`*How I answer ${where}*`, ...lines, `_${note}_`].join('\n');
}

/** `/ask usage`: the person's own use (mrkdwn). */
export function usageText(input: {
  today: UsageTotals;
  week: UsageTotals;
  budgets: Budgets;
  resetsIn: string;
}): string {
  const budget = input.budgets.userDailyUsd;
  return [
    '*Your use of me* (estimated from the tokens the model reported)',
    `• *Today (UTC):* ${usageLine(input.today)}`,
    `• *Last 7 days:* ${usageLine(input.week)}`,
    budget === null
      ? '• No daily budget.'
      : `• *Daily budget:* ${formatUsd(budget)}; it resets at midnight UTC, ${input.resetsIn}.`,
  ].join('\n');
}
