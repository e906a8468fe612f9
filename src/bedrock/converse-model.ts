/** Plain model answers through Bedrock's ConverseStream. */
import {
  type BedrockRuntimeClient,
  type ContentBlock,
  ConverseStreamCommand,
  type DocumentFormat,
  type ImageFormat,
  type Message,
} from '@aws-sdk/client-bedrock-runtime';
import type {
  AnswerEvent,
  AnswerModel,
  AnswerRequest,
  ModelInputs,
  RequestTurn,
} from '../conversation/ports.ts';
import { AnswerError } from '../errors.ts';
import { mapBedrockError } from './bedrock-errors.ts';

export interface ConverseModelOptions {
  client: BedrockRuntimeClient;
  modelId: string;
  region: string;
  systemPrompt: string;
  maxTokens: number;
  temperature: number | null;
  /** What the model takes besides text (see model-inputs.ts). */
  inputs: ModelInputs;
}

export class ConverseModel implements AnswerModel {
  readonly #options: ConverseModelOptions;
  readonly inputs: ModelInputs;

  constructor(options: ConverseModelOptions) {
    this.#options = options;
    this.inputs = options.inputs;
  }

  async *stream(request: AnswerRequest): AsyncIterable<AnswerEvent> {
    const { client, modelId, region, systemPrompt, maxTokens, temperature } = this.#options;
    const messages: Message[] = request.turns.map((turn) => ({ role: turn.role, content: contentOf(turn) }));
    const system = request.system ?? systemPrompt;
    try {
      const response = await client.send(
        new ConverseStreamCommand({
          modelId,
          system: [{ text: system }],
          messages,
          inferenceConfig: { maxTokens, ...(temperature === null ? {} : { temperature }) },
        }),
        { abortSignal: request.signal },
      );
      let stopped = false;
      for await (const event of response.stream ?? []) {
        const text = event.contentBlockDelta?.delta?.text;
        if (text) yield { type: 'text', text };
        if (event.messageStop) {
          stopped = true;
          yield { type: 'stop', reason: event.messageStop.stopReason ?? 'end_turn' };
        }
        const usage = event.metadata?.usage;
        if (usage)
          yield { type: 'usage', inputTokens: usage.inputTokens ?? 0, outputTokens: usage.outputTokens ?? 0 };
      }
      // A dropped connection can end the iterator quietly: without messageStop the answer is incomplete.
      if (!stopped) throw new AnswerError('stream_interrupted', 'The answer was interrupted.');
    } catch (error) {
      throw mapBedrockError(error, { modelId, region });
    }
  }
}

/**
 * A turn's content blocks: its files first, then its text (a document needs a text block beside
 * it). A document's name reaches the model, so it is a neutral one, never the file's own name.
 */
function contentOf(turn: RequestTurn): ContentBlock[] {
  const blocks: ContentBlock[] = [];
  let documents = 0;
  for (const attachment of turn.attachments ?? []) {
    if (attachment.kind === 'image') {
      blocks.push({
        image: { format: attachment.format as ImageFormat, source: { bytes: attachment.bytes } },
      });
    } else {
      documents += 1;
      blocks.push({
        document: {
          format: attachment.format as DocumentFormat,
          name: `document-${documents}`,
          source: { bytes: attachment.bytes },
        },
      });
    }
  }
  blocks.push({ text: turn.text });
  return blocks;
}
