/**
 * Files people share, as the Slack stand-in holds and serves them. Like Slack, a file's
 * `url_private_download` answers only a request that carries the bot token (`Authorization:
 * Bearer`) of an app granted `files:read`; any other request is redirected to an HTML sign-in page.
 *
 * @example
 * const file = slack.uploadFile({ name: 'chart.png', mimetype: 'image/png', content: pngBytes, user: 'U0001' });
 * await slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> what is this?', files: [file] });
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { slackId } from './signed-delivery.ts';

export interface FakeFile {
  id: string;
  name: string;
  mimetype: string;
  /** Slack's short type name (`png`, `pdf`, …). */
  filetype: string;
  size: number;
  user: string;
  content: Buffer;
  createdAtMs: number;
}

export interface UploadFileInput {
  name: string;
  mimetype: string;
  content: Buffer;
  user: string;
}

const SIGN_IN_PAGE =
  '<!DOCTYPE html><html><head><title>Slack</title></head><body><h1>Sign in to your workspace</h1></body></html>';

export class FileStore {
  readonly #files = new Map<string, FakeFile>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  add(input: UploadFileInput): FakeFile {
    const file: FakeFile = {
      id: slackId('F'),
      name: input.name,
      mimetype: input.mimetype,
      filetype: input.name.includes('.') ? (input.name.split('.').pop() ?? '').toLowerCase() : 'binary',
      size: input.content.length,
      user: input.user,
      content: input.content,
      createdAtMs: this.#now(),
    };
    this.#files.set(file.id, file);
    return file;
  }

  /** The file is deleted: its URLs answer 404 from now on. */
  remove(id: string): boolean {
    return this.#files.delete(id);
  }

  get(id: string): FakeFile | undefined {
    return this.#files.get(id);
  }

  /** The file object Slack puts in events and API answers. */
  json(file: FakeFile, baseUrl: string): Record<string, unknown> {
    return {
      id: file.id,
      created: Math.floor(file.createdAtMs / 1000),
      name: file.name,
      title: file.name,
      mimetype: file.mimetype,
      filetype: file.filetype,
      user: file.user,
      size: file.size,
      mode: 'hosted',
      url_private: `${baseUrl}/files/${file.id}/${encodeURIComponent(file.name)}`,
      url_private_download: `${baseUrl}/files/${file.id}/download/${encodeURIComponent(file.name)}`,
      permalink: `https://fake.slack/files/${file.user}/${file.id}/${encodeURIComponent(file.name)}`,
    };
  }

  /** Serves `/files/<id>/…` to a caller holding `token` with `scopes`; everyone else gets the sign-in page. */
  serve(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    access: { token: string; scopes: string[] | null },
  ) {
    const id = url.pathname.split('/')[2] ?? '';
    const file = this.#files.get(id);
    const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const allowed =
      bearer === access.token && (access.scopes === null || access.scopes.includes('files:read'));
    if (!allowed) {
      response.writeHead(302, { location: `${url.origin}/signin?redir=${encodeURIComponent(url.pathname)}` });
      response.end();
      return;
    }
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('file not found');
      return;
    }
    response.writeHead(200, {
      'content-type': file.mimetype,
      'content-length': String(file.content.length),
      'content-disposition': `attachment; filename="${file.name.replace(/"/g, '')}"`,
    });
    response.end(file.content);
  }

  /** What a browser lands on after the redirect. */
  static signIn(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(SIGN_IN_PAGE);
  }
}
