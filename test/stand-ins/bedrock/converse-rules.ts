/**
 * What Bedrock refuses of a Converse / ConverseStream request that its service model cannot
 * express (request-validator.ts checks the model's own constraints first). Each rule names where
 * it is written down; the wording follows Bedrock's ValidationException messages where known.
 *
 * @example
 * const problem = await converseRuleViolation(body); // null, or the ValidationException message
 */

/** Converse's limits on files (AWS API reference, ImageBlock and DocumentBlock; user guide "Use the Converse API"). */
export const CONVERSE_FILE_LIMITS = {
  // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ImageBlock.html
  maxImageBytes: 3_750_000,
  maxImageSide: 8_000,
  maxImagesPerRequest: 20,
  // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_DocumentBlock.html
  maxDocumentBytes: 4_500_000,
  maxDocumentsPerRequest: 5,
} as const;

/** Anthropic models on Bedrock take at most four cache checkpoints (user guide, "Prompt caching"). */
export const MAX_CACHE_POINTS = 4;

type Block = Record<string, unknown>;
interface ConverseBody {
  messages?: Array<{ role?: unknown; content?: unknown }>;
  system?: unknown;
  toolConfig?: unknown;
}

/** The first rule the request breaks, as Bedrock words it, or null. */
export async function converseRuleViolation(body: ConverseBody): Promise<string | null> {
  return messageRuleViolation(body) ?? fileCountViolation(body) ?? (await fileContentViolation(body));
}

function blocksOf(value: unknown): Block[] {
  return Array.isArray(value)
    ? value.filter((block): block is Block => typeof block === 'object' && block !== null)
    : [];
}

/** Roles, blank text, tool pairing, toolConfig and cache points (user guide, "Carry out a conversation with the Converse API operations"). */
function messageRuleViolation(body: ConverseBody): string | null {
  const messages = body.messages;
  const contents = (messages ?? []).map((message) => blocksOf(message.content));
  const allBlocks = contents.flat();
  // https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html
  if (allBlocks.some((block) => 'toolUse' in block || 'toolResult' in block) && body.toolConfig === undefined)
    return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  if (!Array.isArray(messages) || messages.length === 0)
    return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
  for (const [index, message] of messages.entries()) {
    if (index === 0 && message.role !== 'user')
      return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
    if (message.role !== (index % 2 === 0 ? 'user' : 'assistant'))
      return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.';
    const content = contents[index] ?? [];
    if (content.length === 0)
      return `The content field in the Message object at messages.${index} is empty. Add a ContentBlock object to the content field and try again.`;
    for (const [blockIndex, block] of content.entries()) {
      if (typeof block.text === 'string' && block.text.trim() === '')
        return `The text field in the ContentBlock object at messages.${index}.content.${blockIndex} is blank. Add text to the text field, and try again.`;
    }
    // A toolResult answers a toolUse of the assistant message right before it.
    const asked = new Set(
      (contents[index - 1] ?? []).flatMap((block) => {
        const use = block.toolUse as { toolUseId?: unknown } | undefined;
        return typeof use?.toolUseId === 'string' ? [use.toolUseId] : [];
      }),
    );
    for (const block of content) {
      const result = block.toolResult as { toolUseId?: unknown } | undefined;
      if (result && !asked.has(String(result.toolUseId)))
        return `The toolResult block with toolUseId ${String(result.toolUseId)} at messages.${index} does not answer a toolUse block of the previous message.`;
    }
  }
  // https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html
  const tools = (body.toolConfig as { tools?: unknown } | undefined)?.tools;
  const cachePoints = [...blocksOf(body.system), ...blocksOf(tools), ...allBlocks].filter(
    (block) => 'cachePoint' in block,
  ).length;
  if (cachePoints > MAX_CACHE_POINTS)
    return `The request has ${cachePoints} cachePoint blocks; at most ${MAX_CACHE_POINTS} are allowed.`;
  return null;
}

/**
 * A document's name: alphanumerics, single whitespace characters, hyphens, parentheses and square
 * brackets (API reference, DocumentBlock `name`).
 */
const DOCUMENT_NAME = /^(?:[A-Za-z0-9\-()[\]]|\s(?!\s))+$/;

function documentsAndImages(body: ConverseBody): { documents: Block[]; images: Block[] } {
  const blocks = (body.messages ?? []).flatMap((message) => blocksOf(message.content));
  return {
    documents: blocks.flatMap((block) => blocksOf([block.document])),
    images: blocks.flatMap((block) => blocksOf([block.image])),
  };
}

function fileCountViolation(body: ConverseBody): string | null {
  const { documents, images } = documentsAndImages(body);
  if (documents.length > CONVERSE_FILE_LIMITS.maxDocumentsPerRequest)
    return `The request has ${documents.length} documents; at most ${CONVERSE_FILE_LIMITS.maxDocumentsPerRequest} are allowed.`;
  if (images.length > CONVERSE_FILE_LIMITS.maxImagesPerRequest)
    return `The request has ${images.length} images; at most ${CONVERSE_FILE_LIMITS.maxImagesPerRequest} are allowed.`;
  const names = new Set<string>();
  for (const document of documents) {
    const name = String(document.name ?? '');
    if (!DOCUMENT_NAME.test(name))
      return `The document name "${name}" can only contain alphanumeric characters, whitespace characters (no more than one in a row), hyphens, parentheses and square brackets.`;
    // Names are unique across the whole request, not per message.
    if (names.has(name)) return "Messages can't contain duplicate document names.";
    names.add(name);
  }
  return null;
}

/** Bytes of a `source.bytes` blob (base64 in the JSON body), or null for another source. */
function sourceBytes(block: Block): Buffer | null {
  const bytes = (block.source as { bytes?: unknown } | undefined)?.bytes;
  return typeof bytes === 'string' ? Buffer.from(bytes, 'base64') : null;
}

async function fileContentViolation(body: ConverseBody): Promise<string | null> {
  const { documents, images } = documentsAndImages(body);
  for (const document of documents) {
    const bytes = sourceBytes(document);
    if (bytes && bytes.length > CONVERSE_FILE_LIMITS.maxDocumentBytes)
      return `The document ${String(document.name)} is ${bytes.length} bytes; at most ${CONVERSE_FILE_LIMITS.maxDocumentBytes} are allowed.`;
  }
  for (const [index, image] of images.entries()) {
    const bytes = sourceBytes(image);
    if (!bytes) continue;
    if (bytes.length > CONVERSE_FILE_LIMITS.maxImageBytes)
      return `Image ${index} is ${bytes.length} bytes; at most ${CONVERSE_FILE_LIMITS.maxImageBytes} are allowed.`;
    // Loaded on the first image only: most requests carry none.
    const { default: sharp } = await import('sharp');
    const size = await sharp(bytes)
      .metadata()
      .catch(() => null);
    if (!size)
      return `Image ${index} could not be processed: the bytes are not a ${String(image.format)} image.`;
    const side = Math.max(size.width ?? 0, size.pageHeight ?? size.height ?? 0);
    if (side > CONVERSE_FILE_LIMITS.maxImageSide)
      return `Image ${index} is ${size.width}x${size.pageHeight ?? size.height} pixels; each side can be at most ${CONVERSE_FILE_LIMITS.maxImageSide}.`;
  }
  return null;
}
