/**
 * A stand-in for Amazon S3 Vectors on 127.0.0.1, spoken to by the real `S3VectorsClient` (REST-JSON:
 * `POST /CreateIndex`, `/GetIndex`, `/DeleteIndex`, `/PutVectors`, `/DeleteVectors`,
 * `/QueryVectors`, `/ListVectors`), with S3 Vectors' documented limits and wording: at most 4,096
 * dimensions, vectors of the index's dimension, at most 500 vectors a PutVectors or DeleteVectors,
 * `topK` 1–100, filterable metadata at most 2 KB a vector. Distances are cosine distances (1 −
 * cosine similarity); filters take `$eq`, `$ne`, `$in`, `$and`, `$or` and plain equality.
 *
 * Usage:
 *   const s3v = await FakeS3Vectors.start({ buckets: ['knowledge'] });
 *   process.env.AWS_ENDPOINT_URL_S3VECTORS = s3v.url;   // or the client's `endpoint`
 *   s3v.vectorsIn('knowledge', 'slack-t0001');          // what an index holds
 *   s3v.requests;                                         // [{ operation, body }]
 *   await s3v.stop();
 */
import { type Exchange, type RunningHttp2JsonServer, startHttp2JsonServer } from './http2-json-server.ts';

export const S3_VECTORS_LIMITS = {
  maxDimension: 4_096,
  maxPutVectors: 500,
  maxDeleteVectors: 500,
  maxTopK: 100,
  maxFilterableMetadataBytes: 2_048,
  maxMetadataBytes: 40 * 1_024,
  maxMetadataKeys: 50,
} as const;

interface StoredVector {
  key: string;
  data: number[];
  metadata: Record<string, unknown>;
}

interface Index {
  name: string;
  dimension: number;
  distanceMetric: 'cosine' | 'euclidean';
  nonFilterable: string[];
  vectors: Map<string, StoredVector>;
  createdAtS: number;
}

export interface S3VectorsRequest {
  operation: string;
  body: Record<string, unknown>;
  error?: string;
}

const STATUS = {
  ValidationException: 400,
  NotFoundException: 404,
  ConflictException: 409,
  TooManyRequestsException: 429,
} as const;

class Refusal extends Error {
  readonly type: keyof typeof STATUS;
  constructor(type: keyof typeof STATUS, message: string) {
    super(message);
    this.type = type;
  }
}

export class FakeS3Vectors {
  readonly url: string;
  readonly requests: S3VectorsRequest[] = [];
  readonly #server: RunningHttp2JsonServer;
  /** Buckets by name, each with its indexes by name. */
  readonly #buckets = new Map<string, Map<string, Index>>();

  private constructor(server: RunningHttp2JsonServer, buckets: string[]) {
    this.#server = server;
    this.url = server.url;
    for (const bucket of buckets) this.#buckets.set(bucket, new Map());
  }

  static async start(options: { buckets?: string[]; port?: number } = {}): Promise<FakeS3Vectors> {
    let fake: FakeS3Vectors | undefined;
    const server = await startHttp2JsonServer({
      port: options.port ?? 0,
      errorNamespace: 'com.amazonaws.s3vectors',
      onExchange: (exchange) => (fake ? fake.#onExchange(exchange) : undefined),
    });
    fake = new FakeS3Vectors(server, options.buckets ?? ['knowledge']);
    return fake;
  }

  /** The keys and metadata an index holds now (empty when there is no such index). */
  vectorsIn(bucket: string, indexName: string): Array<{ key: string; metadata: Record<string, unknown> }> {
    const index = this.#buckets.get(bucket)?.get(indexName);
    return [...(index?.vectors.values() ?? [])].map(({ key, metadata }) => ({ key, metadata }));
  }

  indexesIn(bucket: string): string[] {
    return [...(this.#buckets.get(bucket)?.keys() ?? [])];
  }

  async stop(): Promise<void> {
    await this.#server.stop();
  }

  #onExchange(exchange: Exchange): void {
    const operation = exchange.path.replace(/^\//, '');
    const body = (typeof exchange.body === 'object' && exchange.body !== null ? exchange.body : {}) as Record<
      string,
      unknown
    >;
    const request: S3VectorsRequest = { operation, body };
    this.requests.push(request);
    try {
      if (exchange.method !== 'POST')
        throw new Refusal('ValidationException', `Unsupported operation ${operation}`);
      exchange.sendJson(200, this.#answer(operation, body));
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      request.error = error.type;
      exchange.sendAwsError(STATUS[error.type], error.type, error.message);
    }
  }

  #answer(operation: string, body: Record<string, unknown>): unknown {
    switch (operation) {
      case 'CreateIndex':
        return this.#createIndex(body);
      case 'GetIndex': {
        const index = this.#index(body);
        return {
          index: {
            vectorBucketName: body.vectorBucketName,
            indexName: index.name,
            dataType: 'float32',
            dimension: index.dimension,
            distanceMetric: index.distanceMetric,
            creationTime: index.createdAtS,
          },
        };
      }
      case 'DeleteIndex':
        this.#bucket(body).delete(this.#index(body).name);
        return {};
      case 'PutVectors':
        return this.#put(body);
      case 'DeleteVectors': {
        const index = this.#index(body);
        const keys = Array.isArray(body.keys) ? (body.keys as string[]) : [];
        if (keys.length < 1 || keys.length > S3_VECTORS_LIMITS.maxDeleteVectors)
          throw new Refusal(
            'ValidationException',
            `1 validation error detected: Value at 'keys' failed to satisfy constraint: Member must have length between 1 and ${S3_VECTORS_LIMITS.maxDeleteVectors}`,
          );
        for (const key of keys) index.vectors.delete(key);
        return {};
      }
      case 'QueryVectors':
        return this.#query(body);
      case 'ListVectors': {
        const index = this.#index(body);
        return { vectors: [...index.vectors.values()].map(({ key, metadata }) => ({ key, metadata })) };
      }
      default:
        throw new Refusal('ValidationException', `Unsupported operation ${operation}`);
    }
  }

  #bucket(body: Record<string, unknown>): Map<string, Index> {
    const bucket = this.#buckets.get(String(body.vectorBucketName ?? ''));
    if (!bucket) throw new Refusal('NotFoundException', 'The specified vector bucket could not be found');
    return bucket;
  }

  #index(body: Record<string, unknown>): Index {
    const index = this.#bucket(body).get(String(body.indexName ?? ''));
    if (!index) throw new Refusal('NotFoundException', 'The specified index could not be found');
    return index;
  }

  #createIndex(body: Record<string, unknown>): unknown {
    const bucket = this.#bucket(body);
    const name = String(body.indexName ?? '');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name))
      throw new Refusal('ValidationException', 'Invalid index name');
    const dimension = Number(body.dimension);
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > S3_VECTORS_LIMITS.maxDimension)
      throw new Refusal(
        'ValidationException',
        `1 validation error detected: Value at 'dimension' failed to satisfy constraint: Member must have value between 1 and ${S3_VECTORS_LIMITS.maxDimension}`,
      );
    if (body.dataType !== 'float32') throw new Refusal('ValidationException', 'dataType must be float32');
    if (body.distanceMetric !== 'cosine' && body.distanceMetric !== 'euclidean')
      throw new Refusal('ValidationException', 'distanceMetric must be cosine or euclidean');
    if (bucket.has(name))
      throw new Refusal('ConflictException', 'An index with the specified name already exists');
    const config = body.metadataConfiguration as { nonFilterableMetadataKeys?: string[] } | undefined;
    bucket.set(name, {
      name,
      dimension,
      distanceMetric: body.distanceMetric,
      nonFilterable: config?.nonFilterableMetadataKeys ?? [],
      vectors: new Map(),
      createdAtS: Math.floor(Date.now() / 1000),
    });
    return {};
  }

  #put(body: Record<string, unknown>): unknown {
    const index = this.#index(body);
    const vectors = Array.isArray(body.vectors) ? (body.vectors as Array<Record<string, unknown>>) : [];
    if (vectors.length < 1 || vectors.length > S3_VECTORS_LIMITS.maxPutVectors)
      throw new Refusal(
        'ValidationException',
        `1 validation error detected: Value at 'vectors' failed to satisfy constraint: Member must have length between 1 and ${S3_VECTORS_LIMITS.maxPutVectors}`,
      );
    const checked = vectors.map((vector) => {
      const key = String(vector.key ?? '');
      if (!key || key.length > 1_024) throw new Refusal('ValidationException', 'Invalid vector key');
      const data = (vector.data as { float32?: unknown } | undefined)?.float32;
      if (!Array.isArray(data) || data.length !== index.dimension)
        throw new Refusal(
          'ValidationException',
          `Invalid record for key '${key}': vector must have length ${index.dimension}, but has length ${Array.isArray(data) ? data.length : 0}`,
        );
      const metadata = (vector.metadata ?? {}) as Record<string, unknown>;
      const filterable = Object.fromEntries(
        Object.entries(metadata).filter(([name]) => !index.nonFilterable.includes(name)),
      );
      if (Object.keys(metadata).length > S3_VECTORS_LIMITS.maxMetadataKeys)
        throw new Refusal('ValidationException', `Invalid record for key '${key}': too many metadata keys`);
      if (Buffer.byteLength(JSON.stringify(metadata)) > S3_VECTORS_LIMITS.maxMetadataBytes)
        throw new Refusal('ValidationException', `Invalid record for key '${key}': metadata is too large`);
      if (Buffer.byteLength(JSON.stringify(filterable)) > S3_VECTORS_LIMITS.maxFilterableMetadataBytes)
        throw new Refusal(
          'ValidationException',
          `Invalid record for key '${key}': Filterable metadata must have at most ${S3_VECTORS_LIMITS.maxFilterableMetadataBytes} bytes`,
        );
      return { key, data: data as number[], metadata };
    });
    for (const vector of checked) index.vectors.set(vector.key, vector);
    return {};
  }

  #query(body: Record<string, unknown>): unknown {
    const index = this.#index(body);
    const topK = Number(body.topK);
    if (!Number.isInteger(topK) || topK < 1 || topK > S3_VECTORS_LIMITS.maxTopK)
      throw new Refusal(
        'ValidationException',
        `1 validation error detected: Value at 'topK' failed to satisfy constraint: Member must have value between 1 and ${S3_VECTORS_LIMITS.maxTopK}`,
      );
    const query = (body.queryVector as { float32?: unknown } | undefined)?.float32;
    if (!Array.isArray(query) || query.length !== index.dimension)
      throw new Refusal(
        'ValidationException',
        `Query vector must have length ${index.dimension}, but has length ${Array.isArray(query) ? query.length : 0}`,
      );
    const filter = body.filter as Record<string, unknown> | undefined;
    const scored = [...index.vectors.values()]
      .filter((vector) => filter === undefined || matches(vector.metadata, filter))
      .map((vector) => ({
        vector,
        distance: distanceOf(index.distanceMetric, query as number[], vector.data),
      }))
      .sort((a, b) => a.distance - b.distance)
      .slice(0, topK);
    return {
      vectors: scored.map(({ vector, distance }) => ({
        key: vector.key,
        ...(body.returnDistance ? { distance } : {}),
        ...(body.returnMetadata ? { metadata: vector.metadata } : {}),
      })),
      distanceMetric: index.distanceMetric,
    };
  }
}

function distanceOf(metric: 'cosine' | 'euclidean', a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i += 1) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
    sq += (x - y) ** 2;
  }
  return metric === 'euclidean' ? Math.sqrt(sq) : 1 - dot / (Math.sqrt(na * nb) || 1);
}

/** S3 Vectors' metadata filter: `$eq`, `$ne`, `$in`, `$nin`, `$exists`, `$and`, `$or`, or a plain value (equality). */
function matches(metadata: Record<string, unknown>, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([name, condition]) => {
    if (name === '$and')
      return (condition as Array<Record<string, unknown>>).every((f) => matches(metadata, f));
    if (name === '$or')
      return (condition as Array<Record<string, unknown>>).some((f) => matches(metadata, f));
    const value = metadata[name];
    if (typeof condition !== 'object' || condition === null) return value === condition;
    return Object.entries(condition as Record<string, unknown>).every(([op, operand]) => {
      switch (op) {
        case '$eq':
          return value === operand;
        case '$ne':
          return value !== operand;
        case '$in':
          return Array.isArray(operand) && operand.includes(value);
        case '$nin':
          return Array.isArray(operand) && !operand.includes(value);
        case '$exists':
          return (value !== undefined) === operand;
        default:
          throw new Refusal('ValidationException', `Invalid filter operator ${op}`);
      }
    });
  });
}
