/**
 * The built-in `search_knowledge_base` tool: Retrieve on the configured Knowledge Base, so the
 * model decides when to look (answers are then plain Converse answers). Passages go back as data
 * with their documents numbered; the documents' links become the step's and the answer's sources.
 */
import type { BedrockAgentRuntimeClient } from '@aws-sdk/client-bedrock-agent-runtime';
import type { Config } from '../config.ts';
import type {
  BuiltInTool,
  ToolCallOptions,
  ToolOutcome,
  ToolSource,
  ToolSpec,
} from '../conversation/ports.ts';
import { PooledHttp2Handler } from './pooled-http2-handler.ts';
import type { SourceLinks, SourceReference } from './source-links.ts';

const SPEC: ToolSpec = {
  name: 'search_knowledge_base',
  title: 'Search the knowledge base',
  description:
    "Searches the company's documents (the knowledge base) for passages about a topic. Use it for questions about company policies, processes and products.",
  inputSchema: {
    type: 'object',
    properties: { query: { type: 'string', description: 'What to look for' } },
    required: ['query'],
  },
  needsApproval: false,
};

export class KnowledgeBaseSearchTool implements BuiltInTool {
  readonly spec = SPEC;
  readonly #client: BedrockAgentRuntimeClient;
  readonly #knowledgeBaseId: string;
  readonly #numberOfResults: number;
  readonly #links: SourceLinks;
  readonly #retrieve: (input: object, signal: AbortSignal) => Promise<{ retrievalResults?: unknown[] }>;

  constructor(options: {
    client: BedrockAgentRuntimeClient;
    knowledgeBaseId: string;
    numberOfResults: number;
    links: SourceLinks;
    retrieve: (input: object, signal: AbortSignal) => Promise<{ retrievalResults?: unknown[] }>;
  }) {
    this.#client = options.client;
    this.#knowledgeBaseId = options.knowledgeBaseId;
    this.#numberOfResults = options.numberOfResults;
    this.#links = options.links;
    this.#retrieve = options.retrieve;
  }

  async run(input: unknown, options: ToolCallOptions): Promise<ToolOutcome> {
    const query = String((input as { query?: unknown } | null)?.query ?? '').slice(0, 1_000);
    try {
      const response = await this.#retrieve(
        {
          knowledgeBaseId: this.#knowledgeBaseId,
          retrievalQuery: { text: query },
          retrievalConfiguration: { vectorSearchConfiguration: { numberOfResults: this.#numberOfResults } },
        },
        options.signal,
      );
      const sources: ToolSource[] = [];
      const lines: string[] = [];
      for (const result of (response.retrievalResults ?? []) as Array<
        SourceReference & { content?: { text?: string } }
      >) {
        const source = await this.#links.toSource(result);
        const text = result.content?.text?.trim();
        if (!text) continue;
        lines.push(`[${source?.title ?? 'document'}] ${text.slice(0, 1_500)}`);
        if (source?.url && !sources.some((s) => s.url === source.url))
          sources.push({ url: source.url, title: source.title });
      }
      return { status: 'success', text: lines.length > 0 ? lines.join('\n\n') : 'Nothing found.', sources };
    } catch (error) {
      return {
        status: 'error',
        text: `The knowledge base search failed: ${(error as Error).message}`,
        sources: [],
      };
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }
}

/** The tool on its own Agent Runtime client (loaded only when the tool is on). */
export async function createKnowledgeBaseSearchTool(config: Config): Promise<KnowledgeBaseSearchTool> {
  const { bedrock } = config;
  if (!bedrock.knowledgeBaseId)
    throw new Error('BUILTIN_TOOLS=search_knowledge_base needs BEDROCK_KNOWLEDGE_BASE_ID');
  const [{ BedrockAgentRuntimeClient, RetrieveCommand }, { SourceLinks }] = await Promise.all([
    import('@aws-sdk/client-bedrock-agent-runtime'),
    import('./source-links.ts'),
  ]);
  const client = new BedrockAgentRuntimeClient({
    region: bedrock.region,
    maxAttempts: 2,
    requestHandler: new PooledHttp2Handler({ requestTimeout: bedrock.timeoutMs }),
  });
  return new KnowledgeBaseSearchTool({
    client,
    knowledgeBaseId: bedrock.knowledgeBaseId,
    numberOfResults: bedrock.kbNumberOfResults,
    links: new SourceLinks({
      region: bedrock.region,
      s3Links: bedrock.kbS3Links,
      presignedUrlTtlSeconds: bedrock.kbPresignedUrlTtlSeconds,
    }),
    retrieve: (input, signal) => client.send(new RetrieveCommand(input as never), { abortSignal: signal }),
  });
}
