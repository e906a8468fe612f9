/**
 * The one rendering path for text from outside the bot that reaches Slack other than as the model's
 * answer: tool results on steps (task-card details and sources, step lines of posted messages),
 * Sources titles (Knowledge Base metadata, MCP resource names), file names in notes, and approval
 * arguments. It is the answer's own rendering (markdown-renderer.ts), so the same rules hold
 * everywhere: no ping and no control sequence (slack-safe-text.ts), and no link whose label hides
 * its host (link-hosts.ts: the host is added to the label).
 */
import { normaliseHostName, trustsHost } from './host-names.ts';
import { labelShowsHost } from './link-hosts.ts';
import { renderMarkdown } from './markdown-renderer.ts';
import { escapeSlackControl } from './slack-safe-text.ts';

export interface UntrustedTextOptions {
  /** Hosts (and their subdomains) whose links keep their label as written (`TRUSTED_LINK_HOSTS`). */
  trustedLinkHosts?: readonly string[];
}

/** Untrusted Markdown, as Slack may show it. */
export function untrustedMarkdown(text: string, options: UntrustedTextOptions = {}): string {
  return renderMarkdown(text, { trustedLinkHosts: options.trustedLinkHosts ?? [] });
}

/** One line of untrusted text: whitespace runs become one space; past `maxChars`, cut with a visible "…". */
export function untrustedLine(text: string, maxChars: number, options: UntrustedTextOptions = {}): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return untrustedMarkdown(line.length > maxChars ? `${line.slice(0, maxChars - 1)}…` : line, options);
}

/**
 * A link's label where Slack shows `label` linking to `url` without Markdown (a task card's
 * source): the host is added when the label does not show it, as link-hosts.ts does in Markdown.
 */
export function untrustedLinkLabel(title: string, url: string, options: UntrustedTextOptions = {}): string {
  const label = title.replace(/\s+/g, ' ').trim() || url;
  const host = hostOf(url);
  const hides =
    host !== null && !trustsHost(options.trustedLinkHosts ?? [], host) && !labelShowsHost(label, host);
  return escapeSlackControl(hides ? `${label} (${host})` : label);
}

/** One Sources entry: `title` as the label of a link to `url` (or plain, without one). */
export function untrustedSourceLink(
  title: string,
  url: string | null,
  options: UntrustedTextOptions = {},
): string {
  // Brackets and backslashes in the title are literal: it cannot close its label or open a link.
  const label = title
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[[\]\\]/g, (c) => `\\${c}`);
  if (!url) return untrustedMarkdown(label, options);
  // Characters that would end a Markdown link target early are percent-encoded.
  const target = url.replace(/[\s()<>]/g, (c: string) => encodeURIComponent(c));
  return untrustedMarkdown(`[${label || target}](${target})`, options);
}

function hostOf(url: string): string | null {
  try {
    const { protocol, hostname } = new URL(url);
    return protocol === 'http:' || protocol === 'https:' ? normaliseHostName(hostname) : null;
  } catch {
    return null;
  }
}
