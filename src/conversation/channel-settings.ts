/**
 * Per-channel settings: what admins changed for a channel (kept in the store, shared by every
 * replica), over the defaults from the environment. Each replica keeps a channel's settings for a
 * short while (`CHANNEL_SETTINGS_CACHE_MS`), so answering costs no store read most of the time and
 * a change reaches every replica within that time (the replica that made it at once). Every change
 * is validated, applied atomically and logged with who, when, before and after.
 */
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import type { Logger } from '../logger.ts';
import type { ConversationStore, StoredChannelSettings } from './ports.ts';

export type ThreadReplyPolicy = 'all' | 'participants' | 'mention-only';
export type ServiceTier = 'priority' | 'default' | 'flex';

/** What a channel's answers follow. */
export interface ChannelSettingsValues {
  /** Off: the bot answers nobody in the channel (the asker is told why). */
  enabled: boolean;
  modelId: string;
  systemPrompt: string;
  /** Null: plain model answers, no Knowledge Base. */
  knowledgeBaseId: string | null;
  kbMode: 'managed' | 'retrieve';
  threadReplyPolicy: ThreadReplyPolicy;
  /** Null: Bedrock's default tier (none sent). */
  serviceTier: ServiceTier | null;
  /** The tools the model may use here, by name; null: every tool the bot has; empty: none. */
  tools: string[] | null;
  /** The Knowledge Base retrieves as the asker (their email as `userContext`), not with the bot's rights. */
  kbUserContext: boolean;
  /** Channel knowledge: learn from the files shared here (switching it off forgets them). */
  learnFromFiles: boolean;
  /** Channel knowledge: learn from the bot's answered threads here. */
  learnFromAnswers: boolean;
}

export type SettingField = keyof ChannelSettingsValues;

export const SETTING_FIELDS: readonly SettingField[] = [
  'enabled',
  'modelId',
  'systemPrompt',
  'knowledgeBaseId',
  'kbMode',
  'threadReplyPolicy',
  'serviceTier',
  'tools',
  'kbUserContext',
  'learnFromFiles',
  'learnFromAnswers',
];

export interface EffectiveChannelSettings extends ChannelSettingsValues {
  teamId: string;
  channelId: string;
  /** Fields set for this channel; every other one is the default. */
  overridden: SettingField[];
  updatedBy: string | null;
  updatedAtMs: number | null;
}

/**
 * The modal's input can hold no more: Slack's plain_text_input takes max_length 1..3,000
 * (docs.slack.dev, plain-text input element). A longer prompt for every channel goes in SYSTEM_PROMPT.
 */
export const SYSTEM_PROMPT_MAX_CHARS = 3_000;

/** Thrown for a change that is not valid; `problems` are sentences an admin can act on. */
export class InvalidSettingsError extends Error {
  override readonly name = 'InvalidSettingsError';
  readonly problems: Partial<Record<SettingField, string>>;
  constructor(problems: Partial<Record<SettingField, string>>) {
    super(`Invalid channel settings: ${Object.values(problems).join(' ')}`);
    this.problems = problems;
  }
}

export interface ChannelSettingsOptions {
  store: ConversationStore;
  defaults: ChannelSettingsValues;
  /** The models admins may choose (the default one among them). */
  modelChoices: string[];
  cacheTtlMs: number;
  logger: Logger;
  now?: () => number;
  /** Told of every change after it was stored (channel knowledge forgets what a channel stops learning). */
  onChange?: (change: { before: EffectiveChannelSettings; after: EffectiveChannelSettings }) => void;
}

export class ChannelSettings {
  readonly #options: ChannelSettingsOptions;
  readonly #now: () => number;
  readonly #schemas: { [F in SettingField]: z.ZodType<ChannelSettingsValues[F]> };
  readonly #cache: LRUCache<string, EffectiveChannelSettings> | null;

  constructor(options: ChannelSettingsOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#cache =
      options.cacheTtlMs > 0
        ? new LRUCache({ max: 10_000, ttl: options.cacheTtlMs, ttlAutopurge: false })
        : null;
    const choices = options.modelChoices;
    this.#schemas = {
      enabled: z.boolean(),
      modelId: z
        .string()
        .refine((id) => choices.includes(id), 'is not one of the models offered (BEDROCK_MODEL_CHOICES).'),
      systemPrompt: z
        .string()
        .trim()
        .min(1, 'must not be empty.')
        .max(
          SYSTEM_PROMPT_MAX_CHARS,
          `must be at most ${SYSTEM_PROMPT_MAX_CHARS.toLocaleString('en-US')} characters.`,
        ),
      knowledgeBaseId: z
        .string()
        .regex(/^[0-9A-Za-z]{10}$/, 'must be a Knowledge Base id: ten letters and digits.')
        .nullable(),
      kbMode: z.enum(['managed', 'retrieve']),
      threadReplyPolicy: z.enum(['all', 'participants', 'mention-only']),
      serviceTier: z.enum(['priority', 'default', 'flex']).nullable(),
      tools: z
        .array(
          z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'names tools by their names (letters, digits, - and _).'),
        )
        .max(50)
        .nullable(),
      kbUserContext: z.boolean(),
      learnFromFiles: z.boolean(),
      learnFromAnswers: z.boolean(),
    };
  }

  get defaults(): ChannelSettingsValues {
    return { ...this.#options.defaults };
  }

  get modelChoices(): string[] {
    return [...this.#options.modelChoices];
  }

  /** The settings answers in this channel follow (direct messages always follow the defaults). */
  async get(teamId: string, channelId: string): Promise<EffectiveChannelSettings> {
    if (channelId.startsWith('D')) return this.#effective(teamId, channelId, null);
    const key = `${teamId}:${channelId}`;
    const cached = this.#cache?.get(key);
    if (cached) return cached;
    const stored = await this.#options.store.getChannelSettings(teamId, channelId);
    const settings = this.#effective(teamId, channelId, stored);
    this.#cache?.set(key, settings);
    return settings;
  }

  /**
   * Applies `proposed` for the channel as `by`: a value equal to the default clears the field, so
   * the channel follows later changes of the default. Throws InvalidSettingsError, changing nothing.
   */
  async change(
    teamId: string,
    channelId: string,
    proposed: Partial<ChannelSettingsValues>,
    by: string,
  ): Promise<{ before: EffectiveChannelSettings; after: EffectiveChannelSettings }> {
    const problems: Partial<Record<SettingField, string>> = {};
    const patch: Record<string, unknown> = {};
    for (const field of SETTING_FIELDS) {
      if (!(field in proposed)) continue;
      const parsed = this.#schemas[field].safeParse(proposed[field]);
      if (!parsed.success) {
        problems[field] = `${LABELS[field]} ${parsed.error.issues[0]?.message ?? 'is not valid.'}`;
        continue;
      }
      patch[field] = parsed.data === this.#options.defaults[field] ? null : parsed.data;
    }
    if (Object.keys(problems).length > 0) throw new InvalidSettingsError(problems);
    const atMs = this.#now();
    const { before, after } = await this.#options.store.updateChannelSettings(teamId, channelId, patch, {
      by,
      atMs,
    });
    const change = {
      before: this.#effective(teamId, channelId, before),
      after: this.#effective(teamId, channelId, after),
    };
    this.#cache?.set(`${teamId}:${channelId}`, change.after);
    this.#options.onChange?.(change);
    // The change log: one line per change, with everything needed to see or undo it.
    this.#options.logger.info(
      {
        teamId,
        channelId,
        by,
        at: new Date(atMs).toISOString(),
        changed: SETTING_FIELDS.filter((field) => change.before[field] !== change.after[field]),
        before: pick(change.before),
        after: pick(change.after),
      },
      'channel settings changed',
    );
    return change;
  }

  #effective(
    teamId: string,
    channelId: string,
    stored: StoredChannelSettings | null,
  ): EffectiveChannelSettings {
    const values: ChannelSettingsValues = { ...this.#options.defaults };
    const overridden: SettingField[] = [];
    for (const field of SETTING_FIELDS) {
      if (!stored || !(field in stored.values)) continue;
      const parsed = this.#schemas[field].safeParse(stored.values[field]);
      if (parsed.success) {
        (values as unknown as Record<string, unknown>)[field] = parsed.data;
        overridden.push(field);
      } else {
        // E.g. a model no longer offered: the channel falls back to the default until an admin picks again.
        this.#options.logger.warn(
          { teamId, channelId, field },
          'stored channel setting is no longer valid; using the default',
        );
      }
    }
    return {
      ...values,
      teamId,
      channelId,
      overridden,
      updatedBy: stored?.updatedBy ?? null,
      updatedAtMs: stored?.updatedAtMs ?? null,
    };
  }
}

/** How each setting is named to people. */
export const LABELS: Record<SettingField, string> = {
  enabled: 'Answers',
  modelId: 'Model',
  systemPrompt: 'System prompt',
  knowledgeBaseId: 'Knowledge Base',
  kbMode: 'Knowledge Base mode',
  threadReplyPolicy: 'Thread replies',
  serviceTier: 'Service tier',
  tools: 'Tools',
  kbUserContext: 'Knowledge Base access',
  learnFromFiles: 'Learn from files shared here',
  learnFromAnswers: 'Learn from answered threads here',
};

function pick(settings: EffectiveChannelSettings): ChannelSettingsValues {
  return Object.fromEntries(
    SETTING_FIELDS.map((field) => [field, settings[field]]),
  ) as unknown as ChannelSettingsValues;
}
