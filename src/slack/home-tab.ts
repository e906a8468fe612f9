/**
 * The app's Home tab as a control panel. Everyone sees their own use; admins (see slack-admins.ts)
 * also pick a channel and see its settings and today's use, turn the bot on or off there, and edit
 * its settings in a modal. Every change is checked for an admin again on the server side (a
 * payload can be forged; the buttons are only what is shown), validated, stored and logged by
 * ChannelSettings. The Home tab remembers the picked channel in the view's private_metadata.
 */
import { type ChannelSettings, InvalidSettingsError } from '../conversation/channel-settings.ts';
import type { KnowledgeControls } from '../conversation/knowledge-ports.ts';
import { emptyUsage } from '../conversation/ports.ts';
import type { UsageLedger } from '../conversation/usage-ledger.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';
import {
  homeView,
  readSettingsSubmission,
  SETTINGS_ACTIONS,
  settingsModal,
  sumUsage,
} from './settings-views.ts';
import type { SlackAdmins } from './slack-admins.ts';
import type { SlackApi } from './slack-api.ts';

/** The parts of a block_actions or view_submission payload read here. */
export interface ViewPayload {
  user: { id: string; team_id?: string };
  team?: { id?: string } | null;
  trigger_id?: string;
  view?: { private_metadata?: string; state?: { values?: Record<string, Record<string, unknown>> } };
  actions?: Array<{
    action_id?: string;
    value?: string;
    selected_conversation?: string;
    selected_channel?: string;
  }>;
}

export type SubmissionAck = { response_action: 'errors'; errors: Record<string, string> } | undefined;

export const NOT_ADMIN = 'Only admins can change channel settings.';

export class HomeTab {
  readonly #slack: SlackApi;
  readonly #settings: ChannelSettings;
  readonly #usage: UsageLedger;
  readonly #admins: SlackAdmins;
  readonly #logger: Logger;
  readonly #metrics: Metrics;
  readonly #knowledge: KnowledgeControls | undefined;

  constructor(options: {
    /** Channel knowledge: its sources are listed with "Forget"; absent when learning is not set up. */
    knowledge?: KnowledgeControls;
    slack: SlackApi;
    settings: ChannelSettings;
    usage: UsageLedger;
    admins: SlackAdmins;
    logger: Logger;
    metrics: Metrics;
  }) {
    this.#slack = options.slack;
    this.#settings = options.settings;
    this.#usage = options.usage;
    this.#admins = options.admins;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#knowledge = options.knowledge;
  }

  /** Publishes `userId`'s Home tab, with `channelId`'s settings for an admin. */
  async show(teamId: string, userId: string, channelId: string | null, notice?: string): Promise<void> {
    const isAdmin = await this.#admins.isAdmin(teamId, userId);
    const [days, channel] = await Promise.all([
      this.#usage.usageOf({ kind: 'user', teamId, id: userId }, this.#usage.lastDays(7)),
      isAdmin && channelId
        ? Promise.all([
            this.#settings.get(teamId, channelId),
            this.#usage.usageOf({ kind: 'channel', teamId, id: channelId }, [this.#usage.today()]),
            this.#knowledge?.sources(teamId, channelId).catch((err: unknown) => {
              this.#logger.warn({ err }, 'could not list what the channel learned');
              return [];
            }),
          ])
        : null,
    ]);
    const view = homeView({
      isAdmin,
      adminsConfigured: this.#admins.configured,
      channel: channel
        ? {
            settings: channel[0],
            today: sumUsage(channel[1]),
            ...(channel[2] ? { sources: channel[2] } : {}),
          }
        : null,
      viewer: { today: days.at(-1) ?? emptyUsage(), week: sumUsage(days) },
      budgets: this.#usage.budgets,
      resetsIn: this.#usage.resetsIn(),
      ...(notice ? { notice } : {}),
    });
    await this.#slack.call('views.publish', { user_id: userId, view });
  }

  /** The person opened the Home tab: shown again, with the channel it showed last. */
  async opened(teamId: string, userId: string, view: ViewPayload['view']): Promise<void> {
    await this.show(teamId, userId, this.#who({ user: { id: userId, team_id: teamId }, view }).channelId);
  }

  /** A click or pick in the Home tab. */
  async onAction(payload: ViewPayload): Promise<void> {
    const { teamId, userId, channelId } = this.#who(payload);
    const action = payload.actions?.[0];
    switch (action?.action_id) {
      case SETTINGS_ACTIONS.channel:
        return this.show(teamId, userId, action.selected_conversation ?? action.selected_channel ?? null);
      case SETTINGS_ACTIONS.toggle: {
        if (!channelId) return;
        if (!(await this.#allowed(teamId, userId, channelId, 'toggle')))
          return this.show(teamId, userId, channelId, NOT_ADMIN);
        await this.#settings.change(teamId, channelId, { enabled: action.value === 'on' }, userId);
        this.#metrics.settingsChanges.inc({ result: 'changed' });
        return this.show(teamId, userId, channelId);
      }
      case SETTINGS_ACTIONS.edit: {
        if (!channelId) return;
        if (!(await this.#allowed(teamId, userId, channelId, 'edit')))
          return this.show(teamId, userId, channelId, NOT_ADMIN);
        const settings = await this.#settings.get(teamId, channelId);
        await this.#slack.call('views.open', {
          trigger_id: payload.trigger_id,
          view: settingsModal(settings, this.#settings.modelChoices),
        });
        return;
      }
      case SETTINGS_ACTIONS.forget: {
        if (!channelId || !action.value || !this.#knowledge) return;
        if (!(await this.#allowed(teamId, userId, channelId, 'forget')))
          return this.show(teamId, userId, channelId, NOT_ADMIN);
        await this.#knowledge.forgetSource(teamId, channelId, action.value);
        this.#logger.info(
          { teamId, channelId, by: userId, source: action.value },
          'channel knowledge source forgotten',
        );
        return this.show(teamId, userId, channelId);
      }
      default:
        this.#logger.debug({ actionId: action?.action_id }, 'unknown settings action');
    }
  }

  /** The settings modal was submitted: the ack for Slack (field errors keep the modal open). */
  async onSubmission(payload: ViewPayload): Promise<SubmissionAck> {
    try {
      return await this.#submit(payload);
    } catch (err) {
      // Slack needs an ack either way; the modal stays open so nothing typed is lost.
      this.#logger.error({ err }, 'could not save channel settings');
      return {
        response_action: 'errors',
        errors: { enabled: 'I could not save this just now. Please try again.' },
      };
    }
  }

  async #submit(payload: ViewPayload): Promise<SubmissionAck> {
    const { teamId, userId, channelId } = this.#who(payload);
    if (!channelId) return { response_action: 'errors', errors: { enabled: 'This modal lost its channel.' } };
    if (!(await this.#allowed(teamId, userId, channelId, 'submit')))
      return { response_action: 'errors', errors: { enabled: NOT_ADMIN } };
    const proposed = readSettingsSubmission((payload.view?.state?.values ?? {}) as never);
    try {
      await this.#settings.change(teamId, channelId, proposed, userId);
    } catch (error) {
      if (!(error instanceof InvalidSettingsError)) throw error;
      this.#metrics.settingsChanges.inc({ result: 'invalid' });
      return { response_action: 'errors', errors: error.problems as Record<string, string> };
    }
    this.#metrics.settingsChanges.inc({ result: 'changed' });
    // After the ack, so that the modal closes at once.
    setImmediate(() => {
      this.show(teamId, userId, channelId).catch((err: unknown) =>
        this.#logger.warn({ err }, 'could not refresh the Home tab'),
      );
    });
    return undefined;
  }

  async #allowed(teamId: string, userId: string, channelId: string, action: string): Promise<boolean> {
    if (await this.#admins.isAdmin(teamId, userId)) return true;
    this.#metrics.settingsChanges.inc({ result: 'refused' });
    this.#logger.warn(
      { teamId, channelId, by: userId, action },
      'channel settings change refused: not an admin',
    );
    return false;
  }

  #who(payload: ViewPayload): { teamId: string; userId: string; channelId: string | null } {
    let channelId: string | null = null;
    try {
      const metadata = JSON.parse(payload.view?.private_metadata || '{}') as { channelId?: unknown };
      if (typeof metadata.channelId === 'string' && /^[CG][A-Z0-9]+$/.test(metadata.channelId))
        channelId = metadata.channelId;
    } catch {
      // Not ours: no channel.
    }
    return { teamId: payload.user.team_id ?? payload.team?.id ?? '', userId: payload.user.id, channelId };
  }
}
