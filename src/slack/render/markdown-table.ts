/**
 * Renders GitHub-style pipe tables readably for Slack, which does not render Markdown tables.
 * Small tables become a fenced code block with aligned columns; wide ones, and any with links (a
 * code block would make them unclickable), become one list item per row: `- **Header:** value · …`.
 * Parsing is marked's (escaped pipes, alignment, ragged rows), never hand-rolled.
 */

import type { Token, Tokens } from 'marked';
import { Lexer } from 'marked';

/** Widest aligned table (in display columns) still shown as a code block. */
export const MAX_CODE_TABLE_WIDTH = 80;

const COLUMN_SEPARATOR = ' | ';
const RULE_SEPARATOR = '-+-';
const ITEM_SEPARATOR = ' · ';
/** A delimiter row (`|---|:--:|`), checked before asking marked whether two lines start a table. */
const DELIMITER_ROW = /^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;

/** Whether `header` followed by `delimiter` (each one line, with or without "\n") starts a table. */
export function isTableStart(header: string, delimiter: string): boolean {
  if (!DELIMITER_ROW.test(delimiter.replace(/\n$/, ''))) return false;
  return lexTable(`${header.replace(/\n$/, '')}\n${delimiter}`) !== null;
}

/**
 * Renders a block of table lines (header, delimiter, body rows): `text` ends with "\n" exactly when
 * the block does; `code` says it is a fenced code block (else a Markdown list). `null` when marked
 * does not read the block as one table.
 */
export function renderTableBlock(block: string): { text: string; code: boolean } | null {
  const table = lexTable(block);
  if (table === null) return null;
  const asCode = renderAsCode(table);
  const rendered = asCode ?? renderAsList(table);
  return { text: block.endsWith('\n') ? `${rendered}\n` : rendered, code: asCode !== null };
}

function lexTable(source: string): Tokens.Table | null {
  const tokens = new Lexer({ gfm: true }).lex(source).filter((token) => token.type !== 'space');
  const [only] = tokens;
  return tokens.length === 1 && only?.type === 'table' ? (only as Tokens.Table) : null;
}

/** Aligned columns in a code block, or `null` when too wide or when cells hold links. */
function renderAsCode(table: Tokens.Table): string | null {
  const columns = table.header.length;
  const cells = (row: Tokens.TableCell[]): string[] =>
    Array.from({ length: columns }, (_, i) => plainText(row[i]?.tokens ?? []));
  const header = cells(table.header);
  const rows = table.rows.map(cells);
  const allCells = [table.header, ...table.rows].flat();
  if (allCells.some((cell) => containsLink(cell.tokens))) return null;

  const widths = header.map((_, i) =>
    Math.max(1, ...[header, ...rows].map((row) => displayWidth(row[i] ?? ''))),
  );
  const totalWidth = widths.reduce((sum, width) => sum + width, 0) + COLUMN_SEPARATOR.length * (columns - 1);
  if (totalWidth > MAX_CODE_TABLE_WIDTH) return null;

  const line = (row: string[]): string =>
    row
      .map((text, i) => pad(text, widths[i] ?? 0, table.align[i] ?? null))
      .join(COLUMN_SEPARATOR)
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join(RULE_SEPARATOR);
  const body = [line(header), rule, ...rows.map(line)].join('\n');
  const fence = codeFenceFor(body);
  return `${fence}\n${body}\n${fence}`;
}

/** One Markdown list item per row, each cell labelled with its (plain, escaped) header. */
function renderAsList(table: Tokens.Table): string {
  const labels = table.header.map((cell) => escapeInline(plainText(cell.tokens)));
  const items = table.rows.flatMap((row) => {
    const parts = labels.flatMap((label, i) => {
      const value = cellMarkdown(row[i]);
      if (value === '') return [];
      return [label === '' ? value : `**${label}:** ${value}`];
    });
    return parts.length === 0 ? [] : [`- ${parts.join(ITEM_SEPARATOR)}`];
  });
  if (items.length === 0) return labels.map((label) => `**${label}**`).join(ITEM_SEPARATOR);
  return items.join('\n');
}

/** A cell's own Markdown, on one line (`<br>` is common in model tables and Slack shows it raw). */
function cellMarkdown(cell: Tokens.TableCell | undefined): string {
  return (cell?.text ?? '')
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Text of inline tokens without Markdown syntax: `**a**` → `a`, `[l](u)` → `l`, `<br>` → space. */
function plainText(tokens: readonly Token[]): string {
  return collapse(tokens.map(tokenText).join(''));
}

function tokenText(token: Token): string {
  switch (token.type) {
    case 'br':
      return ' ';
    case 'html':
      return /^<br\s*\/?>$/i.test(token.raw.trim()) ? ' ' : token.raw;
    case 'image':
      return (token as Tokens.Image).text;
    case 'codespan':
    case 'escape':
      return (token as Tokens.Codespan | Tokens.Escape).text;
    default: {
      const children = 'tokens' in token ? (token.tokens as Token[] | undefined) : undefined;
      if (children && children.length > 0) return children.map(tokenText).join('');
      return 'text' in token && typeof token.text === 'string' ? token.text : token.raw;
    }
  }
}

function containsLink(tokens: readonly Token[]): boolean {
  return tokens.some(
    (token) =>
      token.type === 'link' ||
      token.type === 'image' ||
      ('tokens' in token && Array.isArray(token.tokens) && containsLink(token.tokens as Token[])),
  );
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** Backslash-escapes characters that would turn a plain header label into Markdown. */
function escapeInline(text: string): string {
  return text.replace(/[\\`*_[\]]/g, '\\$&');
}

/** A backtick fence longer than any backtick run inside the body, so the body cannot close it. */
function codeFenceFor(body: string): string {
  const longestRun = Math.max(0, ...(body.match(/`+/g) ?? []).map((run) => run.length));
  return '`'.repeat(Math.max(3, longestRun + 1));
}

function pad(text: string, width: number, align: 'center' | 'left' | 'right' | null): string {
  const gap = Math.max(0, width - displayWidth(text));
  if (align === 'right') return ' '.repeat(gap) + text;
  if (align === 'center') {
    const left = Math.floor(gap / 2);
    return ' '.repeat(left) + text + ' '.repeat(gap - left);
  }
  return text + ' '.repeat(gap);
}

/**
 * Columns a monospace font gives the text: wide East Asian characters and most emoji take two,
 * combining marks and zero-width characters none. An approximation, good enough to align columns.
 */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    if (/\p{Mn}|\p{Me}|\p{Cf}/u.test(char)) continue;
    width += isWide(code) ? 2 : 1;
  }
  return width;
}

function isWide(code: number): boolean {
  return (
    (code >= 0x1100 && code <= 0x115f) ||
    (code >= 0x2e80 && code <= 0xa4cf && code !== 0x303f) ||
    (code >= 0xac00 && code <= 0xd7a3) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x1f300 && code <= 0x1f64f) ||
    (code >= 0x1f900 && code <= 0x1f9ff) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}
