/**
 * Neutralises Slack control sequences in model output by inserting a zero-width space, so the text
 * reads the same but can never ping anyone, mention a user/channel/group, or smuggle a Slack-syntax
 * link with a hidden target:
 *
 *   `<` followed by `!` `@` `#` `\` `&`        e.g. `<!channel>`, `<@U1>`, `<#C1>`, `<\!here>`, `<&#33;here>`
 *   `<` followed by a URL scheme and `:`       e.g. `<https://x|label>`, `<mailto:a@b|x>`, `<slack://…>`,
 *                                              except a plain Markdown autolink `<https://x>` (no `|`,
 *                                              no space, nor a `|` spelled `&#124;`, `&vert;`…),
 *                                              which shows its own URL and stays a link
 *   an entity for `<` (`&lt;`, `&#60;`, `&#x3c;`) followed by any of the above (incl. any scheme):
 *                                              in case an entity is decoded before Slack parses controls
 *   `@` (or `&#64;`, `&#x40;`, `&commat;`) followed by `channel`, `here`, `everyone` or `&`, unless the
 *                                              `@` is inside an e-mail address (`ops@here.com`)
 *
 * Escaping applies everywhere, code included: Slack parses control sequences in code too, so a ZWSP in
 * `<!DOCTYPE html>` inside a code block is the accepted price. The function is idempotent.
 */

export const ZERO_WIDTH_SPACE = '\u200B';

/** Longest `<scheme:…>` we wait for before deciding it is not an autolink (and neutralising it). */
const MAX_AUTOLINK_LENGTH = 2048;
/** CommonMark URI schemes are 2–32 characters; we also neutralise 1-character ones. */
const MAX_SCHEME_LENGTH = 32;
const BROADCAST_WORDS = ['channel', 'here', 'everyone'] as const;
/** A word character before `@` means an e-mail address (`ops@here.com`), not a broadcast. */
const EMAIL_LOCAL_CHAR = /[A-Za-z0-9_]/;
const SCHEME_START = /[A-Za-z]/;
const SCHEME_CHAR = /[A-Za-z0-9+.-]/;
/** `&` sequences that may still grow into an entity for `<` or `@`. */
const ENTITY_PREFIX = /^&(?:l|c(?:o(?:m(?:m(?:a(?:t)?)?)?)?)?|#(?:[xX][0-9a-fA-F]{0,6}|[0-9]{0,10}))?$/i;
const NAMED_LT = /^&lt(;?)/i;
const NAMED_AT = /^&commat(;?)/i;
const NUMERIC = /^&#(?:([0-9]{1,10})|[xX]([0-9a-fA-F]{1,6}))(;?)/;
/** A `|` in disguise inside `<…>`: an entity that a decoder may turn into one. */
const DISGUISED_PIPE = /&#0*124;?|&#x0*7c;?|&(?:vert|verbar|VerticalLine);/i;

/** One decided step of the scan: `out` replaces `length` characters of input. */
type Step = { readonly out: string; readonly length: number };
type EntityKind = 'lt' | 'at' | 'other';

/** Escapes a complete text (see the file header for the rules). */
export function escapeSlackControl(text: string): string {
  return scan(text, '', true).out;
}

/**
 * For mrkdwn fields (`text`, section blocks), where `&`, `<` and `>` are Slack's own escapes: the
 * text then shows exactly as written and no control sequence can form.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Streaming form of {@link escapeSlackControl}: holds back only a trailing candidate that the next
 * characters decide (`<`, `&l`, `@ch`, an unfinished `<https://…`), so that the concatenation of
 * every `push` and the final `finish` equals `escapeSlackControl` of the whole text.
 */
export class SlackSafeTextStream {
  #pending = '';
  #previous = '';
  #finished = false;

  push(text: string): string {
    if (this.#finished) throw new Error('SlackSafeTextStream: push after finish');
    this.#pending += text;
    return this.#drain(false);
  }

  finish(): string {
    if (this.#finished) return '';
    this.#finished = true;
    return this.#drain(true);
  }

  #drain(final: boolean): string {
    const { out, consumed } = scan(this.#pending, this.#previous, final);
    if (consumed > 0) {
      this.#previous = this.#pending[consumed - 1] ?? '';
      this.#pending = this.#pending.slice(consumed);
    }
    return out;
  }
}

/**
 * Escapes `text` from its start for as long as each step is decided by the characters available.
 * `previous` is the input character before `text` (for the e-mail rule). Step sizes depend only on
 * the text, never on where it was cut, which is what makes the streaming form prefix-stable.
 */
function scan(text: string, previous: string, final: boolean): { out: string; consumed: number } {
  let out = '';
  let index = 0;
  while (index < text.length) {
    const step = stepAt(text, index, index === 0 ? previous : (text[index - 1] ?? ''), final);
    if (step === null) break;
    out += step.out;
    index += step.length;
  }
  return { out, consumed: index };
}

function stepAt(text: string, index: number, previous: string, final: boolean): Step | null {
  const char = text[index];
  if (char === '<') return afterLessThan(text, index, 1, true, final);
  if (char === '@') return afterAt(text, index, 1, previous, final);
  if (char === '&') {
    const entity = matchEntity(text, index, final);
    if (entity === null) return null;
    if (entity.kind === 'lt') return afterLessThan(text, index, entity.length, false, final);
    if (entity.kind === 'at') return afterAt(text, index, entity.length, previous, final);
    return { out: '&', length: 1 };
  }
  // A run of ordinary characters in one step keeps long texts fast.
  let end = index + 1;
  while (end < text.length && !isSpecial(text[end])) end++;
  return { out: text.slice(index, end), length: end - index };
}

/** Characters that cannot appear in a Markdown autolink (so `<scheme:` is something else). */
function isAutolinkStop(char: string): boolean {
  const code = char.charCodeAt(0);
  return char === '|' || char === '<' || /\s/.test(char) || code < 0x20 || code === 0x7f;
}

function isSpecial(char: string | undefined): boolean {
  return char === '<' || char === '@' || char === '&';
}

/** `<` (raw, or an entity for it of `openerLength` characters) at `index`: neutralise or not. */
function afterLessThan(
  text: string,
  index: number,
  openerLength: number,
  raw: boolean,
  final: boolean,
): Step | null {
  const opener = text.slice(index, index + openerLength);
  const keep: Step = { out: opener, length: openerLength };
  const neutralise: Step = { out: opener + ZERO_WIDTH_SPACE, length: openerLength };
  const next = index + openerLength;
  if (next >= text.length) return final ? keep : null;
  const char = text[next] ?? '';
  // `\` and `&` can spell a trigger character after Markdown unescaping or entity decoding.
  if ('!@#\\&'.includes(char)) return neutralise;
  if (!SCHEME_START.test(char)) return keep;

  let end = next + 1;
  while (end < text.length && end - next <= MAX_SCHEME_LENGTH && SCHEME_CHAR.test(text[end] ?? '')) end++;
  if (end - next > MAX_SCHEME_LENGTH) return keep;
  if (end >= text.length) return final ? keep : null;
  if (text[end] !== ':') return keep;
  if (!raw) return neutralise;

  // `<scheme:…>`: a Markdown autolink is kept; anything with `|` (Slack's label syntax) is not.
  for (let at = end + 1; at < text.length; at++) {
    if (at - index > MAX_AUTOLINK_LENGTH) return neutralise;
    const urlChar = text[at] ?? '';
    if (urlChar === '>') return DISGUISED_PIPE.test(text.slice(end + 1, at)) ? neutralise : keep;
    if (isAutolinkStop(urlChar)) return neutralise;
  }
  return final ? neutralise : null;
}

/** `@` (raw, or an entity for it) at `index`: neutralise a broadcast word after it. */
function afterAt(
  text: string,
  index: number,
  openerLength: number,
  previous: string,
  final: boolean,
): Step | null {
  const opener = text.slice(index, index + openerLength);
  const keep: Step = { out: opener, length: openerLength };
  if (EMAIL_LOCAL_CHAR.test(previous)) return keep;
  const rest = text.slice(index + openerLength, index + openerLength + 8).toLowerCase();
  const reachesEnd = index + openerLength + rest.length >= text.length;
  // `&` could be an entity spelling one of the words.
  if (rest.startsWith('&') || BROADCAST_WORDS.some((word) => rest.startsWith(word))) {
    return { out: opener + ZERO_WIDTH_SPACE, length: openerLength };
  }
  if (!final && reachesEnd && BROADCAST_WORDS.some((word) => word.startsWith(rest))) return null;
  return keep;
}

/** Classifies an `&` at `index`; `null` when more text is needed to tell. */
function matchEntity(
  text: string,
  index: number,
  final: boolean,
): { kind: EntityKind; length: number } | null {
  const rest = text.slice(index, index + 16);
  const reachesEnd = index + rest.length >= text.length;
  if (!final && reachesEnd && ENTITY_PREFIX.test(rest)) return null;

  const lt = NAMED_LT.exec(rest);
  if (lt) return { kind: 'lt', length: lt[0].length };
  const at = NAMED_AT.exec(rest);
  if (at) return { kind: 'at', length: at[0].length };
  const numeric = NUMERIC.exec(rest);
  if (numeric) {
    // The semicolon is optional (HTML decodes without it); more digits could still follow at the end.
    if (!final && numeric[3] === '' && index + numeric[0].length >= text.length) return null;
    const code =
      numeric[1] !== undefined ? Number.parseInt(numeric[1], 10) : Number.parseInt(numeric[2] ?? '', 16);
    if (code === 0x3c) return { kind: 'lt', length: numeric[0].length };
    if (code === 0x40) return { kind: 'at', length: numeric[0].length };
  }
  return { kind: 'other', length: 1 };
}
