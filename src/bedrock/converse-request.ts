/**
 * Builds one ConverseStream request for a model's capabilities:
 *
 * - system prompt: a `system` block, or (for models that take none) the first user turn's preamble;
 * - prompt caching, where the model caches and the prompt is stable: a `cachePoint` after the
 *   system prompt, and one after the thread's history (before the new question), so the next turn
 *   reads everything before its own new turns from the cache; not after a history that was just
 *   trimmed (its start moved, so the next turn could not read it, and writing costs more than input);
 * - the guardrail (never dropped) and the service tier;
 * - each turn's files as image and document blocks before its text (see `contentOf`), left out for
 *   a kind the model is known not to read (the core plans files by the same capabilities);
 * - the tools offered (`toolConfig`), where the model streams tool use, and the answer's own tool
 *   rounds as toolUse / toolResult blocks.
 *
 * Returns the features it used, so that a refusal can be matched to one of them.
 */
import type {
  ContentBlock,
  ConverseStreamCommandInput,
  DocumentFormat,
  ImageFormat,
  Message,
  SystemContentBlock,
} from '@aws-sdk/client-bedrock-runtime';
import type { RequestTurn, ToolSpec } from '../conversation/ports.ts';
import type { ModelCapabilities, ModelFeature } from './model-capabilities.ts';

export interface GuardrailSettings {
  id: string;
  version: string;
  /** `async` shows text while the guardrail checks it (it cannot mask); `sync` checks before showing. */
  streamProcessingMode: 'async' | 'sync';
}

export interface ConverseRequestSettings {
  modelId: string;
  system: string;
  /** The system prompt is the same on every question (not one with this question's sources). */
  stablePrompt: boolean;
  /** The history starts as it did last turn (nothing was trimmed): worth a cachePoint after it. */
  stableHistory: boolean;
  maxTokens: number;
  temperature: number | null;
  guardrail: GuardrailSettings | null;
  serviceTier: 'priority' | 'default' | 'flex' | null;
  /** Tools the model may ask for; none (or a model that cannot stream tool use): no toolConfig. */
  tools?: ToolSpec[];
}

const CACHE_POINT = { cachePoint: { type: 'default' } } as const;

export function buildConverseRequest(
  turns: RequestTurn[],
  settings: ConverseRequestSettings,
  capabilities: ModelCapabilities,
): { input: ConverseStreamCommandInput; used: Set<ModelFeature> } {
  const used = new Set<ModelFeature>();
  const cache = capabilities.promptCache && settings.stablePrompt;
  // Bedrock refuses a document name used twice anywhere in the request, so turns share one count.
  const documentNames = { count: 0 };
  const messages: Message[] = turns.map((turn) => ({
    role: turn.role,
    content: contentOf(turn, capabilities, used, documentNames),
  }));
  const system = systemOf(messages, settings.system, capabilities, used, cache);
  // The history before the new question is the same next turn: cache up to its end.
  const lastHistoryTurn = messages.length >= 3 ? messages[messages.length - 2] : undefined;
  if (cache && settings.stableHistory && lastHistoryTurn)
    (lastHistoryTurn.content as ContentBlock[]).push(CACHE_POINT);
  if (cache) used.add('promptCache');

  const { modelId, maxTokens, temperature, guardrail, serviceTier } = settings;
  const tools = capabilities.tools && capabilities.streamingTools ? (settings.tools ?? []) : [];
  if (tools.length > 0) used.add('tools');
  const withTier = serviceTier !== null && capabilities.serviceTier;
  if (withTier) used.add('serviceTier');
  return {
    input: {
      modelId,
      ...(system ? { system } : {}),
      messages,
      inferenceConfig: { maxTokens, ...(temperature === null ? {} : { temperature }) },
      ...(guardrail
        ? {
            guardrailConfig: {
              guardrailIdentifier: guardrail.id,
              guardrailVersion: guardrail.version,
              streamProcessingMode: guardrail.streamProcessingMode,
            },
          }
        : {}),
      ...(withTier ? { serviceTier: { type: serviceTier } } : {}),
      ...(tools.length > 0 ? { toolConfig: toolConfigOf(tools) } : {}),
    },
    used,
  };
}

/**
 * The system prompt, with a cache point after it when the prompt is cached; for a model that takes
 * no system prompt, it leads the conversation's first user turn instead (and there is none).
 */
function systemOf(
  messages: Message[],
  prompt: string,
  capabilities: ModelCapabilities,
  used: Set<ModelFeature>,
  cache: boolean,
): SystemContentBlock[] | undefined {
  if (!capabilities.system) {
    const first = messages[0]?.content?.find((block) => 'text' in block && block.text !== undefined);
    if (first && 'text' in first) first.text = `${prompt}\n\n${first.text}`;
    return undefined;
  }
  used.add('system');
  return cache ? [{ text: prompt }, CACHE_POINT] : [{ text: prompt }];
}

/** The tools the model may call, as Converse's toolConfig (the model decides when). */
function toolConfigOf(tools: NonNullable<ConverseRequestSettings['tools']>) {
  return {
    tools: tools.map((tool) => ({
      toolSpec: {
        name: tool.name,
        description: tool.description,
        inputSchema: { json: tool.inputSchema as never },
      },
    })),
    toolChoice: { auto: {} },
  };
}

/**
 * A turn's content blocks: its files first, then its text (a document needs a text block beside
 * it). A document's name reaches the model, so it is a neutral one, never the file's own name;
 * `documentNames` counts across the request's turns, as names must be unique in the whole request.
 */
export function contentOf(
  turn: RequestTurn,
  capabilities: Pick<ModelCapabilities, 'images' | 'documents'> = { images: true, documents: true },
  used: Set<ModelFeature> = new Set(),
  documentNames: { count: number } = { count: 0 },
): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  for (const attachment of turn.attachments ?? []) {
    if (attachment.kind === 'image') {
      if (!capabilities.images) continue;
      used.add('images');
      blocks.push({
        image: { format: attachment.format as ImageFormat, source: { bytes: attachment.bytes } },
      });
    } else {
      if (!capabilities.documents) continue;
      used.add('documents');
      documentNames.count += 1;
      blocks.push({
        document: {
          format: attachment.format as DocumentFormat,
          name: `document-${documentNames.count}`,
          source: { bytes: attachment.bytes },
        },
      });
    }
  }
  // A tool round: the results the model asked for (a user turn), or its calls (an assistant turn).
  for (const result of turn.toolResults ?? [])
    blocks.push({
      toolResult: { toolUseId: result.toolUseId, content: [{ text: result.text }], status: result.status },
    });
  // Bedrock refuses a blank text block: a turn that is only tool calls or results has none.
  if (turn.text.trim() || (blocks.length === 0 && !turn.toolUses?.length)) blocks.push({ text: turn.text });
  for (const use of turn.toolUses ?? [])
    blocks.push({ toolUse: { toolUseId: use.id, name: use.name, input: use.input as never } });
  return blocks;
}
