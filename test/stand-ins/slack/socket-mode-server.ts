/**
 * Slack's Socket Mode side: accepts websocket connections on tickets issued by
 * `apps.connections.open`, greets with `hello`, pings like Slack does, delivers envelopes and
 * resolves them when the client acks with `{envelope_id}`. FakeSlack routes `/socket` upgrades here.
 *
 * @example
 * const sockets = new SocketModeServer({ appId: 'A0001', ackTimeoutMs: 5000, pingIntervalMs: 10_000 });
 * server.on('upgrade', (req, socket, head) => sockets.handleUpgrade(req, socket, head));
 * const url = `ws://127.0.0.1:${port}/socket?ticket=${sockets.issueTicket()}`;
 * const { ackPayload } = await sockets.deliver('events_api', envelope, { retryAttempt: 0 });
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';

export type EnvelopeType = 'events_api' | 'slash_commands' | 'interactive';

export interface SocketModeServerOptions {
  appId: string;
  /** How long a delivered envelope may wait for its ack before `deliver` rejects. */
  ackTimeoutMs: number;
  /** Slack pings every few seconds; @slack/socket-mode disconnects when server pings stop. */
  pingIntervalMs: number;
}

export interface DeliverOptions {
  retryAttempt?: number;
  retryReason?: string;
  acceptsResponsePayload?: boolean;
}

export interface SocketDelivery {
  envelopeId: string;
  /** The `payload` the client sent with its ack ({} when none). */
  ackPayload: unknown;
  /** When the envelope was sent (epoch ms). */
  sentAtMs: number;
  elapsedMs: number;
}

interface PendingAck {
  startedMs: number;
  resolve: (delivery: SocketDelivery) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export class SocketModeServer {
  readonly #options: SocketModeServerOptions;
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #tickets = new Set<string>();
  readonly #sockets = new Set<WebSocket>();
  readonly #pending = new Map<string, PendingAck>();
  #nextSocket = 0;

  constructor(options: SocketModeServerOptions) {
    this.#options = options;
  }

  /** A single-use ticket for the websocket URL `apps.connections.open` returns. */
  issueTicket(): string {
    const ticket = randomUUID();
    this.#tickets.add(ticket);
    return ticket;
  }

  get connectionCount(): number {
    return [...this.#sockets].filter((socket) => socket.readyState === socket.OPEN).length;
  }

  /** Takes over an HTTP upgrade on /socket with a valid ticket; refuses any other with 401. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const ticket = new URL(request.url ?? '/', 'http://localhost').searchParams.get('ticket') ?? '';
    if (!this.#tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws));
  }

  #accept(ws: WebSocket): void {
    this.#sockets.add(ws);
    const pinger = setInterval(() => ws.ping(), this.#options.pingIntervalMs);
    pinger.unref();
    ws.on('message', (data) => this.#onMessage(String(data)));
    ws.on('close', () => {
      clearInterval(pinger);
      this.#sockets.delete(ws);
    });
    ws.on('error', () => ws.terminate());
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: this.#sockets.size,
        debug_info: { host: 'fake-slack', build_number: 1, approximate_connection_time: 18_060 },
        connection_info: { app_id: this.#options.appId },
      }),
    );
  }

  #onMessage(text: string): void {
    let message: { envelope_id?: unknown; payload?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    const envelopeId = typeof message.envelope_id === 'string' ? message.envelope_id : undefined;
    const pending = envelopeId === undefined ? undefined : this.#pending.get(envelopeId);
    if (!envelopeId || !pending) return;
    this.#pending.delete(envelopeId);
    clearTimeout(pending.timer);
    pending.resolve({
      envelopeId,
      ackPayload: message.payload ?? {},
      sentAtMs: performance.timeOrigin + pending.startedMs,
      elapsedMs: performance.now() - pending.startedMs,
    });
  }

  /** Sends one envelope to a connected client (round-robin) and waits for its ack. */
  deliver(type: EnvelopeType, payload: unknown, options: DeliverOptions = {}): Promise<SocketDelivery> {
    const open = [...this.#sockets].filter((socket) => socket.readyState === socket.OPEN);
    const socket = open[this.#nextSocket++ % Math.max(open.length, 1)];
    if (!socket) return Promise.reject(new Error('FakeSlack: no Socket Mode client is connected'));
    const envelopeId = randomUUID();
    return new Promise<SocketDelivery>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(envelopeId);
        reject(new Error(`FakeSlack: no ack for ${type} envelope within ${this.#options.ackTimeoutMs}ms`));
      }, this.#options.ackTimeoutMs);
      this.#pending.set(envelopeId, { startedMs: performance.now(), resolve, reject, timer });
      socket.send(
        JSON.stringify({
          envelope_id: envelopeId,
          type,
          payload,
          accepts_response_payload: options.acceptsResponsePayload ?? type !== 'events_api',
          retry_attempt: options.retryAttempt ?? 0,
          retry_reason: options.retryReason ?? '',
        }),
      );
    });
  }

  /** Asks every client to reconnect, as Slack does before recycling a connection. */
  disconnectAll(reason = 'refresh_requested'): void {
    for (const socket of this.#sockets) {
      socket.send(JSON.stringify({ type: 'disconnect', reason, debug_info: { host: 'fake-slack' } }));
      socket.close(1000);
    }
  }

  async close(): Promise<void> {
    for (const [envelopeId, pending] of this.#pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error(`FakeSlack stopped before envelope ${envelopeId} was acked`));
    }
    this.#pending.clear();
    for (const socket of this.#sockets) socket.terminate();
    this.#sockets.clear();
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
