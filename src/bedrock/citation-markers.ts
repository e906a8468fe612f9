/**
 * Numbered citation markers in streamed answer text. Both Knowledge Base modes number distinct
 * documents 1, 2, 3… in the order they are first cited, so the markers and the Sources list agree.
 *
 * - Managed mode (`SpanMarkers`): Bedrock reports a cited span after streaming its text, so text is
 *   held back a little behind the last cited position; the marker then lands right after its span
 *   even when the span fell across chunks.
 * - Retrieve mode (`MarkerRenumbering`): the model writes `[k]` for passage document k; markers are
 *   renumbered to first-cited order as they stream.
 */
import type { CitedSource } from '../conversation/ports.ts';

/** Distinct documents in first-cited order. */
export class SourceNumbering {
  readonly sources: CitedSource[] = [];

  /** The 1-based number of `source`, adding it if new. */
  numberOf(source: CitedSource): number {
    const index = this.sources.findIndex((s) => s.id === source.id);
    if (index >= 0) return index + 1;
    this.sources.push(source);
    return this.sources.length;
  }
}

/** Text beyond the last cited position that may wait for its citation before it is shown. */
const HOLDBACK_CHARS = 600;

export class SpanMarkers {
  readonly numbering = new SourceNumbering();
  #text = '';
  /** How much of `#text` has been released. */
  #released = 0;
  /** Markers waiting to be inserted, by offset in the model's text. */
  #pending: Array<{ offset: number; marker: string }> = [];

  /** Adds model text; returns text (with markers) that can be shown now. */
  pushText(text: string): string {
    this.#text += text;
    return this.#release(Math.max(this.#released, this.#text.length - HOLDBACK_CHARS));
  }

  /** Records that the model text up to `endOffset` cites `sources`; returns text that can be shown now. */
  cite(endOffset: number, sources: CitedSource[]): string {
    const numbers = [...new Set(sources.map((source) => this.numbering.numberOf(source)))];
    if (numbers.length > 0) {
      // A span already shown gets its marker at the earliest point still unshown.
      const offset = Math.max(Math.min(endOffset, this.#text.length), this.#released);
      this.#pending.push({ offset, marker: numbers.map((n) => `[${n}]`).join('') });
    }
    return this.#release(Math.max(this.#released, Math.min(endOffset, this.#text.length)));
  }

  /** Everything still held back. */
  finish(): string {
    return this.#release(this.#text.length);
  }

  #release(upTo: number): string {
    if (upTo <= this.#released) return '';
    const markers = this.#pending.filter((p) => p.offset <= upTo).sort((a, b) => a.offset - b.offset);
    this.#pending = this.#pending.filter((p) => p.offset > upTo);
    let out = '';
    let cursor = this.#released;
    for (const { offset, marker } of markers) {
      out += this.#text.slice(cursor, offset) + marker;
      cursor = offset;
    }
    out += this.#text.slice(cursor, upTo);
    this.#released = upTo;
    return out;
  }
}

export class MarkerRenumbering {
  readonly numbering = new SourceNumbering();
  readonly #documents: CitedSource[];
  #held = '';

  /** `documents[k - 1]` is the document the model calls `[k]`. */
  constructor(documents: CitedSource[]) {
    this.#documents = documents;
  }

  pushText(text: string): string {
    this.#held += text;
    // A trailing "[", "[1" or "[12" may still become a marker: hold it for the next chunk.
    const partial = /\[\d{0,3}$/.exec(this.#held);
    const cut = partial ? partial.index : this.#held.length;
    const ready = this.#held.slice(0, cut);
    this.#held = this.#held.slice(cut);
    return this.#rewrite(ready);
  }

  finish(): string {
    const rest = this.#rewrite(this.#held);
    this.#held = '';
    return rest;
  }

  #rewrite(text: string): string {
    return text.replace(/\[(\d{1,3})\]/g, (whole, digits: string) => {
      const source = this.#documents[Number(digits) - 1];
      return source ? `[${this.numbering.numberOf(source)}]` : whole;
    });
  }
}
