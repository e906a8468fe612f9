/**
 * Builds the model port from the configuration: Converse for plain answers, and Knowledge Base
 * adapters (managed or retrieve mode) made on first use for each Knowledge Base and model a
 * question asks for, so a channel can name its own. Knows nothing of Slack.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { LRUCache } from 'lru-cache';
import type { Config } from '../config.ts';
import type {
  AnswerEvent,
  AnswerModel,
  AnswerRequest,
  ModelChoice,
  ModelInputs,
} from '../conversation/ports.ts';
import { ConverseModel } from './converse-model.ts';
import { ModelCapabilityBook, type ModelFeature } from './model-capabilities.ts';
import { MANAGED_INPUTS, parseModelInputs } from './model-inputs.ts';
import { PooledHttp2Handler } from './pooled-http2-handler.ts';

export interface ModelHooks {
  /** A model refused a feature; the bot now sends it without (log it, count it). */
  onFeatureRefused?: (refusal: { modelId: string; feature: ModelFeature; message: string }) => void;
}

type KnowledgeBaseChoice = { id: string; mode: 'managed' | 'retrieve' };

/** Picks the adapter a question asks for (its channel's Knowledge Base and model), else the configured one. */
export class ModelRouter implements AnswerModel {
  readonly #converse: AnswerModel;
  readonly #defaultModelId: string;
  readonly #defaultKnowledgeBase: KnowledgeBaseChoice | null;
  readonly #knowledgeBase: (kb: KnowledgeBaseChoice, modelId: string) => Promise<AnswerModel>;
  /** Bounded: Knowledge Base ids come from admins, and each adapter holds little but a config. */
  readonly #adapters = new LRUCache<string, Promise<AnswerModel>>({ max: 64 });

  constructor(options: {
    converse: AnswerModel;
    defaultModelId: string;
    defaultKnowledgeBase: KnowledgeBaseChoice | null;
    knowledgeBase: (kb: KnowledgeBaseChoice, modelId: string) => Promise<AnswerModel>;
  }) {
    this.#converse = options.converse;
    this.#defaultModelId = options.defaultModelId;
    this.#defaultKnowledgeBase = options.defaultKnowledgeBase;
    this.#knowledgeBase = options.knowledgeBase;
  }

  #knowledgeBaseOf(choice: ModelChoice | undefined): KnowledgeBaseChoice | null {
    const kb = choice?.knowledgeBase;
    return kb === undefined ? this.#defaultKnowledgeBase : kb;
  }

  /** A managed Knowledge Base reads text only; otherwise what the chosen model reads. */
  inputsFor(choice?: ModelChoice): ModelInputs {
    return this.#knowledgeBaseOf(choice)?.mode === 'managed'
      ? MANAGED_INPUTS
      : this.#converse.inputsFor(choice);
  }

  async *stream(request: AnswerRequest): AsyncIterable<AnswerEvent> {
    const kb = this.#knowledgeBaseOf(request.options);
    if (!kb) {
      yield* this.#converse.stream(request);
      return;
    }
    const modelId = request.options?.modelId ?? this.#defaultModelId;
    const key = `${kb.mode}\u0000${kb.id}\u0000${modelId}`;
    let adapter = this.#adapters.get(key);
    if (!adapter) {
      adapter = this.#knowledgeBase(kb, modelId);
      adapter.catch(() => this.#adapters.delete(key));
      this.#adapters.set(key, adapter);
    }
    yield* (await adapter).stream(request);
  }
}

/** The model port; with a configured Knowledge Base its adapter is ready before the first question. */
export async function createAnswerModel(config: Config, hooks: ModelHooks = {}): Promise<AnswerModel> {
  const { bedrock } = config;
  const runtime = new BedrockRuntimeClient({
    region: bedrock.region,
    // The conversation service retries (also throttling inside a stream, which the SDK does not).
    maxAttempts: 1,
    // Many answers stream at once: multiplexed over a few HTTP/2 connections, not one each.
    requestHandler: new PooledHttp2Handler({ requestTimeout: bedrock.timeoutMs }),
  });
  const converse = new ConverseModel({
    client: runtime,
    modelId: bedrock.modelId,
    region: bedrock.region,
    systemPrompt: bedrock.systemPrompt,
    maxTokens: bedrock.maxTokens,
    temperature: bedrock.temperature,
    guardrail: bedrock.guardrail,
    serviceTier: bedrock.serviceTier,
    promptCache: bedrock.promptCache,
    // BEDROCK_MODEL_INPUTS says what the configured model reads; a channel's own model goes by the table.
    capabilities: new ModelCapabilityBook({
      overrides: modelInputOverrides(bedrock.modelId, bedrock.modelInputs),
    }),
    ...(hooks.onFeatureRefused ? { onFeatureRefused: hooks.onFeatureRefused } : {}),
  });
  let agentParts: Promise<KnowledgeBaseParts> | null = null;
  const knowledgeBase = async (kb: KnowledgeBaseChoice, modelId: string) => {
    agentParts ??= knowledgeBaseParts(config);
    agentParts.catch(() => {
      agentParts = null;
    });
    return (await agentParts).make(kb, modelId, converse);
  };
  if (bedrock.knowledgeBaseId)
    await knowledgeBase({ id: bedrock.knowledgeBaseId, mode: bedrock.kbMode }, bedrock.modelId);
  return new ModelRouter({
    converse,
    defaultModelId: bedrock.modelId,
    defaultKnowledgeBase: bedrock.knowledgeBaseId
      ? { id: bedrock.knowledgeBaseId, mode: bedrock.kbMode }
      : null,
    knowledgeBase,
  });
}

function modelInputOverrides(
  modelId: string,
  setting: string,
): Record<string, { images: boolean; documents: boolean }> {
  const configured = parseModelInputs(setting);
  return configured ? { [modelId]: configured } : {};
}

interface KnowledgeBaseParts {
  make(kb: KnowledgeBaseChoice, modelId: string, converse: AnswerModel): AnswerModel;
}

/** Loaded only when a Knowledge Base is used: the Agent Runtime, S3 and STS clients cost memory and start-up. */
async function knowledgeBaseParts(config: Config): Promise<KnowledgeBaseParts> {
  const { bedrock } = config;
  const [{ BedrockAgentRuntimeClient }, kbModels, { SourceLinks }] = await Promise.all([
    import('@aws-sdk/client-bedrock-agent-runtime'),
    import('./knowledge-base-model.ts'),
    import('./source-links.ts'),
  ]);
  const { ManagedKnowledgeBaseModel, RetrieveThenConverseModel, modelArnResolver } = kbModels;
  const agent = new BedrockAgentRuntimeClient({
    region: bedrock.region,
    maxAttempts: 1,
    requestHandler: new PooledHttp2Handler({ requestTimeout: bedrock.timeoutMs }),
  });
  const links = new SourceLinks({
    region: bedrock.region,
    s3Links: bedrock.kbS3Links,
    presignedUrlTtlSeconds: bedrock.kbPresignedUrlTtlSeconds,
  });
  const guardrail = bedrock.guardrail
    ? { id: bedrock.guardrail.id, version: bedrock.guardrail.version }
    : null;
  return {
    make(kb, modelId, converse) {
      const options = {
        client: agent,
        knowledgeBaseId: kb.id,
        region: bedrock.region,
        modelId,
        numberOfResults: bedrock.kbNumberOfResults,
        links,
        guardrail,
      };
      const retrieve = new RetrieveThenConverseModel({
        ...options,
        converse,
        systemPrompt: bedrock.systemPrompt,
      });
      if (kb.mode === 'retrieve') return retrieve;
      return new ManagedKnowledgeBaseModel({
        ...options,
        longQuestions: retrieve,
        modelArn: modelArnResolver({
          modelId,
          region: bedrock.region,
          // The explicit ARN names the configured model; a channel's own model derives its own.
          explicitArn: modelId === bedrock.modelId ? bedrock.modelArn : null,
          accountId: () => accountIdOf(agent, bedrock.region),
        }),
      });
    },
  };
}

/** The caller's account: from the credentials when they carry it, else from STS. */
async function accountIdOf(
  client: { config: { credentials: () => Promise<{ accountId?: string }> } },
  region: string,
): Promise<string> {
  const credentials = await client.config.credentials();
  if (credentials.accountId) return credentials.accountId;
  const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
  const sts = new STSClient({ region });
  try {
    const identity = await sts.send(new GetCallerIdentityCommand({}));
    if (!identity.Account) throw new Error('STS returned no account');
    return identity.Account;
  } finally {
    sts.destroy();
  }
}
