/**
 * Links in model text cannot hide where they go. A Markdown link whose label does not already show
 * its target gets the target's host added to the label: `[handbook](https://evil.example/x)`
 * becomes `[handbook (evil.example)](https://evil.example/x)`. Not changed:
 *
 *   - links to a trusted host (`TRUSTED_LINK_HOSTS`: an entry trusts that host and its subdomains);
 *   - links whose label shows the host already (`[docs.example.com/a](https://docs.example.com/a)`);
 *   - fenced code blocks, handed over as code by the renderer once a Markdown reader (marked) has
 *     confirmed that they are code.
 *
 * What looks like an inline code span (backticks closed later on the same line) is not trusted to
 * be one: which backticks pair up depends on the whole paragraph, and a wrong guess must not leave
 * a live link. A `](` or `]:` inside it gets a zero-width space instead of a host: invisible in
 * code, and a link that was live after all is broken rather than hidden. For the same reason a
 * label only counts as showing its host when it is one plain word, without brackets or backticks.
 *
 * Other ways to hide a target are broken with a zero-width space, so the text shows as typed:
 * `]` + ZWSP + `:` makes a reference definition (`[1]: https://…`) plain text, so reference-style
 * links never resolve; a `](` that does not open a valid inline link becomes `]` + ZWSP + `(`, so
 * no lenient Markdown reader can take it for one. Autolinks (`<https://…>`) and bare URLs show their
 * own target; Slack's `<url|label>` is neutralised by slack-safe-text.ts.
 *
 * Streaming: text passes through as it arrives, except from a `]` followed by `(` until the link's
 * destination is complete, and a code-span candidate until its closing backticks (or its line's
 * end). Decisions depend only on the text, never on where it was cut, so the stream is
 * prefix-stable.
 */

import { Lexer, type Token, type Tokens } from 'marked';
import { normaliseHostName, trustsHost } from './host-names.ts';
import { ZERO_WIDTH_SPACE } from './slack-safe-text.ts';

/** A `](…)` tail longer than this (destination and title) is not a link we vouch for: it is broken. */
const MAX_LINK_TAIL_CHARS = 4096;
/** A code span's closing backticks are looked for this far on its line. */
const MAX_CODE_SPAN_CHARS = 1000;
/** Label text kept per open `[` (only to see whether it shows the host). */
const MAX_LABEL_CHARS = 2048;
const MAX_OPEN_LABELS = 32;
/** CommonMark's limit on nested parentheses in a link destination. */
const MAX_PAREN_DEPTH = 32;
/** Longest target shown next to a label when it is not an http(s) URL (mailto:, a relative path). */
const MAX_SHOWN_TARGET_CHARS = 60;
const ASCII_PUNCTUATION = /^[!-/:-@[-`{-~]$/;
const NAMED_ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

type Step = {
  readonly out: string;
  readonly length: number;
  /** `[`: a label opens. */
  readonly opens?: true;
  /** `]`: the innermost label closes. */
  readonly closes?: true;
};

type LinkTail = { end: number; destination: string } | 'invalid' | 'undecided';

export class LinkHostStream {
  readonly #trusted: readonly string[];
  #pending = '';
  /** The source text of each open `[`'s label so far; null once it is too long to compare. */
  #labels: Array<string | null> = [];
  /** Only whitespace so far on the current line (a blank line ends a paragraph, and its links). */
  #lineBlank = true;

  constructor(options: { trustedHosts?: readonly string[] } = {}) {
    this.#trusted = options.trustedHosts ?? [];
  }

  /** Takes Markdown prose; returns what can be released now. */
  push(text: string): string {
    this.#pending += text;
    return this.#drain(false);
  }

  /** Takes code (a fenced block's lines): passed through unchanged, ending any paragraph before it. */
  code(text: string): string {
    const out = this.#drain(true);
    this.#endParagraph();
    return out + text;
  }

  /** Ends the text; returns everything still held back. */
  finish(): string {
    const out = this.#drain(true);
    this.#endParagraph();
    return out;
  }

  #endParagraph(): void {
    this.#labels = [];
    this.#lineBlank = true;
  }

  #drain(final: boolean): string {
    const text = this.#pending;
    let out = '';
    let index = 0;
    while (index < text.length) {
      const step = this.#stepAt(text, index, final);
      if (step === null) break;
      this.#track(text.slice(index, index + step.length), step);
      out += step.out;
      index += step.length;
    }
    this.#pending = text.slice(index);
    return out;
  }

  /** Keeps the open labels' text and the paragraph state up to date with consumed `source`. */
  #track(source: string, step: Step): void {
    if (step.closes) this.#labels.pop();
    this.#labels = this.#labels.map((label) =>
      label === null || label.length + source.length > MAX_LABEL_CHARS ? null : label + source,
    );
    if (step.opens && this.#labels.length < MAX_OPEN_LABELS) this.#labels.push('');
    if (source === '\n') {
      if (this.#lineBlank) this.#labels = [];
      this.#lineBlank = true;
    } else if (/\S/.test(source)) {
      this.#lineBlank = false;
    }
  }

  #stepAt(text: string, index: number, final: boolean): Step | null {
    const char = text[index];
    if (char === '[') return { out: '[', length: 1, opens: true };
    if (char === ']') return this.#afterBracket(text, index, final);
    if (char === '`') return codeSpanAt(text, index, final);
    if (char === '\\') {
      if (index + 1 >= text.length) return final ? { out: '\\', length: 1 } : null;
      // An escaped character is literal: `\]` closes no label. A reader that ignored the escape
      // could still see `](` or `]:`, so those get the zero-width space all the same.
      const next = text[index + 1] ?? '';
      if (!ASCII_PUNCTUATION.test(next)) return { out: '\\', length: 1 };
      if (next !== ']') return { out: text.slice(index, index + 2), length: 2 };
      if (index + 2 >= text.length && !final) return null;
      const opensTail = text[index + 2] === '(' || text[index + 2] === ':';
      return { out: `\\]${opensTail ? ZERO_WIDTH_SPACE : ''}`, length: 2 };
    }
    if (char === '\n') return { out: '\n', length: 1 };
    let end = index + 1;
    while (end < text.length && !'[]`\\\n'.includes(text[end] ?? '')) end++;
    return { out: text.slice(index, end), length: end - index };
  }

  /** A `]`: the end of a label, maybe followed by a link target or a reference definition's colon. */
  #afterBracket(text: string, index: number, final: boolean): Step | null {
    if (index + 1 >= text.length) return final ? { out: ']', length: 1, closes: true } : null;
    const next = text[index + 1];
    const broken: Step = { out: `]${ZERO_WIDTH_SPACE}`, length: 1, closes: true };
    if (next === ':') return broken;
    if (next !== '(') return { out: ']', length: 1, closes: true };
    // Any `](` is looked at, whether or not a `[` was seen: a label we lost track of still gets its host.
    const tail = parseLinkTail(text, index + 1, final);
    if (tail === 'undecided') return null;
    if (tail === 'invalid') return broken;
    // Without an opener (ours may be missed) a Markdown reader does not take this tail as a target,
    // and reads a link inside it: one that holds a link or a definition of its own is broken.
    if (/\][(:]/.test(text.slice(index + 2, tail.end))) return broken;
    const label = this.#labels.at(-1) ?? null;
    const disclosure = this.#disclosure(label, tail.destination);
    if (disclosure === null) return broken;
    return { out: disclosure + text.slice(index, tail.end), length: tail.end - index, closes: true };
  }

  /** What to add before the `]`: '' when the link is honest as it is, null when it cannot be told. */
  #disclosure(label: string | null, rawDestination: string): string | null {
    const destination = decodeDestination(rawDestination);
    if (destination === null || destination.trim() === '') return null;
    let url: URL | null = null;
    try {
      url = new URL(destination);
    } catch {
      url = null; // relative, or not a URL at all: shown as written
    }
    let shown: string;
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
      if (trustsHost(this.#trusted, url.hostname)) return '';
      if (label !== null && labelShowsHost(label, url.hostname)) return '';
      shown = url.hostname;
    } else {
      shown = url?.protocol === 'mailto:' ? safeDecode(url.pathname) : destination;
      const plain = label === null ? null : plainLabel(label);
      if (plain !== null && [shown, destination].includes(plain)) return '';
    }
    shown = shown.replace(/[^A-Za-z0-9.@:/?#=&%+-]/g, '');
    if (shown.length > MAX_SHOWN_TARGET_CHARS) shown = `${shown.slice(0, MAX_SHOWN_TARGET_CHARS)}…`;
    if (shown === '') return null; // nothing readable to show: not a link then
    return label !== null && label.trim() === '' ? `(${shown})` : ` (${shown})`;
  }
}

/**
 * A run of backticks at `index`: with a closing run of the same length later on the line it is
 * taken as a code span, released whole with any `](` or `]:` in it broken; otherwise the
 * backticks are literal.
 */
function codeSpanAt(text: string, index: number, final: boolean): Step | null {
  const open = runLength(text, index, '`');
  if (index + open >= text.length && !final) return null;
  const literal: Step = { out: '`'.repeat(open), length: open };
  let at = index + open;
  for (;;) {
    if (at - index > MAX_CODE_SPAN_CHARS) return literal;
    if (at >= text.length) return final ? literal : null;
    const char = text[at];
    if (char === '\n') return literal;
    if (char !== '`') {
      at++;
      continue;
    }
    const close = runLength(text, at, '`');
    if (at + close >= text.length && !final) return null;
    if (close === open) {
      const span = text.slice(index, at + close);
      return { out: span.replace(/\]([(:])/g, `]${ZERO_WIDTH_SPACE}$1`), length: span.length };
    }
    at += close;
  }
}

function runLength(text: string, index: number, char: string): number {
  let end = index;
  while (text[end] === char) end++;
  return end - index;
}

/**
 * Reads an inline link's `(destination "title")` starting at the `(` at `open`, the way CommonMark
 * does: `<…>` or a raw destination with balanced parentheses, an optional title after whitespace,
 * at most one line ending between the parts.
 */
function parseLinkTail(text: string, open: number, final: boolean): LinkTail {
  const limit = open + MAX_LINK_TAIL_CHARS;
  const atEnd: LinkTail = final ? 'invalid' : 'undecided';
  let at = open + 1;

  /** Skips spaces, tabs and at most one line ending; null when the next part can be read. */
  const skipSpace = (): LinkTail | null => {
    let lineEndings = 0;
    for (;;) {
      if (at > limit) return 'invalid';
      if (at >= text.length) return atEnd;
      const char = text[at];
      if (char === '\n' && ++lineEndings > 1) return 'invalid';
      if (char !== ' ' && char !== '\t' && char !== '\n') return null;
      at++;
    }
  };

  let stop = skipSpace();
  if (stop) return stop;
  if (text[at] === ')') return { end: at + 1, destination: '' };
  let destination: string;
  if (text[at] === '<') {
    const start = at + 1;
    for (at = start; ; at++) {
      if (at > limit) return 'invalid';
      if (at >= text.length) return atEnd;
      const char = text[at];
      if (char === '\\') {
        if (at + 1 >= text.length) return atEnd;
        at++;
      } else if (char === '\n' || char === '<') return 'invalid';
      else if (char === '>') break;
    }
    destination = text.slice(start, at);
    at++;
  } else {
    const start = at;
    let depth = 0;
    for (; ; at++) {
      if (at > limit) return 'invalid';
      if (at >= text.length) return atEnd;
      const char = text[at] ?? '';
      const code = char.charCodeAt(0);
      if (char === '\\') {
        if (at + 1 >= text.length) return atEnd;
        if (ASCII_PUNCTUATION.test(text[at + 1] ?? '')) at++;
      } else if (char === '(') {
        if (++depth > MAX_PAREN_DEPTH) return 'invalid';
      } else if (char === ')') {
        if (depth === 0) break;
        depth--;
      } else if (code <= 0x20 || code === 0x7f) break;
    }
    if (depth !== 0 || at === start) return 'invalid';
    destination = text.slice(start, at);
  }

  const beforeTitle = at;
  stop = skipSpace();
  if (stop) return stop;
  if (text[at] === ')') return { end: at + 1, destination };
  const opener = text[at] ?? '';
  if (at === beforeTitle || !`"'(`.includes(opener)) return 'invalid';
  const closer = opener === '(' ? ')' : opener;
  let lineBlank = false;
  for (at++; ; at++) {
    if (at > limit) return 'invalid';
    if (at >= text.length) return atEnd;
    const char = text[at];
    if (char === '\\') {
      if (at + 1 >= text.length) return atEnd;
      at++;
      lineBlank = false;
    } else if (char === '\n') {
      if (lineBlank) return 'invalid'; // a blank line ends the paragraph
      lineBlank = true;
    } else if (char === closer) break;
    else if (opener === '(' && char === '(') return 'invalid';
    else if (char !== ' ' && char !== '\t') lineBlank = false;
  }
  at++;
  stop = skipSpace();
  if (stop) return stop;
  return text[at] === ')' ? { end: at + 1, destination } : 'invalid';
}

/**
 * The destination as a Markdown reader follows it: backslash escapes and character references
 * decoded. Null for a named reference beyond the basic ones, whose meaning we do not vouch for.
 */
function decodeDestination(raw: string): string | null {
  let unknown = false;
  const decoded = raw
    .replace(/\\([!-/:-@[-`{-~])/g, '$1')
    .replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});/g, (match, body: string) => {
      if (body.startsWith('#')) {
        const hex = body[1] === 'x' || body[1] === 'X';
        const codePoint = Number.parseInt(body.slice(hex ? 2 : 1), hex ? 16 : 10);
        return codePoint > 0 && codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : '\uFFFD';
      }
      const named = NAMED_ENTITIES[body];
      if (named === undefined) unknown = true;
      return named ?? match;
    });
  return unknown ? null : decoded;
}

/**
 * A label's text without surrounding whitespace or `<…>`, when it is one plain word (no brackets,
 * backticks or spaces, so that it cannot be part of a differently paired construct); else null.
 */
function plainLabel(label: string): string | null {
  const bare = label.trim().replace(/^<([^<>]*)>$/, '$1');
  return /[\s`[\]\\<>]/.test(bare) ? null : bare;
}

/** Whether the label begins with exactly the link's host (a URL, with or without its scheme). */
export function labelShowsHost(label: string, hostname: string): boolean {
  const plain = plainLabel(label);
  if (plain === null) return false;
  const withoutScheme = plain.replace(/^https?:\/\//i, '');
  const hostPart = withoutScheme.split(/[/?#:]/, 1)[0] ?? '';
  const rest = withoutScheme.slice(hostPart.length);
  if (rest !== '' && !'/?#:'.includes(rest[0] ?? '')) return false;
  return normaliseHostName(hostPart) === hostname.replace(/\.$/, '');
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const CODE_PROBE = 'link-hosts-code-probe-7f3a';

/**
 * Whether a line starting with `indent` after `before` is inside a fenced code block for a Markdown
 * reader (marked's block lexer, which follows CommonMark's containers), one fenced with `marker`'s
 * character at most as long: then every closer of that block closes the caller's fence too. A
 * line's block is decided by the lines up to it, so the answer holds whatever follows. Blocks in
 * quotes do not count (a quote can end at any line).
 */
export function inFencedCode(before: string, indent: string, marker: string): boolean {
  const tokens = new Lexer({ gfm: true }).blockTokens(`${before}${indent}${CODE_PROBE}\n`);
  const block = probedCode(tokens);
  if (!block || block.codeBlockStyle === 'indented') return false;
  const fence = /^[ \t]*(`{3,}|~{3,})/.exec(block.raw)?.[1] ?? '';
  return fence[0] === marker[0] && fence.length >= marker.length;
}

function probedCode(tokens: readonly Token[]): Tokens.Code | null {
  for (const token of tokens) {
    if (token.type === 'code' && (token as Tokens.Code).text.includes(CODE_PROBE))
      return token as Tokens.Code;
    if (token.type === 'list') {
      for (const item of (token as Tokens.List).items) {
        const found = probedCode(item.tokens);
        if (found) return found;
      }
    }
  }
  return null;
}
