/**
 * The built-in `search_slack` tool: Slack's Real-time Search API (`assistant.search.context`) with
 * the asking event's `action_token`, so results are limited to what that person may see. Messages
 * come back with their permalinks as sources. Bot scope `search:read.public` (and friends).
 */
import type { BuiltInTool, ToolCallOptions, ToolOutcome, ToolSpec } from '../conversation/ports.ts';
import type { SlackApi } from './slack-api.ts';

const SPEC: ToolSpec = {
  name: 'search_slack',
  title: 'Search Slack',
  description:
    'Searches messages in this Slack workspace that the person asking may see. Use it for what people said or decided in Slack.',
  inputSchema: {
    type: 'object',
    properties: { query: { type: 'string', description: 'What to look for, in a few words' } },
    required: ['query'],
  },
  needsApproval: false,
};

interface SearchResult {
  results?: {
    messages?: Array<{ author_name?: string; channel_name?: string; content?: string; permalink?: string }>;
  };
}

export class SlackSearchTool implements BuiltInTool {
  readonly spec = SPEC;
  readonly #slack: SlackApi;

  constructor(slack: SlackApi) {
    this.#slack = slack;
  }

  async run(input: unknown, options: ToolCallOptions): Promise<ToolOutcome> {
    const query = String((input as { query?: unknown } | null)?.query ?? '').slice(0, 500);
    const actionToken = options.asker?.actionToken;
    if (!actionToken)
      return {
        status: 'error',
        text: 'Slack search needs the asking message (it was not available here).',
        sources: [],
      };
    try {
      const found = await this.#slack.call<SearchResult>('assistant.search.context', {
        query,
        action_token: actionToken,
        content_types: 'messages',
        channel_types: 'public_channel',
        limit: 10,
      });
      const messages = found.results?.messages ?? [];
      const lines = messages.map(
        (m) =>
          `#${m.channel_name ?? '?'} — ${m.author_name ?? 'someone'}: ${(m.content ?? '').slice(0, 500)}`,
      );
      return {
        status: 'success',
        text: lines.length > 0 ? lines.join('\n') : 'No messages found.',
        sources: messages
          .filter((m) => m.permalink)
          .map((m) => ({
            url: m.permalink as string,
            title: `#${m.channel_name ?? 'message'} — ${m.author_name ?? ''}`.trim(),
          })),
      };
    } catch (error) {
      return { status: 'error', text: `Slack search failed: ${(error as Error).message}`, sources: [] };
    }
  }
}
