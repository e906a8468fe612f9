/**
 * The Bedrock clients' HTTP/2 handler, with one change: streamed responses (ConverseStream,
 * RetrieveAndGenerateStream) share pooled connections like every other call. The SDK gives each
 * event-stream call a connection of its own, which bidirectional streams need; ours only stream
 * back, and a connection per answer costs a TCP and TLS handshake before every first token (and,
 * in a burst, one connection per answer on both ends).
 */
import { NodeHttp2Handler } from '@smithy/node-http-handler';

type HandleArgs = Parameters<NodeHttp2Handler['handle']>;

/**
 * Streams per connection before the pool opens another: below the 100 that RFC 9113 recommends
 * servers allow at least, so no stream waits for a free slot on a busy connection.
 */
export const STREAMS_PER_CONNECTION = 64;

export class PooledHttp2Handler extends NodeHttp2Handler {
  /** `requestTimeout`: how long a stream may stay silent; an idle connection closes after as long. */
  constructor(options: { requestTimeout: number }) {
    super({
      requestTimeout: options.requestTimeout,
      // Not shorter: a session timeout ends every stream on the connection, silent ones included.
      // With the default 120 s, idle connections still close before NATs forget them (AWS NAT
      // gateways: 350 s); a connection lost anyway fails as `connection_lost`, which is retried.
      sessionTimeout: options.requestTimeout,
      disableConcurrentStreams: false,
      maxConcurrentStreams: STREAMS_PER_CONNECTION,
    });
  }

  // `isEventStream` is the SDK's internal signal for "new connection"; without it the pool is used.
  override handle(request: HandleArgs[0], options: HandleArgs[1] = {}) {
    const { isEventStream: _dropped, ...rest } = options;
    return super.handle(request, rest);
  }
}
