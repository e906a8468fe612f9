/**
 * The vector index on Amazon S3 Vectors (`KNOWLEDGE_INDEX=s3vectors`), for any scale and any number
 * of replicas: one index per workspace in the configured vector bucket (cosine, float32), created
 * on first use; each vector's filterable metadata names its scope (channel or DM) and source, and
 * every query filters on the scope, so a channel's knowledge never answers elsewhere. Within S3
 * Vectors' limits: at most 500 vectors a PutVectors or DeleteVectors call, `topK` at most 100.
 */
import type { S3VectorsClient } from '@aws-sdk/client-s3vectors';
import type { VectorHit, VectorIndex } from '../conversation/knowledge-ports.ts';

const BATCH = 500;
const MAX_TOP_K = 100;

/** S3 Vectors' index names: 3–63 lower-case letters, digits, hyphens and dots. */
export function indexNameOf(teamId: string): string {
  return `slack-${teamId.toLowerCase().replace(/[^a-z0-9.-]/g, '-')}`.slice(0, 63);
}

export interface S3VectorsIndexOptions {
  client: S3VectorsClient;
  bucket: string;
  dimensions: number;
  commands: typeof import('@aws-sdk/client-s3vectors');
}

export class S3VectorsIndex implements VectorIndex {
  readonly name = 's3vectors';
  readonly vectorsInStore = false;
  readonly #o: S3VectorsIndexOptions;
  /** Workspaces whose index is known to exist. */
  readonly #ready = new Map<string, Promise<void>>();

  constructor(options: S3VectorsIndexOptions) {
    this.#o = options;
  }

  // Any scale: S3 Vectors holds up to two billion vectors an index.
  checkCapacity(): void {}

  async upsert(scope: string, items: Array<{ id: string; sourceId: string; vector: Float32Array }>) {
    if (items.length === 0) return;
    const indexName = await this.#index(scope);
    const { PutVectorsCommand } = this.#o.commands;
    for (let i = 0; i < items.length; i += BATCH) {
      await this.#o.client.send(
        new PutVectorsCommand({
          vectorBucketName: this.#o.bucket,
          indexName,
          vectors: items.slice(i, i + BATCH).map((item) => ({
            key: `${scope}|${item.id}`,
            data: { float32: Array.from(item.vector) },
            metadata: { scope, source: item.sourceId },
          })),
        }),
      );
    }
  }

  async remove(scope: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const indexName = await this.#index(scope);
    const { DeleteVectorsCommand } = this.#o.commands;
    for (let i = 0; i < ids.length; i += BATCH)
      await this.#o.client.send(
        new DeleteVectorsCommand({
          vectorBucketName: this.#o.bucket,
          indexName,
          keys: ids.slice(i, i + BATCH).map((id) => `${scope}|${id}`),
        }),
      );
  }

  async query(scope: string, vector: Float32Array, topK: number): Promise<VectorHit[]> {
    const indexName = await this.#index(scope);
    const { QueryVectorsCommand } = this.#o.commands;
    const found = await this.#o.client.send(
      new QueryVectorsCommand({
        vectorBucketName: this.#o.bucket,
        indexName,
        topK: Math.min(MAX_TOP_K, Math.max(1, topK)),
        queryVector: { float32: Array.from(vector) },
        filter: { scope: { $eq: scope } },
        returnDistance: true,
      }),
    );
    const prefix = `${scope}|`;
    return (found.vectors ?? [])
      .filter((v) => v.key?.startsWith(prefix))
      .map((v) => ({ id: (v.key as string).slice(prefix.length), score: 1 - (v.distance ?? 1) }));
  }

  /** The workspace's index, created (cosine, float32) the first time it is needed. */
  #index(scope: string): Promise<string> {
    const teamId = scope.split(':')[0] ?? '';
    const indexName = indexNameOf(teamId);
    let ready = this.#ready.get(indexName);
    if (!ready) {
      ready = this.#ensure(indexName);
      ready.catch(() => this.#ready.delete(indexName));
      this.#ready.set(indexName, ready);
    }
    return ready.then(() => indexName);
  }

  async #ensure(indexName: string): Promise<void> {
    const { GetIndexCommand, CreateIndexCommand } = this.#o.commands;
    try {
      await this.#o.client.send(new GetIndexCommand({ vectorBucketName: this.#o.bucket, indexName }));
      return;
    } catch (error) {
      if ((error as { name?: string }).name !== 'NotFoundException') throw error;
    }
    try {
      await this.#o.client.send(
        new CreateIndexCommand({
          vectorBucketName: this.#o.bucket,
          indexName,
          dataType: 'float32',
          dimension: this.#o.dimensions,
          distanceMetric: 'cosine',
        }),
      );
    } catch (error) {
      // Another replica created it first.
      if ((error as { name?: string }).name !== 'ConflictException') throw error;
    }
  }

  async close(): Promise<void> {
    this.#o.client.destroy();
  }
}

/** The index on its own client (the SDK finds a local endpoint in AWS_ENDPOINT_URL_S3VECTORS). */
export async function createS3VectorsIndex(options: {
  region: string;
  bucket: string;
  dimensions: number;
  timeoutMs: number;
}): Promise<S3VectorsIndex> {
  const [commands, { NodeHttpHandler }] = await Promise.all([
    import('@aws-sdk/client-s3vectors'),
    import('@smithy/node-http-handler'),
  ]);
  const client = new commands.S3VectorsClient({
    region: options.region,
    maxAttempts: 3,
    requestHandler: new NodeHttpHandler({ requestTimeout: options.timeoutMs }),
  });
  return new S3VectorsIndex({ client, bucket: options.bucket, dimensions: options.dimensions, commands });
}
