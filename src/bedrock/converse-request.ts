/**
 * Builds one ConverseStream request for a model's capabilities:
 *
 * - system prompt: a `system` block, or (for models that take none) the first user turn's preamble;
 * - prompt caching, where the model caches and the prompt is stable: a `cachePoint` after the
 *   system prompt, and one after the thread's history (before the new question), so the next turn
 *   reads everything before its own new turns from the cache; not after a history that was just
 *   trimmed (its start moved, so the next turn could not read it, and writing costs more than input);
 * - the guardrail (never dropped) and the service tier.
 *
 * Returns the features it used, so that a refusal can be matched to one of them.
 */
import type {
  ContentBlock,
  ConverseStreamCommandInput,
  Message,
  SystemContentBlock,
} from '@aws-sdk/client-bedrock-runtime';
import type { Turn } from '../store/conversation-store.ts';
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
}

const CACHE_POINT = { cachePoint: { type: 'default' } } as const;

export function buildConverseRequest(
  turns: Turn[],
  settings: ConverseRequestSettings,
  capabilities: ModelCapabilities,
): { input: ConverseStreamCommandInput; used: Set<ModelFeature> } {
  const used = new Set<ModelFeature>();
  const cache = capabilities.promptCache && settings.stablePrompt;
  const messages: Message[] = turns.map((turn) => ({ role: turn.role, content: [{ text: turn.text }] }));
  let system: SystemContentBlock[] | undefined;
  if (capabilities.system) {
    system = [{ text: settings.system }];
    used.add('system');
    if (cache) system.push(CACHE_POINT);
  } else {
    // The model takes no system prompt: it leads the conversation's first user turn instead.
    const first = messages[0]?.content?.[0];
    if (first && 'text' in first) first.text = `${settings.system}\n\n${first.text}`;
  }
  // The history before the new question is the same next turn: cache up to its end.
  const lastHistoryTurn = messages.length >= 3 ? messages[messages.length - 2] : undefined;
  if (cache && settings.stableHistory && lastHistoryTurn)
    (lastHistoryTurn.content as ContentBlock[]).push(CACHE_POINT);
  if (cache) used.add('promptCache');

  const { modelId, maxTokens, temperature, guardrail, serviceTier } = settings;
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
    },
    used,
  };
}
