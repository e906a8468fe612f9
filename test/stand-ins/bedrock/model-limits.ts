/**
 * What Bedrock Runtime refuses per model in a Converse request, with Bedrock's own wording, for
 * the stand-in. Written from Bedrock's answers as people report them (not from the bot's own
 * capability table, which the stand-in must be able to contradict):
 *
 * - Titan Text, Mistral 7B and Mixtral 8x7B take no `system`: 400 ValidationException "This model
 *   doesn't support system messages. Try again without a system message or use a model that
 *   supports system messages."
 * - A `cachePoint` sent to a model without prompt caching: 403 AccessDeniedException "You invoked an
 *   unsupported model or your request did not allow prompt caching. See the documentation for more
 *   information." Only Claude (3.5 Haiku, 3.7 Sonnet, 4 and later) and Nova cache.
 * - A cache checkpoint whose prefix is shorter than the model's minimum is ignored, not refused.
 * - An image block to a model without vision (AWS's table: Claude 2 and 3.5 Haiku, Titan Text,
 *   Nova Micro, Llama 3.1 and 3.3, Mistral but Pixtral, Cohere, AI21, DeepSeek, gpt-oss): 400
 *   ValidationException "This model doesn't support the image field for user messages."; a
 *   document block to one without document chat (Nova Micro, Titan Text Premier), the same shape.
 *
 * @example
 * limitsOf('us.amazon.titan-text-express-v1'); // { system: false, promptCache: null, serviceTier: true, images: false, documents: true }
 */

export interface ModelLimits {
  /** False: a request with `system` is refused. */
  system: boolean;
  /** Null: a `cachePoint` is refused. Else the fewest prefix tokens a checkpoint caches. */
  promptCache: { minTokens: number } | null;
  /** False: a request with `serviceTier` is refused. */
  serviceTier: boolean;
  /** False: a request with an image block is refused. */
  images: boolean;
  /** False: a request with a document block is refused. */
  documents: boolean;
}

export interface ModelRefusal {
  error: 'ValidationException' | 'AccessDeniedException';
  message: string;
}

export const REFUSALS = {
  system: {
    error: 'ValidationException',
    message:
      "This model doesn't support system messages. Try again without a system message or use a model that supports system messages.",
  },
  promptCache: {
    error: 'AccessDeniedException',
    message:
      'You invoked an unsupported model or your request did not allow prompt caching. See the documentation for more information.',
  },
  // Wording not seen in public reports; shaped like Bedrock's other feature refusals.
  serviceTier: {
    error: 'ValidationException',
    message: 'The provided service tier is not supported for this model. Try again without a service tier.',
  },
  images: {
    error: 'ValidationException',
    message: "This model doesn't support the image field for user messages.",
  },
  // Shaped like the image refusal.
  documents: {
    error: 'ValidationException',
    message: "This model doesn't support the document field for user messages.",
  },
} as const satisfies Record<string, ModelRefusal>;

/** A model id without its ARN wrapping or cross-region prefix: `anthropic.claude-…`. */
export function baseModelId(modelId: string): string {
  const fromArn = modelId.startsWith('arn:') ? (modelId.split('/').at(-1) ?? modelId) : modelId;
  return fromArn.replace(/^(us|eu|apac|jp|global|us-gov|ca|au)\./, '');
}

/** Bedrock's behaviour for a model id (unknown families take everything but caching). */
export function limitsOf(modelId: string): ModelLimits {
  const id = baseModelId(modelId);
  const noSystem = /^(amazon\.titan-text|mistral\.mistral-7b|mistral\.mixtral-8x7b)/.test(id);
  const noImages =
    /^(anthropic\.claude-(v2|instant|3-5-haiku)|amazon\.(titan-text|nova-micro)|meta\.llama3-(1|3)|mistral\.(?!pixtral)|cohere\.|ai21\.|deepseek\.|openai\.)/.test(
      id,
    );
  const noDocuments = /^amazon\.(nova-micro|titan-text-premier)/.test(id);
  return {
    system: !noSystem,
    promptCache: promptCacheOf(id),
    serviceTier: true,
    images: !noImages,
    documents: !noDocuments,
  };
}

function promptCacheOf(id: string): { minTokens: number } | null {
  if (/^anthropic\.claude-haiku-4-5/.test(id)) return { minTokens: 4_096 };
  if (/^anthropic\.claude-3-5-haiku/.test(id)) return { minTokens: 2_048 };
  if (/^anthropic\.claude-(3-7-sonnet|(sonnet|opus)-4)/.test(id)) return { minTokens: 1_024 };
  if (/^amazon\.nova/.test(id)) return { minTokens: 1_000 };
  return null;
}
