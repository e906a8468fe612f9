/**
 * What a Bedrock model takes besides text through Converse, by model family, with Converse's limits
 * (AWS "Supported models and model features"; PLATFORM-FACTS): images png, jpeg, gif, webp at most
 * 3.75 MB and 20 a request; documents pdf, csv, doc, docx, xls, xlsx, html, txt, md at most 4.5 MB
 * and 5 a request. Families not listed get text only: a clear sentence beats a refused call.
 */
import type { ModelInputs } from '../conversation/ports.ts';

const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'];
const DOCUMENT_FORMATS = ['pdf', 'csv', 'doc', 'docx', 'xls', 'xlsx', 'html', 'txt', 'md'];

const LIMITS = {
  maxImageBytes: 3_750_000,
  maxDocumentBytes: 4_500_000,
  maxImagesPerRequest: 20,
  maxDocumentsPerRequest: 5,
};

export const TEXT_ONLY: ModelInputs = { imageFormats: [], documentFormats: [], ...LIMITS };

/** The family part of a model id: without a cross-region prefix (`us.`, `eu.`…) or an ARN's path. */
function familyOf(modelId: string): string {
  const id = modelId.includes('/') ? (modelId.split('/').pop() ?? modelId) : modelId;
  return id.replace(/^(us|eu|apac|jp|global|us-gov|ca|au)\./, '');
}

export function modelInputsFor(modelId: string): ModelInputs {
  const family = familyOf(modelId);
  const both = { imageFormats: IMAGE_FORMATS, documentFormats: DOCUMENT_FORMATS, ...LIMITS };
  // Claude 3 and later, Nova Lite/Pro/Premier, Mistral Pixtral: images and documents.
  if (/^anthropic\.claude-(3|sonnet-4|opus-4|haiku-4|[4-9])/.test(family)) return both;
  if (/^amazon\.nova-(lite|pro|premier)/.test(family)) return both;
  if (/^mistral\.pixtral/.test(family)) return both;
  // Llama 3.2 11B/90B and Llama 4 read images too.
  if (/^meta\.llama(3-2-(11|90)b|4)/.test(family)) return both;
  // Most other text models take documents but no images (Converse's document chat).
  if (/^(meta\.llama|mistral\.|cohere\.command-r|amazon\.nova-micro)/.test(family))
    return { ...TEXT_ONLY, documentFormats: DOCUMENT_FORMATS };
  return TEXT_ONLY;
}

/**
 * BEDROCK_MODEL_INPUTS: `auto` (by model family, above) or what the model takes besides text:
 * `text` (nothing), or `image`, `document`, or both, comma-separated.
 */
export function configuredModelInputs(modelId: string, setting: string): ModelInputs {
  if (setting === 'auto') return modelInputsFor(modelId);
  const kinds = new Set(setting.split(',').map((kind) => kind.trim()));
  return {
    ...TEXT_ONLY,
    imageFormats: kinds.has('image') ? IMAGE_FORMATS : [],
    documentFormats: kinds.has('document') ? DOCUMENT_FORMATS : [],
  };
}
