/** What goes under an answer's text: the Sources list and notes. */
import type { CitedSource } from '../../conversation/ports.ts';
import {
  type UntrustedTextOptions,
  untrustedMarkdown,
  untrustedSourceLink,
} from '../render/untrusted-text.ts';

/**
 * Notes and the Sources list under an answer, as Markdown. Source titles (Knowledge Base metadata,
 * MCP resource names) and notes (they name shared files) are untrusted text.
 */
export function renderAppendix(
  notes: string[],
  sources: CitedSource[],
  untrusted: UntrustedTextOptions = {},
): string {
  const parts: string[] = [];
  if (sources.length > 0) {
    const lines = sources.map(
      (source, index) => `${index + 1}. ${untrustedSourceLink(source.title, source.url, untrusted)}`,
    );
    parts.push(`**Sources**\n${lines.join('\n')}`);
  }
  parts.push(...notes.map((note) => untrustedMarkdown(note, untrusted)));
  return parts.join('\n\n');
}
