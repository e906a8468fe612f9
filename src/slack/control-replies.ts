/**
 * `/ask settings` and `/ask usage`: what answers follow in this channel, and the asker's own use,
 * shown to the asker only (through the command's response_url).
 */
import type { ChannelSettings } from '../conversation/channel-settings.ts';
import type { UsageLedger } from '../conversation/usage-ledger.ts';
import { settingsText, sumUsage, usageText } from './settings-views.ts';

export type ControlCommand = 'settings' | 'usage';

/** The subcommand `/ask <text>` names, or null for a question. */
export function controlCommandOf(text: string): ControlCommand | null {
  const word = text.trim().toLowerCase();
  return word === 'settings' || word === 'usage' ? word : null;
}

export class ControlReplies {
  readonly #settings: ChannelSettings;
  readonly #usage: UsageLedger;
  readonly #post: (url: string, body: Record<string, unknown>) => Promise<void>;

  constructor(options: {
    settings: ChannelSettings;
    usage: UsageLedger;
    postToResponseUrl: (url: string, body: Record<string, unknown>) => Promise<void>;
  }) {
    this.#settings = options.settings;
    this.#usage = options.usage;
    this.#post = options.postToResponseUrl;
  }

  async reply(
    which: ControlCommand,
    command: { team_id: string; channel_id: string; user_id: string; response_url: string },
  ): Promise<void> {
    const text =
      which === 'settings'
        ? settingsText(await this.#settings.get(command.team_id, command.channel_id))
        : await this.#usageText(command.team_id, command.user_id);
    await this.#post(command.response_url, {
      response_type: 'ephemeral',
      // The fallback of a notification; the section is what people read.
      text: which === 'settings' ? 'How I answer here' : 'Your use of me',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }],
    });
  }

  async #usageText(teamId: string, userId: string): Promise<string> {
    const days = await this.#usage.usageOf({ kind: 'user', teamId, id: userId }, this.#usage.lastDays(7));
    return usageText({
      today: days.at(-1) ?? sumUsage([]),
      week: sumUsage(days),
      budgets: this.#usage.budgets,
      resetsIn: this.#usage.resetsIn(),
    });
  }
}
