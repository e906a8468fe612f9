/**
 * Turns a Knowledge Base reference's location into a source a person can open: S3 objects as an
 * https link (presigned GET, or the S3 console), web pages, Confluence, SharePoint and Salesforce by
 * their URLs, other types by a readable label. The title comes from metadata when there is one.
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { CitedSource } from '../conversation/ports.ts';

export interface ReferenceLocation {
  type?: string;
  s3Location?: { uri?: string };
  webLocation?: { url?: string };
  confluenceLocation?: { url?: string };
  sharePointLocation?: { url?: string };
  salesforceLocation?: { url?: string };
  customDocumentLocation?: { id?: string };
  kendraDocumentLocation?: { uri?: string };
  oneDriveLocation?: { url?: string };
  googleDriveLocation?: { url?: string };
  sqlLocation?: { query?: string };
}

export interface SourceReference {
  location?: ReferenceLocation;
  metadata?: Record<string, unknown>;
}

export type S3LinkMode = 'console' | 'presigned';

export interface SourceLinkOptions {
  region: string;
  s3Links: S3LinkMode;
  presignedUrlTtlSeconds: number;
  /** For presigned links; built on first use when not given. */
  s3Client?: S3Client;
  now?: () => number;
}

const TITLE_KEYS = ['title', 'x-amz-bedrock-kb-title', 'document_title', 'name'];

export class SourceLinks {
  readonly #options: SourceLinkOptions;
  #s3: S3Client | null;

  constructor(options: SourceLinkOptions) {
    this.#options = options;
    this.#s3 = options.s3Client ?? null;
  }

  async toSource(reference: SourceReference): Promise<CitedSource | null> {
    const location = reference.location;
    if (!location) return null;
    const { id, url } = await this.#locate(location);
    if (!id) return null;
    return { id, url, title: titleOf(reference.metadata, id) };
  }

  async #locate(location: ReferenceLocation): Promise<{ id: string | null; url: string | null }> {
    const s3Uri = location.s3Location?.uri;
    if (s3Uri) return { id: s3Uri, url: await this.#s3Link(s3Uri) };
    const url =
      location.webLocation?.url ??
      location.confluenceLocation?.url ??
      location.sharePointLocation?.url ??
      location.salesforceLocation?.url ??
      location.oneDriveLocation?.url ??
      location.googleDriveLocation?.url ??
      location.kendraDocumentLocation?.uri;
    if (url) return { id: url, url: /^https?:\/\//i.test(url) ? url : null };
    const custom = location.customDocumentLocation?.id;
    if (custom) return { id: `custom:${custom}`, url: null };
    if (location.sqlLocation?.query) return { id: `sql:${location.sqlLocation.query}`, url: null };
    return { id: null, url: null };
  }

  async #s3Link(uri: string): Promise<string | null> {
    const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!match?.[1] || !match[2]) return null;
    const [, bucket, key] = match;
    if (this.#options.s3Links === 'console') {
      const query = new URLSearchParams({ region: this.#options.region, prefix: key });
      return `https://console.aws.amazon.com/s3/object/${encodeURIComponent(bucket)}?${query.toString()}`;
    }
    this.#s3 ??= new S3Client({ region: this.#options.region });
    return getSignedUrl(this.#s3, new GetObjectCommand({ Bucket: bucket, Key: key }), {
      expiresIn: await this.#presignedLifetimeSeconds(this.#s3),
    });
  }

  /**
   * A presigned URL stops working when the credentials that signed it expire (a role session, often
   * an hour), whatever its own expiry says: never promise a link longer than they live.
   */
  async #presignedLifetimeSeconds(s3: S3Client): Promise<number> {
    const configured = this.#options.presignedUrlTtlSeconds;
    const credentials = await s3.config.credentials();
    if (!credentials.expiration) return configured;
    const nowMs = (this.#options.now ?? Date.now)();
    const remainingSeconds = Math.floor((credentials.expiration.getTime() - nowMs) / 1000);
    return Math.max(1, Math.min(configured, remainingSeconds));
  }
}

function titleOf(metadata: Record<string, unknown> | undefined, id: string): string {
  for (const key of TITLE_KEYS) {
    const value = metadata?.[key];
    if (typeof value === 'string' && value.trim()) return value.trim();
  }
  if (id.startsWith('custom:') || id.startsWith('sql:')) return id.slice(id.indexOf(':') + 1);
  try {
    const path = id.startsWith('s3://') ? id.slice(5).split('/').slice(1).join('/') : new URL(id).pathname;
    const last = decodeURIComponent(path.split('/').filter(Boolean).at(-1) ?? '');
    if (last) return last;
    return id.startsWith('s3://') ? id : new URL(id).hostname;
  } catch {
    return id;
  }
}
