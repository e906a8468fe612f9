/**
 * What a Bedrock model takes besides text through Converse, with Converse's limits (AWS "Supported
 * models and model features"; PLATFORM-FACTS): images png, jpeg, gif, webp at most 3.75 MB, 8,000
 * pixels a side and 20 a request; documents pdf, csv, doc, docx, xls, xlsx, html, txt, md at most 4.5 MB and 5 a
 * request. Whether a model reads images and documents at all is its family's row in the capability
 * table (model-capabilities.ts, the one source of truth), corrected by BEDROCK_MODEL_INPUTS for the
 * configured model and by what Bedrock refused while the process ran.
 */
import type { ModelInputs } from '../conversation/ports.ts';
import { familyOf, type ModelCapabilities } from './model-capabilities.ts';

const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'];
const DOCUMENT_FORMATS = ['pdf', 'csv', 'doc', 'docx', 'xls', 'xlsx', 'html', 'txt', 'md'];

const LIMITS = {
  maxImageBytes: 3_750_000,
  // Converse refuses an image with a side over 8,000 pixels (API reference, ImageBlock).
  maxImageSide: 8_000,
  maxDocumentBytes: 4_500_000,
  maxImagesPerRequest: 20,
  maxDocumentsPerRequest: 5,
};

export const TEXT_ONLY: ModelInputs = { imageFormats: [], documentFormats: [], ...LIMITS };

/** A managed Knowledge Base (RetrieveAndGenerate) takes text only, whatever its model reads. */
export const MANAGED_INPUTS: ModelInputs = {
  ...TEXT_ONLY,
  textOnlyReason: 'The knowledge base answers from text only',
};

/** A model's inputs from its capabilities (table, override and learned refusals applied). */
export function inputsOf(capabilities: Pick<ModelCapabilities, 'images' | 'documents'>): ModelInputs {
  return {
    ...TEXT_ONLY,
    imageFormats: capabilities.images ? IMAGE_FORMATS : [],
    documentFormats: capabilities.documents ? DOCUMENT_FORMATS : [],
  };
}

/** By model family, from the capability table. */
export function modelInputsFor(modelId: string): ModelInputs {
  return inputsOf(familyOf(modelId).capabilities);
}

/**
 * BEDROCK_MODEL_INPUTS: `auto` (null: the capability table decides) or what the model takes
 * besides text: `text` (nothing), or `image`, `document`, or both, comma-separated.
 */
export function parseModelInputs(setting: string): Pick<ModelCapabilities, 'images' | 'documents'> | null {
  if (setting === 'auto') return null;
  const kinds = new Set(setting.split(',').map((kind) => kind.trim()));
  return { images: kinds.has('image'), documents: kinds.has('document') };
}

/** The configured model's inputs: BEDROCK_MODEL_INPUTS, or the table when it is `auto`. */
export function configuredModelInputs(modelId: string, setting: string): ModelInputs {
  return inputsOf(parseModelInputs(setting) ?? familyOf(modelId).capabilities);
}
