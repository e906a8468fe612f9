/**
 * Watches the Slack stand-in the way a person (and Slack's rate limiter) would: every Web API call
 * the app makes, attributed to its thread, and every change to the app's messages with the time it
 * became visible. Times are epoch milliseconds from `performance.timeOrigin + performance.now()`,
 * the clock the Bedrock stand-in also stamps its tokens with.
 */
import {
  displayText,
  type FakeMessage,
  type FakeSlack,
  type RecordedCall,
} from '../test/stand-ins/fake-slack.ts';

export const WRITE_METHODS = new Set([
  'chat.postMessage',
  'chat.update',
  'chat.startStream',
  'chat.appendStream',
  'chat.stopStream',
  'chat.delete',
  'chat.postEphemeral',
]);

export interface MessageTrack {
  ts: string;
  threadTs: string;
  createdAtMs: number;
  /** When the message first showed answer text (not empty, not a "_Thinking…_" placeholder). */
  firstTextAtMs: number | null;
  firstText: string | null;
  lastChangeAtMs: number;
  text: string;
  /** A native stream still open. */
  open: boolean;
  /** Started as a native stream (chat.startStream), whatever it is now. */
  streamed: boolean;
  changes: number;
}

export interface ThreadTrack {
  threadTs: string;
  /** Write calls, including the ones answered 429. */
  writes: number;
  /** Write calls answered 429. */
  rateLimited: number;
  /** Write calls answered with another error. */
  failed: number;
  byMethod: Record<string, number>;
  messages: MessageTrack[];
}

const PLACEHOLDER = /^_[^_\n]*…_$/;

export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export class SlackObserver {
  readonly threads = new Map<string, ThreadTrack>();
  /** The ts of each question's message, by the question id in its text. */
  readonly questionTs = new Map<string, { ts: string; threadTs: string }>();
  /** Every call by method: total, 429s. */
  readonly calls = new Map<string, { total: number; rateLimited: number }>();
  readonly #messages = new Map<string, MessageTrack>();
  readonly #slack: FakeSlack;
  readonly #onMessage = (message: FakeMessage) => this.#message(message);
  readonly #onCall = (call: RecordedCall) => this.#call(call);

  constructor(slack: FakeSlack) {
    this.#slack = slack;
    slack.events.on('message', this.#onMessage);
    slack.events.on('call', this.#onCall);
  }

  detach(): void {
    this.#slack.events.off('message', this.#onMessage);
    this.#slack.events.off('call', this.#onCall);
  }

  /** Forgets every count (after a warm-up), keeping the message tracks so later writes attribute. */
  resetCounts(): void {
    this.calls.clear();
    for (const thread of this.threads.values()) {
      thread.writes = 0;
      thread.rateLimited = 0;
      thread.failed = 0;
      thread.byMethod = {};
    }
  }

  thread(threadTs: string): ThreadTrack {
    let track = this.threads.get(threadTs);
    if (!track) {
      track = { threadTs, writes: 0, rateLimited: 0, failed: 0, byMethod: {}, messages: [] };
      this.threads.set(threadTs, track);
    }
    return track;
  }

  #message(message: FakeMessage): void {
    const atMs = nowMs();
    if (message.ephemeral) return;
    if (message.botId !== this.#slack.botId) {
      const id = /Q\[([A-Za-z0-9_-]+)\]/.exec(message.text)?.[1];
      if (id && !this.questionTs.has(id)) {
        this.questionTs.set(id, { ts: message.ts, threadTs: message.threadTs ?? message.ts });
      }
      return;
    }
    if (!message.threadTs) return;
    let track = this.#messages.get(message.ts);
    if (!track) {
      track = {
        ts: message.ts,
        threadTs: message.threadTs,
        createdAtMs: atMs,
        firstTextAtMs: null,
        firstText: null,
        lastChangeAtMs: atMs,
        text: '',
        open: false,
        streamed: false,
        changes: 0,
      };
      this.#messages.set(message.ts, track);
      this.thread(message.threadTs).messages.push(track);
    }
    const text = message.deleted ? '' : displayText(message);
    track.text = text;
    track.open = message.streamState === 'open';
    track.streamed ||= message.streamState !== null;
    track.lastChangeAtMs = atMs;
    track.changes += 1;
    if (track.firstTextAtMs === null && text.trim() !== '' && !PLACEHOLDER.test(text.trim())) {
      track.firstTextAtMs = atMs;
      track.firstText = text;
    }
  }

  #call(call: RecordedCall): void {
    const stats = this.calls.get(call.method) ?? { total: 0, rateLimited: 0 };
    stats.total += 1;
    if (call.status === 429) stats.rateLimited += 1;
    this.calls.set(call.method, stats);
    if (!WRITE_METHODS.has(call.method)) return;
    const threadTs =
      (typeof call.args.thread_ts === 'string' ? call.args.thread_ts : undefined) ??
      (typeof call.args.ts === 'string' ? this.#messages.get(call.args.ts)?.threadTs : undefined);
    if (!threadTs) return;
    const thread = this.thread(threadTs);
    thread.writes += 1;
    thread.byMethod[call.method] = (thread.byMethod[call.method] ?? 0) + 1;
    if (call.status === 429) thread.rateLimited += 1;
    else if (!call.ok) thread.failed += 1;
  }
}
