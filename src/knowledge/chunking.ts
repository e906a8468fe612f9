/**
 * Splits a document's text into passages for embedding: along headings first, then paragraphs,
 * then sentences, each passage about `targetTokens` long (about four characters a token) with a
 * little of the previous passage repeated at its start, so that a fact cut at a boundary is found
 * from either side. A heading is repeated at the start of every passage under it.
 */

export interface ChunkOptions {
  /** About this many tokens a passage (500 by default). */
  targetTokens?: number;
  /** Tokens of the previous passage repeated at the start of the next (50 by default). */
  overlapTokens?: number;
}

const CHARS_PER_TOKEN = 4;
const HEADING = /^(#{1,6}\s+\S.*|[A-Z][^\n.!?]{0,80}:?)$/;

interface Section {
  heading: string | null;
  paragraphs: string[];
}

/** The text's sections: a Markdown heading (`# …`) starts one; paragraphs are split by blank lines. */
function sections(text: string): Section[] {
  const out: Section[] = [{ heading: null, paragraphs: [] }];
  for (const block of text.replace(/\r\n?/g, '\n').split(/\n\s*\n/)) {
    const trimmed = block.trim();
    if (!trimmed) continue;
    const firstLine = trimmed.split('\n', 1)[0] ?? '';
    if (
      /^#{1,6}\s+\S/.test(firstLine) ||
      (trimmed === firstLine && HEADING.test(firstLine) && firstLine.length < 60)
    ) {
      out.push({ heading: firstLine.replace(/^#+\s*/, ''), paragraphs: [] });
      const rest = trimmed.slice(firstLine.length).trim();
      if (rest) out.at(-1)?.paragraphs.push(rest);
    } else {
      out.at(-1)?.paragraphs.push(trimmed);
    }
  }
  return out.filter((section) => section.paragraphs.length > 0 || section.heading);
}

/** A paragraph longer than `max` characters, cut at sentence ends (or hard, when a sentence is longer). */
function pieces(paragraph: string, max: number): string[] {
  if (paragraph.length <= max) return [paragraph];
  const sentences = paragraph.match(/[^.!?\n]+[.!?]*\s*|\n+/g) ?? [paragraph];
  const out: string[] = [];
  let current = '';
  for (const sentence of sentences) {
    if (current.length + sentence.length > max && current) {
      out.push(current.trim());
      current = '';
    }
    if (sentence.length > max) {
      for (let i = 0; i < sentence.length; i += max) out.push(sentence.slice(i, i + max).trim());
      continue;
    }
    current += sentence;
  }
  if (current.trim()) out.push(current.trim());
  return out.filter(Boolean);
}

/** The passages of `text`, in order. */
export function chunkText(text: string, options: ChunkOptions = {}): string[] {
  const max = (options.targetTokens ?? 500) * CHARS_PER_TOKEN;
  const overlap = (options.overlapTokens ?? 50) * CHARS_PER_TOKEN;
  const chunks: string[] = [];
  for (const section of sections(text)) {
    const prefix = section.heading ? `${section.heading}\n` : '';
    const room = Math.max(200, max - prefix.length);
    let current = '';
    // Whether `current` holds text not yet in a passage (beyond the repeated tail).
    let fresh = false;
    for (const paragraph of section.paragraphs) {
      // A piece leaves room for the repeated tail, so no passage grows past `room`.
      for (const piece of pieces(paragraph, Math.max(100, room - overlap))) {
        if (fresh && current.length + piece.length > room) {
          chunks.push(`${prefix}${current.trim()}`);
          // The tail of this passage starts the next one (at a word boundary).
          const tail = current.trim().slice(-overlap);
          current = overlap > 0 ? `${tail.slice(tail.indexOf(' ') + 1)}\n\n` : '';
          fresh = false;
        }
        current += `${piece}\n\n`;
        fresh = true;
      }
    }
    if (fresh) chunks.push(`${prefix}${current.trim()}`);
  }
  return chunks;
}
