/**
 * Fenced code block detection shared by the renderer and the paginator, so both agree on where
 * code starts and ends. Indentation is accepted at any depth (not only CommonMark's three spaces)
 * because models indent fences inside list items; fences inside block quotes are not tracked.
 */

export type CodeFence = {
  /** The fence characters exactly as opened, e.g. "```" or "~~~~". */
  readonly marker: string;
  /** The info string after the marker, trimmed (e.g. "ts" or "python title=x"). */
  readonly info: string;
};

const FENCE_OPEN = /^[ \t]*(`{3,}|~{3,})(.*)$/;
const FENCE_CLOSE = /^[ \t]*(`{3,}|~{3,})[ \t]*$/;

/** Parses one line (without its "\n") as an opening code fence. */
export function parseFenceOpen(line: string): CodeFence | null {
  const match = FENCE_OPEN.exec(line);
  if (!match) return null;
  const marker = match[1] ?? '';
  const info = (match[2] ?? '').trim();
  // CommonMark: a backtick fence's info string may not contain backticks (that is inline code).
  if (marker.startsWith('`') && info.includes('`')) return null;
  return { marker, info };
}

/** Whether one line (without its "\n") closes the given fence: same character, at least as long. */
export function isFenceClose(line: string, fence: CodeFence): boolean {
  const match = FENCE_CLOSE.exec(line);
  if (!match) return false;
  const marker = match[1] ?? '';
  return marker[0] === fence.marker[0] && marker.length >= fence.marker.length;
}
