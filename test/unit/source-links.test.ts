import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { SourceLinks } from '../../src/bedrock/source-links.ts';

const nowMs = Date.parse('2026-12-01T10:00:00Z');

function linksSignedBy(credentials: { expiration?: Date }, ttlSeconds: number): SourceLinks {
  const s3Client = new S3Client({
    region: 'us-east-1',
    credentials: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', ...credentials }),
  });
  return new SourceLinks({
    region: 'us-east-1',
    s3Links: 'presigned',
    presignedUrlTtlSeconds: ttlSeconds,
    s3Client,
    now: () => nowMs,
  });
}

async function expiresSecondsOf(links: SourceLinks): Promise<number> {
  const source = await links.toSource({ location: { type: 'S3', s3Location: { uri: 's3://docs/a.pdf' } } });
  return Number(new URL(source?.url ?? 'https://x').searchParams.get('X-Amz-Expires'));
}

describe('presigned S3 links', () => {
  it('live as long as configured when the signing credentials do not expire', async () => {
    expect(await expiresSecondsOf(linksSignedBy({}, 3600))).toBe(3600);
  });

  it('never outlive the credentials that signed them', async () => {
    const expiration = new Date(nowMs + 10 * 60_000);

    expect(await expiresSecondsOf(linksSignedBy({ expiration }, 3600))).toBe(600);
  });

  it('keep the configured lifetime when the credentials live longer', async () => {
    const expiration = new Date(nowMs + 6 * 3600_000);

    expect(await expiresSecondsOf(linksSignedBy({ expiration }, 900))).toBe(900);
  });
});
