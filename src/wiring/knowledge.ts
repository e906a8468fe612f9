/**
 * Channel knowledge (issue 22), when KNOWLEDGE_INDEX is set: Titan embeddings on their own Bedrock
 * Runtime client, the vector index KNOWLEDGE_INDEX names (its vectors in the bot's store, or S3
 * Vectors), and the Slack and settings lookups it needs. src/knowledge/ itself imports ports only.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { ModelCapabilityBook } from '../bedrock/model-capabilities.ts';
import { PooledHttp2Handler } from '../bedrock/pooled-http2-handler.ts';
import { createTitanEmbedder } from '../bedrock/titan-embeddings.ts';
import type { Config } from '../config.ts';
import type { VectorIndex } from '../conversation/knowledge-ports.ts';
import type { Toolbox } from '../conversation/ports.ts';
import { ChannelKnowledge, type ChannelKnowledgeOptions } from '../knowledge/channel-knowledge.ts';
import { EmbeddedVectorIndex } from '../knowledge/embedded-vector-index.ts';
import { KnowledgeSearchTool } from '../knowledge/knowledge-search-tool.ts';
import type { Logger } from '../logger.ts';
import { escapeMrkdwn } from '../slack/render/slack-safe-text.ts';
import type { SlackApi } from '../slack/slack-api.ts';
import { sharedFileInfo } from '../slack/slack-file-info.ts';
import { SlackFiles } from '../slack/slack-files.ts';
import { builtInToolbox } from '../tools/built-in-tool.ts';
import type { ControlParts } from './answer-controls.ts';
import type { StoreParts } from './store.ts';

export interface KnowledgeParts {
  knowledge: ChannelKnowledge;
  /** The `search_channel_knowledge` tool, as a toolbox beside the others. */
  toolbox: Toolbox;
  close(): Promise<void>;
}

export async function buildKnowledge(
  config: Config,
  deps: { stored: StoreParts; slack: SlackApi; controls: ControlParts; logger: Logger },
): Promise<KnowledgeParts | null> {
  const settings = config.knowledge;
  if (!settings) return null;
  const { slack, logger } = deps;
  const runtime = new BedrockRuntimeClient({
    region: config.bedrock.region,
    maxAttempts: 1,
    requestHandler: new PooledHttp2Handler({ requestTimeout: config.bedrock.timeoutMs }),
  });
  const embedder = await createTitanEmbedder({
    client: runtime,
    region: config.bedrock.region,
    modelId: settings.embeddingModel,
    dimensions: settings.dimensions,
    concurrency: settings.embedConcurrency,
  });
  const index = await buildIndex(config, settings, deps.stored);
  const capabilities = new ModelCapabilityBook();
  const knowledge = new ChannelKnowledge({
    ...slackLookups(config, slack, deps),
    store: deps.stored.knowledge,
    index: index.index,
    embedder,
    takesTools: (modelId) => capabilities.capabilitiesOf(modelId).tools,
    onTokens: (who, tokens) => {
      deps.controls.usage
        .recordEmbedding(who, embedder.modelId, tokens)
        .catch((err: unknown) => logger.debug({ err }, 'could not count embedding tokens'));
    },
    logger,
    maxFileBytes: settings.maxFileBytes,
    topK: settings.topK,
    answeredBeforeScore: settings.answeredBeforeScore,
  });
  deps.controls.onSettingsChange.to = (change) => knowledge.settingsChanged(change);
  return {
    knowledge,
    toolbox: builtInToolbox(new KnowledgeSearchTool(knowledge)),
    async close() {
      await knowledge.idle();
      await index.close();
      runtime.destroy();
    },
  };
}

type KnowledgeSettings = NonNullable<Config['knowledge']>;

/** The vector index KNOWLEDGE_INDEX names: S3 Vectors (its client loaded only then), or the embedded one. */
async function buildIndex(
  config: Config,
  settings: KnowledgeSettings,
  stored: StoreParts,
): Promise<{ index: VectorIndex; close: () => Promise<void> }> {
  if (settings.index !== 's3vectors')
    return {
      index: new EmbeddedVectorIndex({ store: stored.knowledge, maxChunks: settings.maxChunks }),
      close: async () => undefined,
    };
  const { createS3VectorsIndex } = await import('../knowledge/s3-vectors-index.ts');
  const s3 = await createS3VectorsIndex({
    region: config.bedrock.region,
    bucket: settings.s3VectorsBucket ?? '',
    dimensions: settings.dimensions,
    timeoutMs: config.bedrock.timeoutMs,
  });
  return { index: s3, close: () => s3.close() };
}

/** What channel knowledge reads from Slack and the channel settings, and how it tells a person. */
function slackLookups(
  config: Config,
  slack: SlackApi,
  deps: { stored: StoreParts; controls: ControlParts },
): Pick<ChannelKnowledgeOptions, 'files' | 'fileInfo' | 'learning' | 'permalink' | 'tell'> {
  const store = deps.stored.knowledge;
  return {
    files: new SlackFiles({ botToken: () => slack.token(), slackApiUrl: config.slack.apiUrl, slack }),
    fileInfo: (fileId) => sharedFileInfo(slack, fileId),
    learning: async (teamId, channelId) => {
      if (channelId.startsWith('D'))
        return { files: await store.learning(`${teamId}:${channelId}`), answers: false };
      const channel = await deps.controls.channelSettings.get(teamId, channelId);
      return { files: channel.learnFromFiles, answers: channel.learnFromAnswers };
    },
    permalink: async (channelId, ts) =>
      (await slack.call<{ permalink?: string }>('chat.getPermalink', { channel: channelId, message_ts: ts }))
        .permalink ?? null,
    tell: async (channelId, userId, text) => {
      await slack.call('chat.postEphemeral', { channel: channelId, user: userId, text: escapeMrkdwn(text) });
    },
  };
}
