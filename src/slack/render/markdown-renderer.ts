/**
 * Turns the model's streamed Markdown into the text every Slack path sends (`markdown_text` of the
 * streaming methods, or a `markdown` block): the same Markdown, with pipe tables made readable,
 * link targets disclosed (link-hosts.ts) and Slack control sequences neutralised. Streaming is append-only, so the renderer is prefix-stable:
 * for any split of the answer into deltas, the concatenation of what `push` and `finish` return is
 * `renderMarkdown(answer)`.
 *
 * What it holds back, and only that: the leading whitespace of a line until its first character
 * shows whether it starts with `|`; a line starting with `|` until it ends (it may be a table's
 * header); a table until its last row; a link from its `]` until its target is complete; a code
 * span until it closes; a trailing partial control-sequence candidate (`<`, `@ch`).
 * Headings, lists, emphasis, links, quotes and code pass through unchanged, since Slack renders
 * them. Tables are recognised only when their rows start with `|` (after indentation), which is how
 * models write them: a header without a leading pipe has been released before its delimiter row
 * arrives, and then the table passes through as typed.
 */

import type { CodeFence } from './code-fence.ts';
import { isFenceClose, parseFenceOpen } from './code-fence.ts';
import { inFencedCode, LinkHostStream } from './link-hosts.ts';
import { isTableStart, renderTableBlock } from './markdown-table.ts';
import { SlackSafeTextStream } from './slack-safe-text.ts';

/** How the current line is being treated; decided at its first non-whitespace character. */
type LineKind = 'undecided' | 'plain' | 'row';
/** What ended a run of held table rows: a blank line, another line, or the end of the answer. */
type RowsEnd = 'blank' | 'line' | 'end';
/**
 * What the open fence's lines are for the link stage: `code` once a Markdown reader confirmed it
 * (asked at the fence's first `]`, the only character a link needs), `prose` when it did not or
 * a less indented line may have ended the list item holding the fence.
 */
type FenceReading = 'unconfirmed' | 'code' | 'prose';

/** Rendered text kept to ask the Markdown reader about a fence; past this, fences read as prose. */
const MAX_SHOWN_FOR_FENCE_CHECK = 256_000;

export interface MarkdownRendererOptions {
  /** Hosts (and their subdomains) whose links keep their label as written (`TRUSTED_LINK_HOSTS`). */
  trustedLinkHosts?: readonly string[];
}

/** Renders a whole answer; equal to streaming it through a {@link MarkdownRenderer} in any pieces. */
export function renderMarkdown(text: string, options: MarkdownRendererOptions = {}): string {
  const renderer = new MarkdownRenderer(options);
  return renderer.push(text) + renderer.finish();
}

export class MarkdownRenderer {
  readonly #links: LinkHostStream;
  readonly #escaper = new SlackSafeTextStream();
  /** Text through the line, table and link stages, waiting for the escaper. */
  #ready = '';
  /** Everything through the link stage so far: what Slack will parse. */
  #shown = '';
  /** A trailing "\r" waits to see whether "\n" follows (a CRLF split across deltas). */
  #pendingCarriageReturn = false;
  /** The current line so far, without "\n", and how much of it has been released. */
  #line = '';
  #released = 0;
  #kind: LineKind = 'undecided';
  #fence: CodeFence | null = null;
  /** The open fence's indentation, and how the link stage reads its lines. */
  #fenceIndent = 0;
  #fenceReading: FenceReading = 'unconfirmed';
  /** Complete lines starting with `|`, held: one possible header, or a confirmed table's lines. */
  #rows: string[] = [];
  #isTable = false;
  /** Whether the line before the held rows was blank (or there was none). */
  #blankBeforeRows = true;
  #previousLineBlank = true;
  #finished = false;

  constructor(options: MarkdownRendererOptions = {}) {
    this.#links = new LinkHostStream({ trustedHosts: options.trustedLinkHosts ?? [] });
  }

  /** Takes the next delta of the answer; returns the rendered text that can be sent now. */
  push(delta: string): string {
    if (this.#finished) throw new Error('MarkdownRenderer: push after finish');
    this.#consume(this.#normaliseNewlines(delta));
    return this.#escaper.push(this.#take());
  }

  /** Ends the answer; returns everything still held back. */
  finish(): string {
    if (this.#finished) return '';
    this.#finished = true;
    if (this.#pendingCarriageReturn) {
      this.#pendingCarriageReturn = false;
      this.#consume('\n');
    }
    if (this.#kind === 'row') {
      if (this.#rows.length === 0) this.#blankBeforeRows = this.#previousLineBlank;
      this.#rows.push(this.#line);
      this.#confirmTable();
      this.#releaseRows('end');
    } else {
      // A whitespace-only last line ends a table like a blank line does.
      this.#releaseRows(this.#kind === 'undecided' && this.#line !== '' ? 'blank' : 'end');
      this.#emit(this.#line.slice(this.#released));
    }
    this.#line = '';
    this.#released = 0;
    this.#show(this.#links.finish());
    return this.#escaper.push(this.#take()) + this.#escaper.finish();
  }

  #show(text: string): void {
    this.#ready += text;
    if (this.#shown.length < MAX_SHOWN_FOR_FENCE_CHECK) this.#shown += text;
  }

  #take(): string {
    const ready = this.#ready;
    this.#ready = '';
    return ready;
  }

  /**
   * Hands released text to the link stage: as code in a confirmed fenced block (or a table shown
   * as one), else as prose. An unconfirmed fence's text is code until it holds a `]`.
   */
  #emit(text: string, kind: 'code' | 'flow' = 'flow'): void {
    if (!text) return;
    if (kind === 'code') {
      this.#show(this.#links.code(text));
      return;
    }
    if (this.#fence === null) {
      this.#show(this.#links.push(text));
      return;
    }
    const bracket = this.#fenceReading === 'unconfirmed' ? text.indexOf(']') : -1;
    if (bracket >= 0) {
      // The reading switches exactly at the fence's first `]`, wherever the text was cut.
      const head = text.slice(0, bracket);
      this.#show(this.#links.code(head));
      this.#fenceReading = this.#confirmFence(head.length) ? 'code' : 'prose';
      text = text.slice(bracket);
    }
    this.#show(this.#fenceReading === 'prose' ? this.#links.push(text) : this.#links.code(text));
  }

  /**
   * Asks the Markdown reader whether the current line, inside the open fence, is code. If so, so is
   * every later line of this fence that is indented at least as far as this one and its opener
   * (a less indented one could end a list item holding the block).
   */
  #confirmFence(justShown: number): boolean {
    if (this.#fence === null || this.#shown.length >= MAX_SHOWN_FOR_FENCE_CHECK) return false;
    this.#show(this.#links.code('')); // the fence ended any paragraph: settle what it held
    // Code passes the link stage unchanged, so the line's released part ends what was shown.
    const before = this.#shown.slice(0, this.#shown.length - this.#released - justShown);
    const indent = /^[ \t]*/.exec(this.#line)?.[0] ?? '';
    if (!inFencedCode(before, indent, this.#fence.marker)) return false;
    this.#fenceIndent = Math.max(this.#fenceIndent, indentWidth(indent));
    return true;
  }

  /** CRLF and lone CR become LF, as CommonMark reads them. */
  #normaliseNewlines(delta: string): string {
    let text = (this.#pendingCarriageReturn ? '\r' : '') + delta;
    this.#pendingCarriageReturn = text.endsWith('\r');
    if (this.#pendingCarriageReturn) text = text.slice(0, -1);
    return text.replace(/\r\n?/g, '\n');
  }

  #consume(text: string): void {
    let start = 0;
    while (start < text.length) {
      const newline = text.indexOf('\n', start);
      const end = newline === -1 ? text.length : newline;
      this.#line += text.slice(start, end);
      this.#continueLine();
      if (newline === -1) break;
      this.#endLine();
      start = newline + 1;
    }
  }

  /** Decides the current line's kind as soon as possible and releases what it may. */
  #continueLine(): void {
    if (this.#kind === 'undecided') {
      const first = /\S/.exec(this.#line);
      if (first === null) return;
      if (this.#fence === null && this.#line[first.index] === '|') {
        this.#kind = 'row';
      } else {
        // A line less indented than its fence may have ended the list item holding the fence,
        // and so the fence, for a Markdown reader: from here on its text counts as prose.
        if (this.#fence !== null && indentWidth(this.#line.slice(0, first.index)) < this.#fenceIndent) {
          this.#fenceReading = 'prose';
        }
        this.#kind = 'plain';
        this.#releaseRows('line');
      }
    }
    if (this.#kind === 'plain') {
      this.#emit(this.#line.slice(this.#released));
      this.#released = this.#line.length;
    }
  }

  #endLine(): void {
    const line = this.#line;
    if (this.#kind === 'row') {
      if (this.#rows.length === 0) this.#blankBeforeRows = this.#previousLineBlank;
      this.#rows.push(`${line}\n`);
      this.#confirmTable();
      this.#previousLineBlank = false;
    } else {
      if (this.#kind === 'undecided') this.#releaseRows('blank');
      // A fence's closing line is still code; its opening line is not yet.
      this.#emit(`${line.slice(this.#released)}\n`);
      this.#trackFence(line);
      this.#previousLineBlank = line.trim() === '';
    }
    this.#line = '';
    this.#released = 0;
    this.#kind = 'undecided';
  }

  #trackFence(line: string): void {
    if (this.#fence === null) {
      this.#fence = parseFenceOpen(line);
      this.#fenceIndent = indentWidth(/^[ \t]*/.exec(line)?.[0] ?? '');
      this.#fenceReading = 'unconfirmed';
    } else if (isFenceClose(line, this.#fence)) {
      this.#fence = null;
    }
  }

  /**
   * With two rows held, either they start a table (keep holding until it ends) or the first was
   * not a header: release it unchanged, and the second becomes the candidate header.
   */
  #confirmTable(): void {
    if (this.#isTable || this.#rows.length < 2) return;
    const [header = '', delimiter = ''] = this.#rows;
    if (isTableStart(header, delimiter)) {
      this.#isTable = true;
      return;
    }
    this.#rows.shift();
    this.#blankBeforeRows = false;
    this.#emit(header);
  }

  /** Releases held rows: a confirmed table rendered, kept apart from its neighbours by blank lines. */
  #releaseRows(end: RowsEnd): void {
    if (this.#rows.length === 0) return;
    const block = this.#rows.join('');
    const rendered = this.#isTable ? renderTableBlock(block) : null;
    this.#rows = [];
    this.#isTable = false;
    if (rendered === null) {
      this.#emit(block);
      return;
    }
    // A list after a paragraph line, or a paragraph line after a list, would merge with it.
    if (!this.#blankBeforeRows) this.#emit('\n');
    // A table shown as a code block is code; one shown as a list keeps its links, disclosed.
    this.#emit(rendered.text, rendered.code ? 'code' : 'flow');
    if (end === 'line') this.#emit('\n');
  }
}

/** Columns of leading whitespace, with tabs to the next multiple of four as CommonMark counts them. */
function indentWidth(whitespace: string): number {
  let width = 0;
  for (const char of whitespace) width = char === '\t' ? width + 4 - (width % 4) : width + 1;
  return width;
}
