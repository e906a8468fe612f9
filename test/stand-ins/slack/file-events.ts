/**
 * What Slack sends when people share, unshare and delete files, for tests, the bench and the
 * playground: a shared file joins the workspace with a message (in a channel) and `file_shared`;
 * an unshared one sends `file_unshared` for its channel; a deleted one is gone (its URLs answer 404)
 * and sends `file_deleted`.
 *
 * @example
 * const file = await shareFile(slack, { channel: 'C0001', user: 'U0001', name: 'refunds.md', mimetype: 'text/markdown', content: Buffer.from('# Refunds…') });
 * await deleteFile(slack, file);
 */
import type { FakeSlack, SendEventOptions } from '../fake-slack.ts';
import type { FakeFile } from './files.ts';

export interface ShareFileInput {
  channel: string;
  user: string;
  name: string;
  mimetype: string;
  content: Buffer;
  /** The message the file is shared with (none: only the event, as for a file added to a canvas). */
  text?: string | null;
  /** The workspace it is shared in (with installation by OAuth); defaults to the stand-in's. */
  teamId?: string;
}

export async function shareFile(slack: FakeSlack, input: ShareFileInput): Promise<FakeFile> {
  const file = slack.uploadFile({
    name: input.name,
    mimetype: input.mimetype,
    content: input.content,
    user: input.user,
  });
  const from = input.teamId ? { teamId: input.teamId } : {};
  if (input.text !== null)
    await slack.postUserMessage(
      { channel: input.channel, user: input.user, text: input.text ?? '', files: [file] },
      from,
    );
  await announceSharedFile(slack, file, input.channel, from);
  return file;
}

/** `file_shared` for a file just shared in `channel` (what Slack sends beside the message). */
export async function announceSharedFile(
  slack: FakeSlack,
  file: FakeFile,
  channel: string,
  options: SendEventOptions = {},
): Promise<void> {
  await slack.sendEvent(
    {
      type: 'file_shared',
      channel_id: channel,
      file_id: file.id,
      user_id: file.user,
      file: { id: file.id },
      event_ts: (Date.now() / 1000).toFixed(6),
    },
    options,
  );
}

export async function unshareFile(slack: FakeSlack, file: FakeFile, channel: string): Promise<void> {
  await slack.sendEvent({
    type: 'file_unshared',
    channel_id: channel,
    file_id: file.id,
    user_id: file.user,
    file: { id: file.id },
    event_ts: (Date.now() / 1000).toFixed(6),
  });
}

export async function deleteFile(slack: FakeSlack, file: FakeFile): Promise<void> {
  slack.files.remove(file.id);
  await slack.sendEvent({ type: 'file_deleted', file_id: file.id, event_ts: (Date.now() / 1000).toFixed(6) });
}
