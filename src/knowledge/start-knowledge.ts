/**
 * Builds channel knowledge from the configuration (the composition for issue 22, called by
 * bot.ts): Titan embeddings on their own Bedrock Runtime client, the vector index KNOWLEDGE_INDEX
 * names, and the Slack and settings lookups it needs. The only file of this folder that imports
 * adapters; the rest import ports alone.
 */
import { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import { ModelCapabilityBook } from '../bedrock/model-capabilities.ts';
import { PooledHttp2Handler } from '../bedrock/pooled-http2-handler.ts';
import { createTitanEmbedder } from '../bedrock/titan-embeddings.ts';
import type { Config } from '../config.ts';
import type { ChannelSettings } from '../conversation/channel-settings.ts';
import type { KnowledgeStore, VectorIndex } from '../conversation/knowledge-ports.ts';
import type { FileReader } from '../conversation/ports.ts';
import type { UsageLedger } from '../conversation/usage-ledger.ts';
import type { Logger } from '../logger.ts';
import { escapeMrkdwn } from '../slack/render/slack-safe-text.ts';
import type { SlackApi } from '../slack/slack-api.ts';
import { sharedFileInfo } from '../slack/slack-file-info.ts';
import { ChannelKnowledge } from './channel-knowledge.ts';
import { EmbeddedVectorIndex } from './embedded-vector-index.ts';
import { KnowledgeSearchTool } from './knowledge-search-tool.ts';

export interface StartedKnowledge {
  knowledge: ChannelKnowledge;
  tool: KnowledgeSearchTool;
  close(): Promise<void>;
}

export async function startKnowledge(
  config: Config,
  deps: {
    store: KnowledgeStore;
    slack: SlackApi;
    files: FileReader;
    settings: ChannelSettings;
    usage: UsageLedger;
    logger: Logger;
  },
): Promise<StartedKnowledge | null> {
  const settings = config.knowledge;
  if (!settings) return null;
  const { store, slack, logger } = deps;
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
  const closers: Array<() => Promise<void> | void> = [() => runtime.destroy()];
  let index: VectorIndex;
  if (settings.index === 's3vectors') {
    const { createS3VectorsIndex } = await import('./s3-vectors-index.ts');
    const s3 = await createS3VectorsIndex({
      region: config.bedrock.region,
      bucket: settings.s3VectorsBucket ?? '',
      dimensions: settings.dimensions,
      timeoutMs: config.bedrock.timeoutMs,
    });
    closers.push(() => s3.close());
    index = s3;
  } else {
    index = new EmbeddedVectorIndex({ store, maxChunks: settings.maxChunks });
  }
  const capabilities = new ModelCapabilityBook();
  const knowledge = new ChannelKnowledge({
    store,
    index,
    embedder,
    files: deps.files,
    fileInfo: (fileId) => sharedFileInfo(slack, fileId),
    learning: async (teamId, channelId) => {
      if (channelId.startsWith('D'))
        return { files: await store.learning(`${teamId}:${channelId}`), answers: false };
      const channel = await deps.settings.get(teamId, channelId);
      return { files: channel.learnFromFiles, answers: channel.learnFromAnswers };
    },
    permalink: async (channelId, ts) =>
      (await slack.call<{ permalink?: string }>('chat.getPermalink', { channel: channelId, message_ts: ts }))
        .permalink ?? null,
    takesTools: (modelId) => capabilities.capabilitiesOf(modelId).tools,
    onTokens: (who, tokens) => {
      deps.usage
        .recordEmbedding(who, embedder.modelId, tokens)
        .catch((err: unknown) => logger.debug({ err }, 'could not count embedding tokens'));
    },
    tell: async (channelId, userId, text) => {
      await slack.call('chat.postEphemeral', { channel: channelId, user: userId, text: escapeMrkdwn(text) });
    },
    logger,
    maxFileBytes: settings.maxFileBytes,
    topK: settings.topK,
    answeredBeforeScore: settings.answeredBeforeScore,
  });
  return {
    knowledge,
    tool: new KnowledgeSearchTool(knowledge),
    async close() {
      await knowledge.idle();
      for (const close of closers) await close();
    },
  };
}
