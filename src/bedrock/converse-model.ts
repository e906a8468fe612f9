/**
 * Plain model answers through Bedrock's ConverseStream, for every model family: the request is
 * built for what the model takes (see model-capabilities.ts, converse-request.ts), and a refusal
 * that names a feature the request used is retried once without it and remembered for that model.
 */
import {
  type BedrockRuntimeClient,
  ConverseStreamCommand,
  type ConverseStreamCommandOutput,
} from '@aws-sdk/client-bedrock-runtime';
import type {
  AnswerEvent,
  AnswerModel,
  AnswerRequest,
  ModelChoice,
  ModelInputs,
} from '../conversation/ports.ts';
import { AnswerError } from '../errors.ts';
import { mapBedrockError } from './bedrock-errors.ts';
import { buildConverseRequest, type GuardrailSettings } from './converse-request.ts';
import { ModelCapabilityBook, type ModelFeature, refusedFeature } from './model-capabilities.ts';
import { inputsOf } from './model-inputs.ts';

export interface ConverseModelOptions {
  client: BedrockRuntimeClient;
  modelId: string;
  region: string;
  systemPrompt: string;
  maxTokens: number;
  temperature: number | null;
  guardrail?: GuardrailSettings | null;
  serviceTier?: 'priority' | 'default' | 'flex' | null;
  /** False: never adds cachePoints, even for models that cache (default true). */
  promptCache?: boolean;
  /**
   * Shared by every adapter of the process, so that what one learned serves the others; it also
   * says what each model reads besides text (its overrides carry BEDROCK_MODEL_INPUTS).
   */
  capabilities?: ModelCapabilityBook;
  /** Told once per model and feature that Bedrock refused (logged and counted by the caller). */
  onFeatureRefused?: (refusal: { modelId: string; feature: ModelFeature; message: string }) => void;
}

/** At most one retry per feature; no request uses more than these. */
const MAX_FALLBACKS = 3;

export class ConverseModel implements AnswerModel {
  readonly #options: ConverseModelOptions;
  readonly #capabilities: ModelCapabilityBook;

  constructor(options: ConverseModelOptions) {
    this.#options = options;
    this.#capabilities = options.capabilities ?? new ModelCapabilityBook();
  }

  /** From the capability table (with overrides and what was learned), for the model `choice` names. */
  inputsFor(choice?: ModelChoice): ModelInputs {
    return inputsOf(this.#capabilities.capabilitiesOf(choice?.modelId ?? this.#options.modelId));
  }

  async *stream(request: AnswerRequest): AsyncIterable<AnswerEvent> {
    const { region, maxTokens, temperature } = this.#options;
    const modelId = request.options?.modelId ?? this.#options.modelId;
    const settings = {
      modelId,
      system: request.system ?? request.options?.systemPrompt ?? this.#options.systemPrompt,
      stablePrompt: request.system === undefined,
      stableHistory: request.historyTrimmed !== true,
      maxTokens,
      temperature,
      guardrail: this.#options.guardrail ?? null,
      serviceTier:
        request.options?.serviceTier === undefined
          ? (this.#options.serviceTier ?? null)
          : request.options.serviceTier,
      ...(request.tools ? { tools: request.tools } : {}),
    };
    try {
      const response = await this.#send(request, settings);
      yield* answerEvents(response);
    } catch (error) {
      throw mapBedrockError(error, { modelId, region });
    }
  }

  /**
   * Sends the request; where the model refuses a feature (prompt caching, a kind of file…), learns
   * that and sends it again without it, a bounded number of times.
   */
  async #send(
    request: AnswerRequest,
    settings: Parameters<typeof buildConverseRequest>[1],
  ): Promise<ConverseStreamCommandOutput> {
    const { client } = this.#options;
    const { modelId } = settings;
    for (let fallbacks = 0; ; fallbacks += 1) {
      const capabilities = this.#capabilities.capabilitiesOf(modelId);
      if (this.#options.promptCache === false) capabilities.promptCache = false;
      const { input, used } = buildConverseRequest(request.turns, settings, capabilities);
      try {
        return await client.send(new ConverseStreamCommand(input), { abortSignal: request.signal });
      } catch (error) {
        const feature = fallbacks < MAX_FALLBACKS ? refusedFeature(error, used) : null;
        if (!feature || request.signal?.aborted) throw error;
        if (this.#capabilities.learn(modelId, feature))
          this.#options.onFeatureRefused?.({ modelId, feature, message: String((error as Error).message) });
        // Files are the person's: dropping them quietly would answer another question. The
        // model's inputs now say it does not read them, so the caller plans the files again
        // (and says which were left out).
        if (feature === 'images' || feature === 'documents')
          throw new AnswerError('model_inputs_changed', 'This model does not read these files.', {
            cause: error,
          });
      }
    }
  }
}

/** Converse's stream events as answer events: text, tool calls (assembled), the stop, usage. */
async function* answerEvents(response: ConverseStreamCommandOutput): AsyncIterable<AnswerEvent> {
  let stopped = false;
  // A tool call arrives as a block start (id, name), its input as partial JSON, then a stop.
  const toolUses = new Map<number, { id: string; name: string; input: string }>();
  for await (const event of response.stream ?? []) {
    const text = event.contentBlockDelta?.delta?.text;
    if (text) yield { type: 'text', text };
    const started = event.contentBlockStart?.start?.toolUse;
    if (started?.toolUseId && started.name)
      toolUses.set(event.contentBlockStart?.contentBlockIndex ?? 0, {
        id: started.toolUseId,
        name: started.name,
        input: '',
      });
    const inputDelta = event.contentBlockDelta?.delta?.toolUse?.input;
    const open = toolUses.get(event.contentBlockDelta?.contentBlockIndex ?? -1);
    if (inputDelta !== undefined && open) open.input += inputDelta;
    const closed = event.contentBlockStop
      ? toolUses.get(event.contentBlockStop.contentBlockIndex ?? -1)
      : null;
    if (closed) {
      toolUses.delete(event.contentBlockStop?.contentBlockIndex ?? -1);
      yield { type: 'tool_use', id: closed.id, name: closed.name, input: parseToolInput(closed.input) };
    }
    if (event.messageStop) {
      stopped = true;
      yield { type: 'stop', reason: event.messageStop.stopReason ?? 'end_turn' };
    }
    const usage = event.metadata?.usage;
    if (usage)
      yield {
        type: 'usage',
        inputTokens: usage.inputTokens ?? 0,
        outputTokens: usage.outputTokens ?? 0,
        cacheReadTokens: usage.cacheReadInputTokens ?? 0,
        cacheWriteTokens: usage.cacheWriteInputTokens ?? 0,
      };
  }
  // A dropped connection can end the iterator quietly: without messageStop the answer is incomplete.
  if (!stopped) throw new AnswerError('stream_interrupted', 'The answer was interrupted.');
}

/** The tool input the model streamed, as JSON; malformed input goes to the tool as a string to refuse. */
function parseToolInput(json: string): unknown {
  if (!json.trim()) return {};
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return { unparsed: json };
  }
}
