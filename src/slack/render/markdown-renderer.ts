/**
 * Turns the model's streamed Markdown into the text every Slack path sends (`markdown_text` of the
 * streaming methods, or a `markdown` block): the same Markdown, with pipe tables made readable and
 * Slack control sequences neutralised. Streaming is append-only, so the renderer is prefix-stable:
 * for any split of the answer into deltas, the concatenation of what `push` and `finish` return is
 * `renderMarkdown(answer)`.
 *
 * What it holds back, and only that: the leading whitespace of a line until its first character
 * shows whether it starts with `|`; a line starting with `|` until it ends (it may be a table's
 * header); a table until its last row; a trailing partial control-sequence candidate (`<`, `@ch`).
 * Headings, lists, emphasis, links, quotes and code pass through unchanged, since Slack renders
 * them. Tables are recognised only when their rows start with `|` (after indentation), which is how
 * models write them: a header without a leading pipe has been released before its delimiter row
 * arrives, and then the table passes through as typed.
 */

import type { CodeFence } from './code-fence.ts';
import { isFenceClose, parseFenceOpen } from './code-fence.ts';
import { isTableStart, renderTableBlock } from './markdown-table.ts';
import { SlackSafeTextStream } from './slack-safe-text.ts';

/** How the current line is being treated; decided at its first non-whitespace character. */
type LineKind = 'undecided' | 'plain' | 'row';
/** What ended a run of held table rows: a blank line, another line, or the end of the answer. */
type RowsEnd = 'blank' | 'line' | 'end';

/** Renders a whole answer; equal to streaming it through a {@link MarkdownRenderer} in any pieces. */
export function renderMarkdown(text: string): string {
  const renderer = new MarkdownRenderer();
  return renderer.push(text) + renderer.finish();
}

export class MarkdownRenderer {
  readonly #escaper = new SlackSafeTextStream();
  /** A trailing "\r" waits to see whether "\n" follows (a CRLF split across deltas). */
  #pendingCarriageReturn = false;
  /** The current line so far, without "\n", and how much of it has been released. */
  #line = '';
  #released = 0;
  #kind: LineKind = 'undecided';
  #fence: CodeFence | null = null;
  /** Complete lines starting with `|`, held: one possible header, or a confirmed table's lines. */
  #rows: string[] = [];
  #isTable = false;
  /** Whether the line before the held rows was blank (or there was none). */
  #blankBeforeRows = true;
  #previousLineBlank = true;
  #finished = false;

  /** Takes the next delta of the answer; returns the rendered text that can be sent now. */
  push(delta: string): string {
    if (this.#finished) throw new Error('MarkdownRenderer: push after finish');
    return this.#escaper.push(this.#consume(this.#normaliseNewlines(delta)));
  }

  /** Ends the answer; returns everything still held back. */
  finish(): string {
    if (this.#finished) return '';
    this.#finished = true;
    let out = '';
    if (this.#pendingCarriageReturn) {
      this.#pendingCarriageReturn = false;
      out += this.#consume('\n');
    }
    if (this.#kind === 'row') {
      if (this.#rows.length === 0) this.#blankBeforeRows = this.#previousLineBlank;
      this.#rows.push(this.#line);
      out += this.#confirmTable();
      out += this.#releaseRows('end');
    } else {
      // A whitespace-only last line ends a table like a blank line does.
      out += this.#releaseRows(this.#kind === 'undecided' && this.#line !== '' ? 'blank' : 'end');
      out += this.#line.slice(this.#released);
    }
    this.#line = '';
    this.#released = 0;
    return this.#escaper.push(out) + this.#escaper.finish();
  }

  /** CRLF and lone CR become LF, as CommonMark reads them. */
  #normaliseNewlines(delta: string): string {
    let text = (this.#pendingCarriageReturn ? '\r' : '') + delta;
    this.#pendingCarriageReturn = text.endsWith('\r');
    if (this.#pendingCarriageReturn) text = text.slice(0, -1);
    return text.replace(/\r\n?/g, '\n');
  }

  #consume(text: string): string {
    let out = '';
    let start = 0;
    while (start < text.length) {
      const newline = text.indexOf('\n', start);
      const end = newline === -1 ? text.length : newline;
      this.#line += text.slice(start, end);
      out += this.#continueLine();
      if (newline === -1) break;
      out += this.#endLine();
      start = newline + 1;
    }
    return out;
  }

  /** Decides the current line's kind as soon as possible and releases what it may. */
  #continueLine(): string {
    let out = '';
    if (this.#kind === 'undecided') {
      // Inside code nothing is transformed, so code lines are released as they arrive.
      const first = this.#fence === null ? /\S/.exec(this.#line) : { index: 0 };
      if (first === null) return '';
      if (this.#fence === null && this.#line[first.index] === '|') {
        this.#kind = 'row';
      } else {
        this.#kind = 'plain';
        out += this.#releaseRows('line');
      }
    }
    if (this.#kind === 'plain') {
      out += this.#line.slice(this.#released);
      this.#released = this.#line.length;
    }
    return out;
  }

  #endLine(): string {
    let out = '';
    const line = this.#line;
    if (this.#kind === 'row') {
      if (this.#rows.length === 0) this.#blankBeforeRows = this.#previousLineBlank;
      this.#rows.push(`${line}\n`);
      out += this.#confirmTable();
      this.#previousLineBlank = false;
    } else {
      if (this.#kind === 'undecided') out += this.#releaseRows('blank');
      out += `${line.slice(this.#released)}\n`;
      this.#trackFence(line);
      this.#previousLineBlank = line.trim() === '';
    }
    this.#line = '';
    this.#released = 0;
    this.#kind = 'undecided';
    return out;
  }

  #trackFence(line: string): void {
    if (this.#fence === null) this.#fence = parseFenceOpen(line);
    else if (isFenceClose(line, this.#fence)) this.#fence = null;
  }

  /**
   * With two rows held, either they start a table (keep holding until it ends) or the first was
   * not a header: release it unchanged, and the second becomes the candidate header.
   */
  #confirmTable(): string {
    if (this.#isTable || this.#rows.length < 2) return '';
    const [header = '', delimiter = ''] = this.#rows;
    if (isTableStart(header, delimiter)) {
      this.#isTable = true;
      return '';
    }
    this.#rows.shift();
    this.#blankBeforeRows = false;
    return header;
  }

  /** Releases held rows: a confirmed table rendered, kept apart from its neighbours by blank lines. */
  #releaseRows(end: RowsEnd): string {
    if (this.#rows.length === 0) return '';
    const block = this.#rows.join('');
    const rendered = this.#isTable ? renderTableBlock(block) : null;
    this.#rows = [];
    this.#isTable = false;
    if (rendered === null) return block;
    // A list after a paragraph line, or a paragraph line after a list, would merge with it.
    return (this.#blankBeforeRows ? '' : '\n') + rendered + (end === 'line' ? '\n' : '');
  }
}
