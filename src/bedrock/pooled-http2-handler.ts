/**
 * The Bedrock clients' HTTP/2 handler, with one change: streamed responses (ConverseStream,
 * RetrieveAndGenerateStream) share pooled connections like every other call. The SDK gives each
 * event-stream call a connection of its own, which bidirectional streams need; ours only stream
 * back, and a connection per answer costs a TCP and TLS handshake before every first token (and,
 * in a burst, one connection per answer on both ends).
 */
import { NodeHttp2Handler, type NodeHttp2HandlerOptions } from '@smithy/node-http-handler';

type HandleArgs = Parameters<NodeHttp2Handler['handle']>;

/**
 * Streams per connection before the pool opens another: below the 100 that RFC 9113 recommends
 * servers allow at least, so no stream waits for a free slot on a busy connection.
 */
export const STREAMS_PER_CONNECTION = 64;

export class PooledHttp2Handler extends NodeHttp2Handler {
  constructor(options: Omit<NodeHttp2HandlerOptions, 'disableConcurrentStreams' | 'maxConcurrentStreams'>) {
    super({ ...options, disableConcurrentStreams: false, maxConcurrentStreams: STREAMS_PER_CONNECTION });
  }

  // `isEventStream` is the SDK's internal signal for "new connection"; without it the pool is used.
  override handle(request: HandleArgs[0], options: HandleArgs[1] = {}) {
    const { isEventStream: _dropped, ...rest } = options;
    return super.handle(request, rest);
  }
}
