/**
 * The model port from the configuration (Converse, or a Knowledge Base), with each feature a model
 * refuses counted and logged once.
 */
import { createAnswerModel } from '../bedrock/bedrock-models.ts';
import type { Config } from '../config.ts';
import type { AnswerModel } from '../conversation/ports.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';

export interface ModelParts {
  model: AnswerModel;
  /** The configuration answers follow: without the Knowledge Base when it is offered as a tool. */
  answering: Config;
}

export async function buildModel(
  config: Config,
  given: AnswerModel | undefined,
  metrics: Metrics,
  logger: Logger,
): Promise<ModelParts> {
  // With the Knowledge Base as a tool, the model decides when to look: answers are plain ones.
  const answering = config.builtinTools.includes('search_knowledge_base')
    ? withoutKnowledgeBase(config)
    : config;
  const model =
    given ??
    (await createAnswerModel(answering, {
      onFeatureRefused: ({ modelId, feature, message }) => {
        metrics.modelFeatureRefusals.inc({ model: modelId, feature });
        logger.warn(
          { model: modelId, feature, bedrockMessage: message },
          'model refused a feature; sending it without from now on',
        );
      },
    }));
  return { model, answering };
}

function withoutKnowledgeBase(config: Config): Config {
  return { ...config, bedrock: { ...config.bedrock, knowledgeBaseId: null } };
}
