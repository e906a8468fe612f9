/**
 * The built-in `search_channel_knowledge` tool: the model looks in what this channel (or this
 * person's DM) has learned, when it decides to. Offered only where learning is on (the conversation
 * service asks channel knowledge per answer); searches only the asking channel's scope. Passages go
 * back as data, bounded; their files and threads become the step's and the answer's sources.
 */
import type { BuiltInTool, ToolCallOptions, ToolOutcome, ToolSpec } from '../conversation/ports.ts';
import { type ChannelKnowledge, KNOWLEDGE_TOOL_NAME } from './channel-knowledge.ts';

const SPEC: ToolSpec = {
  name: KNOWLEDGE_TOOL_NAME,
  title: 'Search what this channel learned',
  description:
    "Searches the files shared in this Slack channel and the questions answered here before (this channel's own knowledge). Use it for questions about this team's documents, decisions and earlier answers.",
  inputSchema: {
    type: 'object',
    properties: { query: { type: 'string', description: 'What to look for' } },
    required: ['query'],
  },
  needsApproval: false,
};

export class KnowledgeSearchTool implements BuiltInTool {
  readonly spec = SPEC;
  readonly #knowledge: ChannelKnowledge;

  constructor(knowledge: ChannelKnowledge) {
    this.#knowledge = knowledge;
  }

  async run(input: unknown, options: ToolCallOptions): Promise<ToolOutcome> {
    const query = String((input as { query?: unknown } | null)?.query ?? '').slice(0, 1_000);
    const asker = options.asker;
    if (!asker?.teamId || !asker.channelId)
      return { status: 'error', text: 'This search needs the channel it was asked in.', sources: [] };
    try {
      const passages = await this.#knowledge.search(
        { teamId: asker.teamId, channelId: asker.channelId, userId: asker.userId },
        query,
      );
      if (passages.length === 0) return { status: 'success', text: 'Nothing found.', sources: [] };
      const text = passages
        .map((p, n) => `[${n + 1}] ${p.title.replace(/[[\]\n]/g, ' ')}\n${p.text}`)
        .join('\n\n');
      const sources: ToolOutcome['sources'] = [];
      for (const p of passages)
        if (p.url && !sources.some((s) => s.url === p.url)) sources.push({ url: p.url, title: p.title });
      return { status: 'success', text, sources };
    } catch (error) {
      return {
        status: 'error',
        text: `The channel knowledge search failed: ${(error as Error).message}`,
        sources: [],
      };
    }
  }
}
