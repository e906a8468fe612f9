/**
 * The text of a shared file, for learning: plain text, Markdown and CSV as they are; HTML through
 * `html-to-text`; PDF through `unpdf` (pdf.js, no native parts); DOCX through `mammoth`. Parsers
 * load only when such a file comes. The text is bounded (`maxChars`): what is beyond is not learned.
 */

export type DocumentKind = 'text' | 'markdown' | 'csv' | 'html' | 'pdf' | 'docx';

const DOCX_MIME = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** What kind of document a file is, by its type and name; null for what is not learned (images, archives…). */
export function documentKind(file: { name: string; mimetype: string }): DocumentKind | null {
  const mime = file.mimetype.toLowerCase().split(';')[0]?.trim() ?? '';
  const ext = file.name.toLowerCase().split('.').pop() ?? '';
  if (mime === 'application/pdf' || ext === 'pdf') return 'pdf';
  if (mime === DOCX_MIME || ext === 'docx') return 'docx';
  if (mime === 'text/html' || ext === 'html' || ext === 'htm') return 'html';
  if (mime === 'text/csv' || ext === 'csv') return 'csv';
  if (mime === 'text/markdown' || ext === 'md' || ext === 'markdown') return 'markdown';
  if (mime.startsWith('text/') || ['txt', 'text', 'log', 'json', 'yaml', 'yml'].includes(ext)) return 'text';
  return null;
}

/** The document's text, at most `maxChars` characters. Throws when the parser cannot read it. */
export async function documentText(kind: DocumentKind, bytes: Uint8Array, maxChars: number): Promise<string> {
  let text: string;
  switch (kind) {
    case 'pdf': {
      const { extractText, getDocumentProxy } = await import('unpdf');
      const pdf = await getDocumentProxy(new Uint8Array(bytes));
      text = (await extractText(pdf, { mergePages: false })).text.join('\n\n');
      break;
    }
    case 'docx': {
      const mammoth = await import('mammoth');
      text = (await mammoth.extractRawText({ buffer: Buffer.from(bytes) })).value;
      break;
    }
    case 'html': {
      const { convert } = await import('html-to-text');
      text = convert(new TextDecoder().decode(bytes), {
        wordwrap: false,
        selectors: [
          { selector: 'a', options: { ignoreHref: true } },
          { selector: 'img', format: 'skip' },
        ],
      });
      break;
    }
    default:
      text = new TextDecoder().decode(bytes);
  }
  return text.slice(0, maxChars);
}
