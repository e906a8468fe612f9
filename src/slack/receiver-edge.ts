/**
 * The bot's edge in front of Bolt's receivers, for what reaches `/slack/events` (or the socket)
 * that Bolt itself would answer with a 500 or a stuck connection:
 * - an Events API envelope whose `event` is null, not an object, or has no `type` is acknowledged
 *   and ignored (Bolt 5 reads it with `'channel' in event`, throws, and answers 500, so Slack
 *   retries a payload that can never be read; over Socket Mode it is never acknowledged, and a
 *   null `event` makes the Socket Mode client itself throw, as an unhandled rejection);
 * - a body over the size limit is refused with a 413 that closes the connection cleanly (Bolt's
 *   413 leaves the unread body on a kept-alive connection, and the next delivery on it stalls).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { App, HTTPReceiver, Receiver, ReceiverEvent, SocketModeReceiver } from '@slack/bolt';
import type { Logger } from '../logger.ts';

/** Why an Events API envelope cannot be an event; null when it can (or is not an envelope). */
export function malformedEvent(body: unknown): string | null {
  if (typeof body !== 'object' || body === null || !('event' in body)) return null;
  const { event } = body as { event: unknown };
  if (typeof event !== 'object' || event === null || Array.isArray(event))
    return event === null ? 'event is null' : `event is ${Array.isArray(event) ? 'an array' : typeof event}`;
  if (typeof (event as { type?: unknown }).type !== 'string') return 'event has no type';
  return null;
}

/**
 * `receiver`, with every delivery checked before Bolt reads it. A malformed event is acknowledged
 * (2xx, so Slack does not retry it) and reported to `onIgnored`; so is an event that Bolt fails to
 * read before acknowledging it (a field of an unexpected type, such as a numeric `channel`).
 */
export function ignoringMalformedEvents(
  receiver: Receiver,
  logger: Logger,
  onIgnored: (problem: string) => void,
): Receiver {
  return {
    init(app: App) {
      // Receivers call only `processEvent` on the app; everything else stays Bolt's own.
      const checked = Object.create(app) as App;
      checked.processEvent = async (event: ReceiverEvent) => {
        const problem = malformedEvent(event.body);
        if (problem) return ignore(event, problem);
        let acknowledged = false;
        const ack: ReceiverEvent['ack'] = (response) => {
          acknowledged = true;
          return event.ack(response);
        };
        try {
          await app.processEvent({ ...event, ack });
        } catch (error) {
          // Only events are settled here: a command or action that fails is Bolt's to answer.
          if (acknowledged || !('event' in event.body)) throw error;
          logger.debug({ err: error }, 'Bolt could not read a Slack event');
          await ignore(event, 'event unreadable');
        }
      };
      receiver.init(checked);
    },
    start: (...args: unknown[]) => receiver.start(...args),
    stop: (...args: unknown[]) => receiver.stop(...args),
  };

  async function ignore(event: ReceiverEvent, problem: string): Promise<void> {
    const body = event.body as { event_id?: unknown; type?: unknown };
    logger.debug(
      { problem, eventId: typeof body.event_id === 'string' ? body.event_id : undefined },
      'ignored a malformed Slack event',
    );
    onIgnored(problem);
    await event.ack();
  }
}

/** How long a refused body may keep arriving before its connection is cut. */
const DRAIN_TIMEOUT_MS = 5_000;

/**
 * Refuses bodies whose declared length is over `limitBytes` before Bolt reads them: the body is
 * read away (and dropped), then a 413 with `Connection: close` ends the connection. Closing with
 * the body still unread would reset the connection under the client, possibly before it read the
 * 413; answering early and keeping the connection would leave the body where the next request
 * should be. Any other response sent before its request body was read drains that body too.
 */
export function refusingOversizedBodies(receiver: HTTPReceiver, limitBytes: number, logger: Logger): void {
  const bolt = receiver.requestListener;
  receiver.requestListener = (request: IncomingMessage, response: ServerResponse) => {
    const declared = Number(request.headers['content-length']);
    if (declared > limitBytes) {
      logger.warn({ contentLength: declared, limitBytes, path: request.url }, 'refused an oversized request');
      drain(request, () => {
        response.writeHead(413, { connection: 'close', 'content-length': '0' });
        response.end();
      });
      return;
    }
    response.once('finish', () => {
      if (!request.complete) drain(request, () => undefined);
    });
    bolt(request, response);
  };
}

/** Reads `request` to its end and then calls `done`; a body still arriving after the timeout is cut off. */
function drain(request: IncomingMessage, done: () => void): void {
  const cut = setTimeout(() => request.socket.destroy(), DRAIN_TIMEOUT_MS);
  cut.unref();
  request.once('end', () => {
    clearTimeout(cut);
    done();
  });
  request.once('close', () => clearTimeout(cut));
  request.resume();
}

/**
 * Socket Mode: the client reads `payload.event.type` of every events_api envelope before Bolt sees
 * it, so an envelope whose event is null throws inside its message listener, where nothing catches
 * it (an unhandled rejection). Such a failure is logged and the envelope dropped; the client's ack
 * is out of reach there, so Slack re-sends it a few times, each dropped the same way.
 */
export function survivingUnreadableEnvelopes(
  client: SocketModeReceiver['client'],
  logger: Logger,
  onIgnored: (problem: string) => void,
): void {
  for (const listener of client.listeners('ws_message')) {
    const read = listener as (data: unknown, isBinary: boolean) => unknown;
    client.removeListener('ws_message', read);
    client.on('ws_message', (data: unknown, isBinary: boolean) => {
      Promise.resolve(read.call(client, data, isBinary)).catch((error: unknown) => {
        logger.debug({ err: error }, 'ignored a Socket Mode envelope the client could not read');
        onIgnored('envelope unreadable');
      });
    });
  }
}
