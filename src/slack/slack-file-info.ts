/**
 * A shared file's description from Slack (`files.info`, Tier 4), for channel knowledge: its name,
 * type, size, download URL and the permalink people open it by. Null when Slack no longer has it.
 */
import type { SlackApi } from './slack-api.ts';
import { fileRefsOf, type SlackFile } from './slack-files.ts';

export async function sharedFileInfo(
  slack: SlackApi,
  fileId: string,
): Promise<(ReturnType<typeof fileRefsOf>[number] & { permalink: string | null }) | null> {
  const info = await slack
    .call<{ file?: SlackFile & { permalink?: string } }>('files.info', { file: fileId })
    .catch(() => null);
  const file = info?.file;
  const [ref] = file ? fileRefsOf([file]) : [];
  if (!file || !ref) return null;
  return { ...ref, permalink: typeof file.permalink === 'string' ? file.permalink : null };
}
