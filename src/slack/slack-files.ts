/**
 * Reads files people share in Slack (FileReader port), with the bot token. Slack serves a file's
 * `url_private_download` only to a token with `files:read`; without it Slack redirects to an HTML
 * sign-in page, so a redirect, or HTML where the file is not HTML, means "no access", never bytes
 * for the model. The token goes only to Slack's file hosts (or the configured Slack API's origin,
 * where a local stand-in serves files), and redirects are not followed.
 */
import { type FileReader, type FileRef, FileUnreadableError } from '../conversation/ports.ts';
import type { SlackApi } from './slack-api.ts';

/** A file object as Slack puts it in message events and API answers. */
export interface SlackFile {
  id?: string;
  name?: string;
  title?: string;
  mimetype?: string;
  size?: number;
  url_private_download?: string;
  mode?: string;
}

/** Slack's file objects as the core's references (files Slack only shows a tombstone for are dropped). */
export function fileRefsOf(files: SlackFile[]): FileRef[] {
  return files
    .filter((file) => file.id && file.mode !== 'tombstone' && file.mode !== 'hidden_by_limit')
    .map((file) => ({
      id: file.id ?? '',
      name: file.name ?? file.title ?? 'file',
      mimetype: file.mimetype ?? 'application/octet-stream',
      size: typeof file.size === 'number' ? file.size : null,
      url: file.url_private_download ?? null,
    }));
}

/** Hosts Slack serves `url_private_download` from (commercial Slack and GovSlack). */
const SLACK_FILE_HOSTS = new Set(['files.slack.com', 'files.slack-gov.com']);

export interface SlackFilesOptions {
  /** The bot token of the workspace being served, read on each download. */
  botToken: () => string | undefined;
  slackApiUrl: string;
  /** For a file whose event carried no download URL: files.info. */
  slack: SlackApi;
  timeoutMs?: number;
}

export class SlackFiles implements FileReader {
  readonly #options: SlackFilesOptions;

  constructor(options: SlackFilesOptions) {
    this.#options = options;
  }

  async read(file: FileRef, maxBytes: number): Promise<Uint8Array> {
    const url = file.url ?? (await this.#downloadUrlOf(file.id));
    if (!this.#mayReceiveToken(url))
      throw new FileUnreadableError('unavailable', `not a Slack file URL: ${hostOf(url)}`);
    let response: Response;
    try {
      response = await fetch(url, {
        headers: { authorization: `Bearer ${this.#options.botToken() ?? ''}` },
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#options.timeoutMs ?? 15_000),
      });
    } catch (error) {
      throw new FileUnreadableError('unavailable', 'the file could not be downloaded', { cause: error });
    }
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new FileUnreadableError(
        'no_access',
        'Slack redirected to its sign-in page (files:read missing?)',
      );
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new FileUnreadableError('unavailable', `Slack answered ${response.status}`);
    }
    const type = (response.headers.get('content-type') ?? '').toLowerCase();
    if (type.startsWith('text/html') && !file.mimetype.toLowerCase().startsWith('text/html')) {
      await response.body?.cancel();
      throw new FileUnreadableError('no_access', 'Slack sent an HTML page instead of the file');
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw new FileUnreadableError('too_large', `${declared} bytes`);
    }
    return readAtMost(response, maxBytes);
  }

  async #downloadUrlOf(id: string): Promise<string> {
    const info = await this.#options.slack
      .call<{ file?: { url_private_download?: string } }>('files.info', { file: id })
      .catch((error: unknown) => {
        throw new FileUnreadableError('unavailable', 'files.info failed', { cause: error });
      });
    const url = info.file?.url_private_download;
    if (!url) throw new FileUnreadableError('unavailable', 'the file has no download URL');
    return url;
  }

  /** The bot token is sent only over https to Slack's file hosts, or to the configured API origin. */
  #mayReceiveToken(url: string): boolean {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.username || parsed.password) return false;
    if (parsed.origin === new URL(this.#options.slackApiUrl).origin) return true;
    return parsed.protocol === 'https:' && parsed.port === '' && SLACK_FILE_HOSTS.has(parsed.hostname);
  }
}

/** The body, refused once it passes `maxBytes` (a size Slack did not declare is still bounded). */
async function readAtMost(response: Response, maxBytes: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new FileUnreadableError('too_large', `over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unparseable)';
  }
}
