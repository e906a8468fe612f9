/**
 * Which shared files go to the model, checked before the call against what the model takes
 * (ModelInputs: formats, sizes, how many a request), and one sentence for what was left out and why.
 * Files are read only once they are planned; what the reader refuses (a sign-in page instead of the
 * file, one larger than Slack said) is left out the same way.
 */
import type { Attachment, ImageFitter, ModelInputs } from './ports.ts';
import { type FileReader, type FileRef, FileUnreadableError } from './ports.ts';

/** Roughly what an image costs in input tokens (Claude: about width × height / 750, capped near 1,600). */
export const IMAGE_TOKENS = 1_600;

const FORMAT_BY_MIMETYPE: Record<string, { kind: Attachment['kind']; format: string }> = {
  'image/png': { kind: 'image', format: 'png' },
  'image/jpeg': { kind: 'image', format: 'jpeg' },
  'image/jpg': { kind: 'image', format: 'jpeg' },
  'image/gif': { kind: 'image', format: 'gif' },
  'image/webp': { kind: 'image', format: 'webp' },
  'application/pdf': { kind: 'document', format: 'pdf' },
  'text/csv': { kind: 'document', format: 'csv' },
  'application/msword': { kind: 'document', format: 'doc' },
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': {
    kind: 'document',
    format: 'docx',
  },
  'application/vnd.ms-excel': { kind: 'document', format: 'xls' },
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': { kind: 'document', format: 'xlsx' },
  'text/html': { kind: 'document', format: 'html' },
  'text/plain': { kind: 'document', format: 'txt' },
  'text/markdown': { kind: 'document', format: 'md' },
};
const FORMAT_BY_EXTENSION: Record<string, { kind: Attachment['kind']; format: string }> = {
  png: { kind: 'image', format: 'png' },
  jpg: { kind: 'image', format: 'jpeg' },
  jpeg: { kind: 'image', format: 'jpeg' },
  gif: { kind: 'image', format: 'gif' },
  webp: { kind: 'image', format: 'webp' },
  pdf: { kind: 'document', format: 'pdf' },
  csv: { kind: 'document', format: 'csv' },
  doc: { kind: 'document', format: 'doc' },
  docx: { kind: 'document', format: 'docx' },
  xls: { kind: 'document', format: 'xls' },
  xlsx: { kind: 'document', format: 'xlsx' },
  html: { kind: 'document', format: 'html' },
  htm: { kind: 'document', format: 'html' },
  txt: { kind: 'document', format: 'txt' },
  md: { kind: 'document', format: 'md' },
};

/** Converse's kind and format for a file, or null when it is neither an image nor a document it reads. */
export function formatOf(file: FileRef): { kind: Attachment['kind']; format: string } | null {
  const byType = FORMAT_BY_MIMETYPE[file.mimetype.toLowerCase().split(';')[0]?.trim() ?? ''];
  if (byType) return byType;
  const extension = file.name.includes('.') ? (file.name.split('.').pop() ?? '').toLowerCase() : '';
  return FORMAT_BY_EXTENSION[extension] ?? null;
}

export interface LeftOut {
  file: FileRef;
  why: string;
}

export interface ReadFile {
  file: FileRef;
  attachment: Attachment;
}

/** Counts what a request has used so far, so that files of several turns share the limits. */
export class AttachmentBudget {
  readonly #inputs: ModelInputs;
  images = 0;
  documents = 0;

  constructor(inputs: ModelInputs) {
    this.#inputs = inputs;
  }

  /** Why `file` cannot go with this request, or null (and its place is then taken). */
  /** Each side of an image at most, in pixels. */
  get maxImageSide(): number {
    return this.#inputs.maxImageSide;
  }

  take(file: FileRef): { kind: Attachment['kind']; format: string; maxBytes: number } | string {
    const inputs = this.#inputs;
    const found = formatOf(file);
    if (inputs.imageFormats.length === 0 && inputs.documentFormats.length === 0)
      return inputs.textOnlyReason
        ? inputs.textOnlyReason.toLowerCase()
        : 'this model reads text only, no files';
    if (!found) return 'not an image or a document I can read';
    if (found.kind === 'image' && !inputs.imageFormats.includes(found.format))
      return inputs.imageFormats.length === 0
        ? 'this model does not read images'
        : `${found.format} images are not supported`;
    if (found.kind === 'document' && !inputs.documentFormats.includes(found.format))
      return inputs.documentFormats.length === 0
        ? 'this model does not read documents'
        : `${found.format} files are not supported`;
    const maxBytes = found.kind === 'image' ? inputs.maxImageBytes : inputs.maxDocumentBytes;
    if (file.size !== null && file.size > maxBytes) return tooLarge(found.kind, file.size, maxBytes);
    if (found.kind === 'image' && this.images >= inputs.maxImagesPerRequest)
      return `at most ${inputs.maxImagesPerRequest} images go with one question`;
    if (found.kind === 'document' && this.documents >= inputs.maxDocumentsPerRequest)
      return `at most ${inputs.maxDocumentsPerRequest} documents go with one question`;
    if (found.kind === 'image') this.images += 1;
    else this.documents += 1;
    return { ...found, maxBytes };
  }

  /** Gives back a place taken for a file that could not be read after all. */
  release(kind: Attachment['kind']): void {
    if (kind === 'image') this.images -= 1;
    else this.documents -= 1;
  }
}

/**
 * Reads the files that fit `budget`, in order; the rest are left out with the reason. Images go
 * through `images` (when given), which scales down one with a side over the model's limit.
 */
export async function readWithin(
  files: FileRef[],
  budget: AttachmentBudget,
  reader: FileReader,
  images?: ImageFitter,
): Promise<{ read: ReadFile[]; leftOut: LeftOut[] }> {
  const read: ReadFile[] = [];
  const leftOut: LeftOut[] = [];
  for (const file of files) {
    const place = budget.take(file);
    if (typeof place === 'string') {
      leftOut.push({ file, why: place });
      continue;
    }
    try {
      let bytes = await reader.read(file, place.maxBytes);
      if (place.kind === 'image' && images) {
        const fitted = await images.fit(
          { format: place.format, bytes },
          { maxSide: budget.maxImageSide, maxBytes: place.maxBytes },
        );
        if ('why' in fitted) {
          budget.release(place.kind);
          leftOut.push({ file, why: fitted.why });
          continue;
        }
        bytes = fitted.bytes;
      }
      read.push({ file, attachment: { kind: place.kind, format: place.format, bytes } });
    } catch (error) {
      budget.release(place.kind);
      leftOut.push({ file, why: unreadableWhy(error, place.kind, place.maxBytes, file) });
    }
  }
  return { read, leftOut };
}

function unreadableWhy(error: unknown, kind: Attachment['kind'], maxBytes: number, file: FileRef): string {
  if (!(error instanceof FileUnreadableError)) return 'it could not be read';
  if (error.reason === 'no_access')
    return 'Slack did not let me open it (the app needs the files:read permission)';
  if (error.reason === 'too_large') return tooLarge(kind, file.size, maxBytes);
  return 'it could not be downloaded from Slack';
}

function tooLarge(kind: Attachment['kind'], size: number | null, maxBytes: number): string {
  const what = kind === 'image' ? 'an image' : 'a document';
  const actual = size === null ? '' : `${megabytes(size)}; `;
  return `${actual}${what} can be at most ${megabytes(maxBytes)}`;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1).replace(/\.0$/, '')} MB`;
}

/** One sentence naming each file left out and why. */
export function leftOutSentence(leftOut: LeftOut[]): string {
  const parts = leftOut.map(({ file, why }) => `${file.name} (${why})`);
  const list = parts.length <= 1 ? (parts[0] ?? '') : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
  return `I left out ${list}.`;
}

/** Input tokens the attachments are estimated to cost (images fixed, documents by size). */
export function attachmentTokens(attachments: Attachment[]): number {
  return attachments.reduce(
    (sum, attachment) =>
      sum + (attachment.kind === 'image' ? IMAGE_TOKENS : Math.ceil(attachment.bytes.length / 4)),
    0,
  );
}
