/** What goes under an answer's text: the Sources list and notes. */
import type { CitedSource } from '../../conversation/ports.ts';
import { escapeSlackControl } from '../render/slack-safe-text.ts';

/** Notes and the Sources list under an answer, as Markdown; titles and URLs are escaped. */
export function renderAppendix(notes: string[], sources: CitedSource[]): string {
  const parts: string[] = [];
  if (sources.length > 0) {
    const lines = sources.map((source, index) => {
      const title = escapeSlackControl(source.title).replace(/[[\]]/g, (c) => `\\${c}`);
      // Characters that would end a Markdown link target early are percent-encoded.
      const url = source.url?.replace(/[\s()<>]/g, (c: string) => encodeURIComponent(c));
      return url ? `${index + 1}. [${title}](${url})` : `${index + 1}. ${title}`;
    });
    parts.push(`**Sources**\n${lines.join('\n')}`);
  }
  parts.push(...notes.map((note) => escapeSlackControl(note)));
  return parts.join('\n\n');
}
