/**
 * What each Bedrock model family takes through Converse, so that any text model id just works:
 * a small table by family (from AWS's "Supported models and model features"), and what the
 * running bot learned from Bedrock's own refusals. A refusal that names a feature the request used
 * (a ValidationException such as "This model doesn't support system messages", or the
 * AccessDeniedException Bedrock answers to a cachePoint a model cannot cache) is retried once
 * without it, and the model id is remembered, so later questions never pay for the failed attempt.
 * Knows nothing of Slack.
 */

/** Request features a model may refuse. */
export type ModelFeature =
  | 'system'
  | 'promptCache'
  | 'serviceTier'
  | 'tools'
  | 'streamingTools'
  | 'documents'
  | 'images';

export type ModelCapabilities = Record<ModelFeature, boolean>;

export interface ModelFamily {
  name: string;
  /** Matches the base model id (no ARN wrapping, no cross-region prefix). */
  match: RegExp;
  capabilities: ModelCapabilities;
}

const all: ModelCapabilities = {
  system: true,
  promptCache: true,
  serviceTier: true,
  tools: true,
  streamingTools: true,
  documents: true,
  images: true,
};
const caps = (overrides: Partial<ModelCapabilities>): ModelCapabilities => ({ ...all, ...overrides });

/** First match wins; the model table in docs/models.md is this table. */
export const MODEL_FAMILIES: readonly ModelFamily[] = [
  {
    name: 'Anthropic Claude 3.5 Haiku, 3.7 Sonnet, 4 and later',
    match: /^anthropic\.claude-(3-5-haiku|3-7-sonnet|(sonnet|opus|haiku)-4)/,
    capabilities: all,
  },
  { name: 'Anthropic Claude 3', match: /^anthropic\.claude-3/, capabilities: caps({ promptCache: false }) },
  {
    name: 'Anthropic Claude 2 and Instant',
    match: /^anthropic\.claude/,
    capabilities: caps({ promptCache: false, tools: false, streamingTools: false, images: false }),
  },
  {
    name: 'Amazon Nova Micro',
    match: /^amazon\.nova-micro/,
    capabilities: caps({ documents: false, images: false }),
  },
  { name: 'Amazon Nova', match: /^amazon\.nova/, capabilities: all },
  {
    name: 'Amazon Titan Text',
    match: /^amazon\.titan-text/,
    capabilities: caps({
      system: false,
      promptCache: false,
      tools: false,
      streamingTools: false,
      images: false,
    }),
  },
  {
    name: 'Meta Llama 3.2 (11B, 90B) and Llama 4',
    match: /^meta\.llama(3-2-(11|90)b|4)/,
    capabilities: caps({ promptCache: false, streamingTools: false }),
  },
  {
    name: 'Meta Llama 3.1 and later',
    match: /^meta\.llama3-[1-9]/,
    capabilities: caps({ promptCache: false, streamingTools: false, images: false }),
  },
  {
    name: 'Meta Llama (earlier)',
    match: /^meta\.llama/,
    capabilities: caps({ promptCache: false, tools: false, streamingTools: false, images: false }),
  },
  {
    name: 'Mistral 7B and Mixtral 8x7B',
    match: /^mistral\.(mistral-7b|mixtral-8x7b)/,
    capabilities: caps({
      system: false,
      promptCache: false,
      tools: false,
      streamingTools: false,
      images: false,
    }),
  },
  {
    name: 'Mistral Pixtral',
    match: /^mistral\.pixtral/,
    capabilities: caps({ promptCache: false, streamingTools: false }),
  },
  {
    name: 'Mistral Large and Small',
    match: /^mistral\./,
    capabilities: caps({ promptCache: false, streamingTools: false, images: false }),
  },
  {
    name: 'Cohere Command R and R+',
    match: /^cohere\.command-r/,
    capabilities: caps({ promptCache: false, streamingTools: false, images: false }),
  },
  {
    name: 'Cohere Command and Command Light',
    match: /^cohere\.command/,
    capabilities: caps({
      system: false,
      promptCache: false,
      tools: false,
      streamingTools: false,
      images: false,
    }),
  },
  {
    name: 'AI21 Jamba',
    match: /^ai21\.jamba/,
    capabilities: caps({ promptCache: false, streamingTools: false, images: false }),
  },
  {
    name: 'DeepSeek',
    match: /^deepseek\./,
    capabilities: caps({ promptCache: false, tools: false, streamingTools: false, images: false }),
  },
  {
    name: 'OpenAI gpt-oss, Qwen, Writer Palmyra',
    match: /^(openai|qwen|writer)\./,
    capabilities: caps({ promptCache: false, images: false }),
  },
];

/**
 * Any other model: everything but prompt caching (a cachePoint is refused outright by models
 * that cannot cache, while a missing one costs nothing); refusals teach the rest.
 */
export const UNKNOWN_FAMILY: ModelFamily = {
  name: 'other models',
  match: /$^/,
  capabilities: caps({ promptCache: false }),
};

/** `anthropic.claude-…` from an id, a cross-region inference profile (`us.…`) or an ARN. */
export function baseModelId(modelId: string): string {
  const fromArn = modelId.startsWith('arn:') ? (modelId.split('/').at(-1) ?? modelId) : modelId;
  return fromArn.replace(/^(us|eu|apac|jp|global|us-gov|ca|au)\./, '');
}

export function familyOf(modelId: string): ModelFamily {
  const id = baseModelId(modelId);
  return MODEL_FAMILIES.find((family) => family.match.test(id)) ?? UNKNOWN_FAMILY;
}

const UNSUPPORTED =
  /\b(doesn'?t|does not|don'?t|do not|cannot|can'?t) (support|accept|take)|\bunsupported\b|\bnot supported\b/i;

/**
 * The feature a Bedrock refusal names, when the request used it; null for any other error (and
 * never a guardrail: dropping a guardrail to get an answer through would defeat it).
 */
export function refusedFeature(error: unknown, used: ReadonlySet<ModelFeature>): ModelFeature | null {
  const name = String((error as { name?: unknown })?.name ?? '').toLowerCase();
  const message = String((error as { message?: unknown })?.message ?? '');
  if (/guardrail/i.test(message)) return null;
  const candidates: Array<[ModelFeature, boolean]> = [
    // Bedrock answers a cachePoint to a model that cannot cache with AccessDeniedException.
    [
      'promptCache',
      (name === 'validationexception' || name === 'accessdeniedexception') &&
        /prompt caching|cache ?point/i.test(message),
    ],
    ['system', name === 'validationexception' && /system (message|prompt)/i.test(message)],
    ['serviceTier', name === 'validationexception' && /service ?tier/i.test(message)],
    ['streamingTools', name === 'validationexception' && /tool use.*stream|stream\w*.*tool/i.test(message)],
    ['tools', name === 'validationexception' && /tool/i.test(message)],
    // Only a refusal of the kind itself: a bad file ("The provided image does not match…") is not one.
    [
      'documents',
      name === 'validationexception' && /\bdocuments?\b/i.test(message) && UNSUPPORTED.test(message),
    ],
    ['images', name === 'validationexception' && /\bimages?\b/i.test(message) && UNSUPPORTED.test(message)],
  ];
  return candidates.find(([feature, named]) => named && used.has(feature))?.[0] ?? null;
}

/**
 * The table, corrected by operator overrides (BEDROCK_MODEL_INPUTS says what the configured model
 * reads) and by what Bedrock refused while this process ran. Learned refusals are per replica, on
 * purpose: losing them costs one failed request per model after a restart, never a wrong answer.
 */
export class ModelCapabilityBook {
  readonly #overrides: ReadonlyMap<string, Partial<ModelCapabilities>>;
  readonly #learned = new Map<string, Set<ModelFeature>>();

  constructor(options: { overrides?: Record<string, Partial<ModelCapabilities>> } = {}) {
    this.#overrides = new Map(Object.entries(options.overrides ?? {}));
  }

  capabilitiesOf(modelId: string): ModelCapabilities {
    const capabilities = { ...familyOf(modelId).capabilities, ...this.#overrides.get(modelId) };
    for (const feature of this.#learned.get(modelId) ?? []) capabilities[feature] = false;
    return capabilities;
  }

  /** Remembers that `modelId` refused `feature`; false when it was known already. */
  learn(modelId: string, feature: ModelFeature): boolean {
    const refused = this.#learned.get(modelId) ?? new Set<ModelFeature>();
    if (refused.has(feature)) return false;
    refused.add(feature);
    this.#learned.set(modelId, refused);
    return true;
  }
}
