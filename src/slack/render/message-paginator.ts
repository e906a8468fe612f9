/**
 * Splits rendered answer text into Slack messages of at most `limitChars` while it streams.
 *
 * Text is appended as soon as it arrives while the message has room. Only near the limit is text
 * held, so that a break can land on a good boundary:
 * - a code fence opening in a message more than half full: the whole code block is held until it
 *   closes (appended if it fits, else moved to the next message) or until it can no longer fit
 *   (then the break goes before the fence and the block streams in the next message);
 * - with less than `holdThresholdChars` of room left: a paragraph starting there is held until it
 *   ends (appended if it fits, else the break goes before it); inside a paragraph already under way,
 *   the current line, and inside a line already under way, the current word.
 * So breaks fall at paragraph boundaries where possible, else at line boundaries, else at
 * whitespace, else (a word longer than the threshold) anywhere.
 *
 * A code block is split only when it is longer than a whole message, or when it opened in a message
 * at most half full (it streams at once) and outgrew the room left there. Then the fence is closed at
 * the end of one message and reopened with the same marker and info string at the start of the next.
 * A message that starts in the middle of a line (a line longer than the threshold, cut at whitespace
 * or hard) starts with a zero-width space, so the rest of the line cannot read as a fence, heading or
 * list item. These repairs (`repair: true`) count toward the limit; without them the appends are
 * exactly the input.
 *
 * Every decision depends only on the text, never on how it was chunked, so the messages are the
 * same as `paginate(wholeText)`.
 */

import type { CodeFence } from './code-fence.ts';
import { isFenceClose, parseFenceOpen } from './code-fence.ts';
import { ZERO_WIDTH_SPACE } from './slack-safe-text.ts';

/** Slack's limit for `markdown_text` (per call) and for a `markdown` block. */
export const SLACK_MESSAGE_LIMIT_CHARS = 12_000;
/** Smallest limit the paginator accepts: room for fence repairs and some text. */
export const MIN_LIMIT_CHARS = 16;

/**
 * `append` adds text to the current message; `break` closes it (the next append starts a new one).
 * `repair` marks text that is not part of the input: fence close/reopen, or the mid-line ZWSP.
 */
export type PageOp = { type: 'append'; text: string; repair?: true } | { type: 'break' };

export type MessagePaginatorOptions = {
  /** Largest message, in UTF-16 code units (JS string length); Slack's own unit is assumed no smaller. */
  limitChars: number;
  /** Remaining room below which paragraphs, lines and words are held. Default: a quarter of the limit. */
  holdThresholdChars?: number;
};

/** The fence repair strings of one code block; `null` when they could not fit (absurd fences). */
type Repairs = { readonly reopen: string; readonly reserve: number };
/** The extent of a held unit: its end when known, and how much of it is already certain. */
type Unit = { readonly end: number | null; readonly known: number };

/** Whole-text pagination; the same messages a {@link MessagePaginator} produces for any chunking. */
export function paginate(text: string, limitChars: number = SLACK_MESSAGE_LIMIT_CHARS): string[] {
  const paginator = new MessagePaginator({ limitChars });
  return pagesFromOps([...paginator.push(text), ...paginator.finish()]);
}

/** Applies page operations: the text of each message, repairs included. */
export function pagesFromOps(ops: readonly PageOp[]): string[] {
  const pages: string[] = [];
  let current: string | null = null;
  for (const op of ops) {
    if (op.type === 'break') {
      if (current !== null) pages.push(current);
      current = null;
    } else {
      current = (current ?? '') + op.text;
    }
  }
  if (current !== null) pages.push(current);
  return pages;
}

export class MessagePaginator {
  readonly #limit: number;
  readonly #threshold: number;
  /** Characters in the current message, repairs included. */
  #used = 0;
  /** Input characters in the current message (a message is never closed without any). */
  #content = 0;
  /** Input not yet appended. */
  #buffer = '';
  #highSurrogate = '';
  /** The appended part of the current input line, without "\n"; empty at a line start. */
  #line = '';
  #previousLineBlank = true;
  #previousLineClosedFence = false;
  /** The current line's {@link #openingFenceReserve}, once known. */
  #lineReserve: number | null = null;
  #fence: CodeFence | null = null;
  #repairs: Repairs | null = null;
  #ops: PageOp[] = [];
  #finished = false;

  constructor(options: MessagePaginatorOptions) {
    const { limitChars } = options;
    if (!Number.isInteger(limitChars) || limitChars < MIN_LIMIT_CHARS) {
      throw new RangeError(`limitChars must be an integer >= ${MIN_LIMIT_CHARS}, got ${limitChars}`);
    }
    const threshold = options.holdThresholdChars ?? Math.floor(limitChars / 4);
    // At most a quarter, so that a fresh message (after repairs) always starts with more room than that.
    if (!Number.isInteger(threshold) || threshold < 2 || threshold > limitChars / 4) {
      throw new RangeError(`holdThresholdChars must be an integer in [2, limitChars / 4], got ${threshold}`);
    }
    this.#limit = limitChars;
    this.#threshold = threshold;
  }

  /** Takes more rendered text; returns what to do with the messages now. */
  push(text: string): PageOp[] {
    if (this.#finished) throw new Error('MessagePaginator: push after finish');
    // A chunk may end inside a surrogate pair; its first half waits, so no append ends in half a character.
    const joined = this.#highSurrogate + text;
    const last = joined.charCodeAt(joined.length - 1);
    const cut = last >= 0xd800 && last <= 0xdbff ? joined.length - 1 : joined.length;
    this.#highSurrogate = joined.slice(cut);
    this.#buffer += joined.slice(0, cut);
    this.#advance(false);
    return this.#takeOps();
  }

  /** Ends the text; returns the operations for everything still held. */
  finish(): PageOp[] {
    if (this.#finished) return [];
    this.#finished = true;
    this.#buffer += this.#highSurrogate;
    this.#highSurrogate = '';
    this.#advance(true);
    return this.#takeOps();
  }

  #takeOps(): PageOp[] {
    const ops = this.#ops;
    this.#ops = [];
    return ops;
  }

  #advance(final: boolean): void {
    while (this.#buffer.length > 0) {
      const progressed = this.#fence === null ? this.#stepInText(final) : this.#stepInCode(final);
      if (!progressed) return;
    }
  }

  /** One decision outside code; `false` when it needs more text. */
  #stepInText(final: boolean): boolean {
    const reserve = this.#openingFenceReserve(final);
    if (reserve === null) return false;
    const room = this.#limit - this.#used - reserve;
    if (this.#line !== '') {
      return room >= this.#threshold ? this.#emitFree(room) : this.#stepWord(room, final);
    }
    if (this.#used <= this.#limit / 2 && room >= this.#threshold) return this.#emitFree(room);

    const newline = this.#buffer.indexOf('\n');
    const complete = newline !== -1 || final;
    const lineText = newline === -1 ? this.#buffer : this.#buffer.slice(0, newline);
    if (!complete && couldOpenFence(lineText)) return false;
    const fence = complete ? parseFenceOpen(lineText) : null;
    if (fence !== null) return this.#holdUnit(this.#codeBlockUnit(fence, final), room);
    if (room >= this.#threshold) return this.#emitFree(room);
    const paragraphStart = this.#previousLineBlank || this.#previousLineClosedFence;
    return this.#holdUnit(paragraphStart ? this.#paragraphUnit(final) : this.#lineUnit(final), room);
  }

  /**
   * Room kept, on a line that starts with a fence marker, for the repair that would close the code
   * block it may open in this message. Known once the marker run ends (`null` until then), so that
   * the room at every position of the line is the same however the text was chunked.
   */
  #openingFenceReserve(final: boolean): number | null {
    if (this.#lineReserve !== null) return this.#lineReserve;
    const newline = this.#buffer.indexOf('\n');
    const known = this.#line + (newline === -1 ? this.#buffer : this.#buffer.slice(0, newline));
    const run = /^[ \t]*(`+|~+)?/.exec(known);
    const runLength = run?.[0].length ?? 0;
    if (runLength === known.length && newline === -1 && !final) return null;
    const marker = run?.[1] ?? '';
    // Only markers short enough for repairs (see #repairsFor) need the room.
    const reserve = marker.length >= 3 && 2 * (marker.length + 1) <= this.#limit / 2 ? marker.length + 1 : 0;
    this.#lineReserve = reserve;
    return reserve;
  }

  /** One decision inside a code block, keeping room for the closing repair. */
  #stepInCode(final: boolean): boolean {
    const fence = this.#fence as CodeFence;
    const room = this.#limit - this.#used - (this.#repairs?.reserve ?? 0);
    if (room >= this.#threshold) return this.#emitFree(room);
    if (this.#line !== '') return this.#stepWord(room, final);

    // Hold the line. The block's own closing fence may use the room kept for the repair.
    const unit = this.#lineUnit(final);
    const lineText = this.#buffer.slice(0, unit.known).replace(/\n$/, '');
    const closing = unit.end === null ? couldCloseFence(lineText, fence) : isFenceClose(lineText, fence);
    return this.#holdUnit(unit, closing ? this.#limit - this.#used : room);
  }

  /** Mid-line with little room: whole words, else whitespace, else (a word already begun) anything. */
  #stepWord(room: number, final: boolean): boolean {
    const first = this.#buffer[0] ?? '';
    if (first !== '\n' && !isBlank(first) && isBlank(this.#line.at(-1) ?? '')) {
      return this.#holdUnit(this.#wordUnit(final), room);
    }
    if (room < 1) return this.#breakHere();
    let end = 1;
    if (first !== '\n') {
      const sameKind = isBlank(first) ? isBlank : (char: string) => char !== '\n' && !isBlank(char);
      while (end < this.#buffer.length && end < room && sameKind(this.#buffer[end] ?? '')) end++;
      // A hard cut moves a surrogate pair whole to the next message.
      if (splitsPair(this.#buffer, end)) end--;
      if (end === 0) return this.#breakHere();
    }
    this.#emit(this.#buffer.slice(0, end));
    return true;
  }

  /** Appends freely up to the end of the line, or until the room drops below the threshold. */
  #emitFree(room: number): boolean {
    const newline = this.#buffer.indexOf('\n');
    const toLineEnd = newline === -1 ? this.#buffer.length : newline + 1;
    let end = Math.min(toLineEnd, room - this.#threshold + 1);
    // Never leave half a surrogate pair behind; the threshold (>= 2) leaves room for the other half.
    if (splitsPair(this.#buffer, end)) end++;
    this.#emit(this.#buffer.slice(0, end));
    return true;
  }

  /** Appends a held unit once it is known to fit; breaks before it once it cannot. */
  #holdUnit(unit: Unit, room: number): boolean {
    if (unit.known > room || (unit.end !== null && unit.end > room)) return this.#breakHere();
    if (unit.end === null) return false;
    this.#emit(this.#buffer.slice(0, unit.end));
    return true;
  }

  /** From a paragraph's start to just after the blank line that ends it, or to a fence opening. */
  #paragraphUnit(final: boolean): Unit {
    const buffer = this.#buffer;
    let start = 0;
    for (;;) {
      const newline = buffer.indexOf('\n', start);
      if (newline === -1) {
        // The unfinished last line may open a fence, and then it does not belong to the paragraph.
        const rest = buffer.slice(start);
        const opensFence = start > 0 && (final ? parseFenceOpen(rest) !== null : couldOpenFence(rest));
        if (!final) return { end: null, known: opensFence ? start : buffer.length };
        const end = opensFence ? start : buffer.length;
        return { end, known: end };
      }
      const line = buffer.slice(start, newline);
      if (start > 0 && parseFenceOpen(line) !== null) return { end: start, known: start };
      if (line.trim() === '') return { end: newline + 1, known: newline + 1 };
      start = newline + 1;
    }
  }

  /** A code block from its opening fence line through its closing one. */
  #codeBlockUnit(fence: CodeFence, final: boolean): Unit {
    const buffer = this.#buffer;
    let start = buffer.indexOf('\n') + 1;
    if (start === 0) return { end: buffer.length, known: buffer.length };
    while (start < buffer.length) {
      const newline = buffer.indexOf('\n', start);
      if (newline === -1) break;
      if (isFenceClose(buffer.slice(start, newline), fence)) return { end: newline + 1, known: newline + 1 };
      start = newline + 1;
    }
    return { end: final ? buffer.length : null, known: buffer.length };
  }

  #lineUnit(final: boolean): Unit {
    const newline = this.#buffer.indexOf('\n');
    if (newline !== -1) return { end: newline + 1, known: newline + 1 };
    return { end: final ? this.#buffer.length : null, known: this.#buffer.length };
  }

  #wordUnit(final: boolean): Unit {
    let end = 0;
    while (end < this.#buffer.length && this.#buffer[end] !== '\n' && !isBlank(this.#buffer[end] ?? '')) {
      end++;
    }
    if (end < this.#buffer.length || final) return { end, known: end };
    return { end: null, known: end };
  }

  /** Closes the current message here (with fence repairs inside code). */
  #breakHere(): boolean {
    if (this.#content === 0) {
      // Unreachable: a fresh message always has room for more than the threshold.
      throw new Error('MessagePaginator: cannot break an empty message');
    }
    const repairs = this.#fence === null ? null : this.#repairs;
    const midLine = this.#line !== '';
    if (repairs !== null) {
      const marker = (this.#fence as CodeFence).marker;
      this.#ops.push({ type: 'append', text: midLine ? `\n${marker}` : marker, repair: true });
    }
    this.#ops.push({ type: 'break' });
    this.#used = 0;
    this.#content = 0;
    if (repairs !== null) this.#appendRepair(repairs.reopen);
    // The rest of a line cut in two must not read as a line start (a fence, heading or list item).
    if (midLine) this.#appendRepair(ZERO_WIDTH_SPACE);
    return true;
  }

  #appendRepair(text: string): void {
    this.#ops.push({ type: 'append', text, repair: true });
    this.#used += text.length;
  }

  /** Appends input text and follows its lines (fences, blank lines). */
  #emit(text: string): void {
    if (text === '') return;
    const last = this.#ops.at(-1);
    if (last?.type === 'append' && last.repair === undefined) last.text += text;
    else this.#ops.push({ type: 'append', text });
    this.#buffer = this.#buffer.slice(text.length);
    this.#used += text.length;
    this.#content += text.length;

    let start = 0;
    for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
      this.#completeLine(this.#line + text.slice(start, newline));
      this.#line = '';
      this.#lineReserve = null;
      start = newline + 1;
    }
    this.#line += text.slice(start);
  }

  #completeLine(line: string): void {
    this.#previousLineBlank = false;
    this.#previousLineClosedFence = false;
    if (this.#fence !== null) {
      if (isFenceClose(line, this.#fence)) {
        this.#fence = null;
        this.#repairs = null;
        this.#previousLineClosedFence = true;
      }
      return;
    }
    const fence = parseFenceOpen(line);
    if (fence !== null) {
      this.#fence = fence;
      this.#repairs = this.#repairsFor(fence);
    } else {
      this.#previousLineBlank = line.trim() === '';
    }
  }

  /** Reopen string and reserved room; simplified or dropped when they would crowd out the text. */
  #repairsFor(fence: CodeFence): Repairs | null {
    const reserve = fence.marker.length + 1;
    // A space keeps an info string like "~~~x" from lengthening a "~~~" marker.
    const info = fence.info.startsWith(fence.marker[0] ?? '') ? ` ${fence.info}` : fence.info;
    for (const reopen of [`${fence.marker}${info}\n`, `${fence.marker}\n`]) {
      // After a break the code must still have at least half a message of room (> the threshold).
      if (reopen.length + reserve <= this.#limit / 2) return { reopen, reserve };
    }
    return null;
  }
}

/** Whether cutting `text` at `index` would separate a UTF-16 surrogate pair. */
function splitsPair(text: string, index: number): boolean {
  const before = text.charCodeAt(index - 1);
  const after = text.charCodeAt(index);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}

function isBlank(char: string): boolean {
  return char !== '' && char !== '\n' && /\s/.test(char);
}

/** Whether an unfinished line may still turn out to open a code fence. */
function couldOpenFence(partial: string): boolean {
  return /^[ \t]*(?:`{0,2}|~{0,2}|`{3,}[^`]*|~{3,}.*)$/.test(partial);
}

/** Whether an unfinished line may still turn out to close the fence (true for every prefix of one). */
function couldCloseFence(partial: string, fence: CodeFence): boolean {
  const match = /^[ \t]*(`*|~*)([ \t]*)$/.exec(partial);
  if (match === null) return false;
  const marker = match[1] ?? '';
  if (marker === '') return true;
  if (marker[0] !== fence.marker[0]) return false;
  // Once whitespace follows the marker, no more fence characters can come.
  return match[2] === '' || marker.length >= fence.marker.length;
}
