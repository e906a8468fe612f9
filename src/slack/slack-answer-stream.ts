/**
 * Shows one answer in a Slack thread while it is generated.
 *
 * Model Markdown goes through one renderer (escaping, tables) and one paginator (Slack's 12,000
 * character limit), then out through one of two paths that show the same text: Slack's native
 * stream (`chat.startStream`/`appendStream`/`stopStream`) or a posted message edited with
 * `chat.update`. Writes are coalesced to at most one per `flushIntervalMs` per message; a 429 waits
 * its `Retry-After` while text keeps accumulating, so nothing is lost; a refused or rate-limited
 * stream start falls back to post-and-edit at once; an expired stream continues in a new message.
 *
 * A write that fails after Slack may have applied it (the response was lost: a timeout, a dropped
 * connection) is reconciled, never blindly repeated, so no paragraph shows twice and no second
 * message is left behind: a lost `chat.postMessage` or `chat.startStream` is looked up in the
 * thread and adopted (see answer-messages.ts) before anything is created again; a native stream
 * whose `chat.appendStream` or `chat.stopStream` was lost is stopped as it is and then given its
 * whole text with `chat.update`, which replaces rather than appends (Slack's way to write to a
 * stream message after the fact), and the message continues as a posted-and-edited one.
 * `chat.update` itself is idempotent and is simply repeated.
 */
import { randomUUID } from 'node:crypto';
import type { AnswerOutput, CitedSource, ToolStep } from '../conversation/ports.ts';
import type { Logger } from '../logger.ts';
import { regenerateBlock, STOP_BLOCK } from './answer-controls.ts';
import {
  answerMetadata,
  type BotIdentity,
  compareTs,
  findLostMessage,
  type MessageMetadata,
} from './answer-messages.ts';
import { MarkdownRenderer } from './render/markdown-renderer.ts';
import { MessagePaginator, type PageOp, SLACK_MESSAGE_LIMIT_CHARS } from './render/message-paginator.ts';
import { escapeSlackControl } from './render/slack-safe-text.ts';
import {
  type UntrustedTextOptions,
  untrustedLine,
  untrustedLinkLabel,
  untrustedMarkdown,
  untrustedSourceLink,
} from './render/untrusted-text.ts';
import { type SlackApi, SlackCallError } from './slack-api.ts';
import { UNLIMITED_BUDGET, type WriteBudget } from './write-budget.ts';
import { AnswerWritePolicy } from './write-policy.ts';

export interface AnswerTarget {
  channelId: string;
  threadTs: string;
  /** The asking message: every message of this answer comes after it. */
  questionTs: string;
  /** Required by Slack for native streams outside DMs. */
  recipientUserId: string;
  recipientTeamId: string;
  isDm: boolean;
}

export interface SlackAnswerStreamOptions {
  slack: SlackApi;
  target: AnswerTarget;
  mode: 'native' | 'update';
  flushIntervalMs: number;
  logger: Logger;
  limitChars?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Adds thumbs up/down buttons under a finished answer (default true). */
  feedback?: boolean;
  /** Slack's per-workspace write budget shared with other answers and replicas. */
  budget?: WriteBudget;
  /** Called when Slack refuses native streaming outright, so later answers skip the attempt. */
  onStreamingRefused?: (code: string) => void;
  /** Called once when the answer cannot be written at all (the model call can stop). */
  onFatal?: (error: SlackCallError) => void;
  /**
   * Resolves true when this answer needs its own Stop button (Slack's native Stop is not shown for
   * it): its first message is then posted and edited with the button under it, removed at the end.
   */
  stopButton?: Promise<boolean>;
  /** The bot's own ids, to find a message again whose creating call lost its response. */
  self?: BotIdentity;
  /** Names this answer in its messages' metadata (a random id by default). */
  answerId?: string;
  /** The answer's renderer (trusted link hosts); a default one when absent. */
  renderer?: MarkdownRenderer;
  /** How text from outside (tool results, sources, file names) is rendered: the same link rule. */
  untrusted?: UntrustedTextOptions;
}

const STATUS_TITLES = {
  thinking: 'Thinking…',
  searching: 'Searching the knowledge base…',
  reading: 'Reading the shared files…',
} as const;
const ASSISTANT_STATUSES = {
  thinking: 'is thinking…',
  searching: 'is searching…',
  reading: 'is reading your files…',
};
/** Errors that say native streaming cannot be used here at all: post and edit instead. */
const STREAM_REFUSALS = new Set([
  'unknown_method',
  'not_allowed_token_type',
  'missing_scope',
  'channel_type_not_supported',
  'feature_not_enabled',
  'not_supported',
  'invalid_arguments',
  'missing_recipient_user_id',
  'missing_recipient_team_id',
  'method_deprecated',
]);
const TRANSIENT_RETRIES = 3;
const TRANSIENT_CODES = new Set(['request_failed', 'internal_error', 'fatal_error']);
/** Writes whose outcome is unknown that one answer reconciles before Slack counts as unreachable. */
const MAX_RECONCILIATIONS = 3;
/** A lost create is looked up after this pause, so that a write still in flight at Slack shows. */
const LOST_CREATE_READ_DELAY_MS = 500;
/** A deferred message tries this often to open sooner (a post and its final edit in the budget). */
const DEFERRED_RETRY_MS = 5_000;
/** The thread's "working" status clears after 2 minutes without a message: renewed before then. */
const WORKING_STATUS_RENEW_MS = 90_000;

type CreateMethod = 'chat.startStream' | 'chat.postMessage';
/**
 * How a write may be repeated after a transport failure: an `idempotent` one as it is; a `create`
 * or a `stream` write (append, stop) only after reconciling, since Slack may have applied it.
 */
type WriteKind = 'create' | 'stream' | 'idempotent';

interface Page {
  /**
   * How the message is written: a native stream, a post then edits, or (when the budget has no
   * final edit for it) deferred: one post once its text is complete.
   */
  mode: 'stream' | 'post' | 'deferred';
  ts: string | null;
  /** Text Slack shows for this message. */
  sent: string;
  /** Text this message must end up with. */
  target: string;
  /** No more text will be added (the paginator broke here, or the answer ended). */
  closed: boolean;
  /** Finalized in Slack: stream stopped, or last edit made. */
  done: boolean;
  lastWriteAtMs: number;
  /** Pages after the first that are opened only for continuation need no status placeholder. */
  statusShown: boolean;
  /** This message's number within the answer, in its metadata. */
  serial: number;
  /** The creating call in flight, and the text it shows once applied. */
  creating: { method: CreateMethod; text: string } | null;
  /** A creating call that failed after Slack may have applied it: look it up before creating again. */
  unconfirmed: { method: CreateMethod; text: string } | null;
  /** A stream write that failed after Slack may have applied it: stop the stream, then rewrite it whole. */
  unsettled: boolean;
  /** The method whose token the budget reserved for this message's final write. */
  finalReserved: 'chat.stopStream' | 'chat.update' | null;
  /** When a deferred message last tried to open sooner. */
  deferredCheckedAtMs: number;
}

type Status = keyof typeof STATUS_TITLES;

export class SlackAnswerStream implements AnswerOutput {
  readonly #options: SlackAnswerStreamOptions;
  readonly #renderer: MarkdownRenderer;
  readonly #paginator: MessagePaginator;
  readonly #pages: Page[] = [];
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #status: Status | null = null;
  #statusChanged = false;
  #finishing = false;
  #wake: (() => void) | null = null;
  /** Something changed since the loop last looked (text, status, the end). */
  #kicked = false;
  #loop: Promise<void> | null = null;
  #fatal: SlackCallError | null = null;
  /** Per method: no call before this time (a Retry-After or a budget wait). */
  readonly #holdUntilMs = new Map<string, number>();
  readonly #openedAtMs: number;
  /** When this answer last wrote to Slack; null before its first write. */
  #lastWriteAtMs: number | null = null;
  readonly #answerId: string;
  /** Names the finished answer for its Regenerate button (none for a failed or stopped one). */
  #regenerate: string | null = null;
  /** True once this answer shows its own Stop button (its first message is posted and edited). */
  #withStopButton = false;
  /** The answer's steps (tool calls), shown in its first message, by id in first-seen order. */
  readonly #steps = new Map<string, ToolStep>();
  /** Steps whose latest state the stream has not been sent yet (the object sent is compared after). */
  readonly #stepsUnsent = new Map<string, ToolStep>();
  /** With more than one step the stream shows them as a plan (a title over the steps), once. */
  #planSent = false;
  readonly #policy: AnswerWritePolicy;
  #nextSerial = 0;
  #reconciliations = 0;
  /** When the thread's "working" status was last set for a deferred message (null: never). */
  #workingShownAtMs: number | null = null;

  constructor(options: SlackAnswerStreamOptions) {
    this.#options = options;
    this.#renderer = options.renderer ?? new MarkdownRenderer();
    this.#paginator = new MessagePaginator({ limitChars: options.limitChars ?? SLACK_MESSAGE_LIMIT_CHARS });
    this.#now = options.now ?? Date.now;
    this.#openedAtMs = this.#now();
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#answerId = options.answerId ?? randomUUID();
    const { budget = UNLIMITED_BUDGET, target } = options;
    this.#policy = new AnswerWritePolicy({
      budget: budget.answer(target.recipientTeamId, target.channelId),
      flushIntervalMs: options.flushIntervalMs,
    });
    this.#pages.push(this.#newPage(options.mode === 'native' ? 'stream' : 'post'));
  }

  showStatus(status: Status): void {
    if (this.#status === status) return;
    this.#status = status;
    this.#statusChanged = true;
    if (this.#options.target.isDm) this.#setAssistantStatus(status);
    this.#kick();
  }

  write(markdown: string): void {
    if (this.#finishing || markdown.length === 0) return;
    const rendered = this.#renderer.push(markdown);
    if (rendered) this.#apply(this.#paginator.push(rendered));
    this.#kick();
  }

  showStep(step: ToolStep): void {
    if (this.#finishing) return;
    const shown = { ...step };
    this.#steps.set(step.id, shown);
    this.#stepsUnsent.set(step.id, shown);
    this.#kick();
  }

  async finish(appendix: { notes: string[]; sources: CitedSource[]; regenerate?: string }): Promise<void> {
    if (appendix.regenerate) this.#regenerate = appendix.regenerate;
    let tail = this.#renderer.finish();
    const extra = renderAppendix(appendix.notes, appendix.sources, this.#options.untrusted);
    if (extra) tail += `${this.#hasText(tail) ? '\n\n' : ''}${extra}`;
    if (!this.#hasText(tail)) tail += '_(The model returned an empty answer.)_';
    await this.#end(tail);
  }

  async fail(note: string): Promise<void> {
    const tail = this.#renderer.finish();
    const shown = this.#hasText(tail);
    await this.#end(`${tail}${shown ? '\n\n' : ''}${escapeSlackControl(note)}`);
  }

  /** Whether any answer text exists so far (including `extra`). */
  #hasText(extra: string): boolean {
    return extra.trim().length > 0 || this.#pages.some((page) => page.target.length > 0);
  }

  async #end(tail: string): Promise<void> {
    if (this.#finishing) return this.#loop ?? undefined;
    if (tail) this.#apply(this.#paginator.push(tail));
    this.#apply(this.#paginator.finish());
    this.#finishing = true;
    const last = this.#pages.at(-1);
    if (last) last.closed = true;
    this.#kick();
    await this.#loop;
    this.#policy.close();
    if (this.#fatal) throw this.#fatal;
  }

  #apply(ops: PageOp[]): void {
    for (const op of ops) {
      const page = this.#pages.at(-1);
      if (!page) continue;
      if (op.type === 'append') page.target += op.text;
      else {
        page.closed = true;
        this.#pages.push(this.#newPage(page.mode));
      }
    }
  }

  #newPage(mode: Page['mode']): Page {
    const first = this.#pages.length === 0;
    return {
      mode,
      ts: null,
      sent: '',
      target: '',
      closed: false,
      done: false,
      lastWriteAtMs: 0,
      statusShown: !first,
      serial: this.#nextSerial++,
      creating: null,
      unconfirmed: null,
      unsettled: false,
      finalReserved: null,
      deferredCheckedAtMs: this.#now(),
    };
  }

  #kick(): void {
    this.#kicked = true;
    if (this.#wake) {
      const wake = this.#wake;
      this.#wake = null;
      wake();
    }
    if (!this.#loop) {
      this.#loop = this.#run().finally(() => {
        this.#loop = null;
      });
    }
  }

  async #run(): Promise<void> {
    for (;;) {
      const page = this.#pages.find((p) => !p.done);
      if (!page || this.#fatal) return;
      this.#kicked = false;
      const waitMs = await this.#step(page);
      if (waitMs === null) continue; // progress made, look again at once
      if (this.#finishing && this.#pages.every((p) => p.done)) return;
      // New text or the end arrived while the step ran: look again rather than sleep past it
      // (a fair-share wait can be long).
      if (this.#kicked) continue;
      await this.#pause(waitMs);
    }
  }

  /** Sleeps up to `ms`, or until new text or the end arrives (Infinity: only until then). */
  #pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = Number.isFinite(ms) ? setTimeout(done, ms) : null;
      function done() {
        if (timer) clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** Makes one write for `page` if one is due. Returns null after a write, else how long to wait. */
  async #step(page: Page): Promise<number | null> {
    if (page.ts === null && page.unconfirmed) {
      const heldMs = this.#heldMs('conversations.replies');
      if (heldMs > 0) return heldMs;
      return this.#attempt(page, () => this.#adoptLost(page), 'idempotent');
    }
    if (page.ts !== null && page.unsettled) {
      const waitMs = await this.#finalToken(page, 'chat.stopStream');
      if (waitMs > 0) return this.#holdFor('chat.stopStream', waitMs);
      return this.#attempt(page, () => this.#settle(page), 'idempotent');
    }
    const pending = page.target.slice(page.sent.length);
    if (page.ts === null) {
      const wantsPlaceholder =
        ((!page.statusShown && this.#status !== null) || this.#stepsDue(page)) && page.mode !== 'deferred';
      if (!pending && !wantsPlaceholder) {
        if (!page.closed) return Number.POSITIVE_INFINITY;
        page.done = true; // nothing to show in this message
        return null;
      }
      if (page.mode === 'deferred') return this.#stepDeferred(page);
      if (!this.#finishing) {
        // A status-only message waits one flush interval: when the model answers quickly, the message
        // opens with its first text instead, saving a write. A continuation message waits its turn too.
        const sinceMs = this.#now() - (this.#lastWriteAtMs ?? this.#openedAtMs);
        const waitMs = this.#options.flushIntervalMs - sinceMs;
        if (waitMs > 0 && (!pending || this.#lastWriteAtMs !== null)) return waitMs;
      }
      return this.#open(page);
    }
    if (page.closed) {
      // A message closed mid-answer (the next one continues it) keeps the pace, and its last text
      // rides on the closing call; once the answer has ended, every final write goes at once.
      const dueInMs = page.lastWriteAtMs + this.#options.flushIntervalMs - this.#now();
      if (!this.#finishing && dueInMs > 0) return dueInMs;
      const needsWrite = page.mode === 'stream' || this.#postNeedsFinalEdit(page);
      const method = page.mode === 'stream' ? 'chat.stopStream' : 'chat.update';
      if (needsWrite) {
        const waitMs = await this.#finalToken(page, method);
        if (waitMs > 0) return this.#holdFor(method, waitMs);
      } else this.#dropReservation(page);
      return this.#attempt(
        page,
        () => this.#finalize(page),
        page.mode === 'stream' ? 'stream' : 'idempotent',
      );
    }
    const statusDue = this.#statusChanged && page.sent.length === 0;
    if (!pending && !statusDue && !this.#stepsDue(page)) return Number.POSITIVE_INFINITY;
    // An intermediate write: at the answer's fair share of the method, never sooner than the flush
    // interval. When the budget is tight it waits and the next one carries more text: answers in
    // flight write less often instead of queueing behind each other.
    const method = page.mode === 'stream' ? 'chat.appendStream' : 'chat.update';
    this.#policy.wants(method);
    const dueInMs = page.lastWriteAtMs + this.#policy.paceMs(method) - this.#now();
    if (dueInMs > 0 && page.sent.length > 0) return dueInMs;
    const heldMs = this.#heldMs(method);
    if (heldMs > 0) return heldMs;
    const budgetWaitMs = await this.#policy.intermediate(method);
    if (budgetWaitMs > 0) return Math.max(budgetWaitMs, this.#options.flushIntervalMs);
    return this.#attempt(page, () => this.#update(page), page.mode === 'stream' ? 'stream' : 'idempotent');
  }

  /** Opens a message: a stream when its start and stop are in the budget, else posted, else deferred. */
  async #open(page: Page): Promise<number | null> {
    if (
      page.serial === 0 &&
      !this.#withStopButton &&
      this.#options.stopButton &&
      (await this.#options.stopButton)
    ) {
      // A Stop button lives in the message's blocks, which only the post-and-edit path can change:
      // decided before the budget is asked, so no stream start is spent (and its stop reserved).
      this.#withStopButton = true;
      if (page.mode === 'stream') page.mode = 'post';
    }
    if (page.mode === 'stream') {
      // Stream starts are scarce (Tier 2): post and edit rather than wait for one.
      const opened = this.#heldMs('chat.startStream') === 0 && (await this.#policy.openStream());
      if (opened) {
        page.finalReserved = 'chat.stopStream';
        return this.#attempt(page, () => this.#create(page), 'create');
      }
      this.#options.logger.debug('no stream start in the budget; posting instead');
      this.#switchUnopened('stream', 'post');
      return null;
    }
    const heldMs = this.#heldMs('chat.postMessage');
    if (heldMs > 0) return heldMs;
    const opened = await this.#policy.openPost();
    if (opened !== 'deferred' && 'reserved' in opened) {
      page.finalReserved = opened.reserved ? 'chat.update' : null;
      return this.#attempt(page, () => this.#create(page), 'create');
    }
    if (opened === 'deferred') {
      // Not even its final edit is in the budget: one post of the whole message, once it is complete.
      this.#options.logger.debug('no final edit in the budget; posting the message once complete');
      this.#switchUnopened('post', 'deferred');
      return null;
    }
    return this.#holdFor('chat.postMessage', opened.waitMs);
  }

  /** A deferred message: posted whole once closed; until then, tried again now and then to open sooner. */
  async #stepDeferred(page: Page): Promise<number | null> {
    const nowMs = this.#now();
    if (!page.closed) {
      this.#showWorking(nowMs);
      const dueInMs = page.deferredCheckedAtMs + DEFERRED_RETRY_MS - nowMs;
      if (dueInMs > 0 || this.#heldMs('chat.postMessage') > 0) return Math.max(dueInMs, 1);
      page.deferredCheckedAtMs = nowMs;
      const opened = await this.#policy.openPost();
      if (opened === 'deferred' || !('reserved' in opened)) return DEFERRED_RETRY_MS;
      page.mode = 'post';
      page.finalReserved = opened.reserved ? 'chat.update' : null;
      return this.#attempt(page, () => this.#create(page), 'create');
    }
    const waitMs = await this.#finalToken(page, 'chat.postMessage');
    if (waitMs > 0) return this.#holdFor('chat.postMessage', waitMs);
    return this.#attempt(page, () => this.#create(page), 'create');
  }

  /** Unopened messages written as `from` are written as `to` instead. */
  #switchUnopened(from: Page['mode'], to: Page['mode']): void {
    for (const p of this.#pages) {
      if (p.ts !== null || p.mode !== from) continue;
      this.#dropReservation(p);
      p.mode = to;
    }
  }

  /** The thread's "working" status, while a deferred message shows nothing yet. Best effort. */
  #showWorking(nowMs: number): void {
    if (this.#workingShownAtMs !== null && nowMs - this.#workingShownAtMs < WORKING_STATUS_RENEW_MS) return;
    this.#workingShownAtMs = nowMs;
    this.#setAssistantStatus('writing');
  }

  /** 0 when a final write of `method` may go now (its reserved token spent, or one taken), else the wait. */
  async #finalToken(page: Page, method: string): Promise<number> {
    const heldMs = this.#heldMs(method);
    if (heldMs > 0) return heldMs;
    const reserved = page.finalReserved === method;
    if (!reserved) this.#dropReservation(page);
    page.finalReserved = null;
    return this.#policy.final(method, reserved);
  }

  /** Gives back the token reserved for this message's final write, which it will not make. */
  #dropReservation(page: Page): void {
    if (page.finalReserved) this.#policy.release(page.finalReserved);
    page.finalReserved = null;
  }

  /** No `method` call before `ms` from now; other methods (a final stopStream) are not held. */
  #holdFor(method: string, ms: number): number {
    this.#holdUntilMs.set(method, this.#now() + ms);
    return ms;
  }

  /** How long `method` is still held back for this answer (a Retry-After, a lookup's delay). */
  #heldMs(method: string): number {
    return Math.max(0, (this.#holdUntilMs.get(method) ?? 0) - this.#now());
  }

  /** Runs one Slack write with the failure policy; null when something changed. */
  async #attempt(page: Page, write: () => Promise<void>, kind: WriteKind): Promise<number | null> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await write();
        page.lastWriteAtMs = this.#now();
        this.#lastWriteAtMs = page.lastWriteAtMs;
        return null;
      } catch (error) {
        if (!(error instanceof SlackCallError)) throw error;
        if (error.code === 'rate_limited') {
          // Every answer (and replica) backs off together rather than each finding the limit alone.
          const { budget = UNLIMITED_BUDGET, target } = this.#options;
          void budget.penalize(
            target.recipientTeamId,
            error.method,
            target.channelId,
            error.retryAfterMs ?? 1000,
          );
        }
        const handled = this.#recover(page, error, kind);
        if (handled === 'reconcile' && this.#reconciliations < MAX_RECONCILIATIONS) {
          this.#reconciliations += 1;
          this.#options.logger.warn(
            { method: error.method, code: error.code },
            'a Slack write may have been applied although it failed; reconciling instead of repeating it',
          );
          if (kind === 'create') {
            page.unconfirmed = page.creating;
            page.creating = null;
            return this.#holdFor('conversations.replies', LOST_CREATE_READ_DELAY_MS);
          }
          page.unsettled = true;
          return null;
        }
        if (handled === 'retry_now') return null;
        if (handled === 'wait') return this.#holdFor(error.method, error.retryAfterMs ?? 1000);
        if (handled === 'transient' && attempt < TRANSIENT_RETRIES) {
          await this.#sleep(250 * 2 ** attempt);
          continue;
        }
        this.#options.logger.error({ err: error, code: error.code }, 'could not show the answer in Slack');
        this.#fatal = error;
        this.#policy.close();
        this.#options.onFatal?.(error);
        return null;
      }
    }
  }

  /** Decides what a failed write means; may restructure pages so that no text is lost. */
  #recover(
    page: Page,
    error: SlackCallError,
    kind: WriteKind,
  ): 'retry_now' | 'wait' | 'transient' | 'reconcile' | 'fatal' {
    const { code } = error;
    if (
      error.method === 'chat.startStream' &&
      page.ts === null &&
      (code === 'rate_limited' || STREAM_REFUSALS.has(code))
    ) {
      // Starting a stream is Tier 2; rather than wait a minute, post and edit.
      if (code !== 'rate_limited') this.#options.onStreamingRefused?.(code);
      this.#options.logger.info({ code }, 'native stream unavailable; posting and editing instead');
      this.#switchUnopened('stream', 'post');
      return 'retry_now';
    }
    if (code === 'rate_limited') return 'wait';
    if (TRANSIENT_CODES.has(code)) {
      if (!error.mayHaveApplied || kind === 'idempotent') return 'transient';
      return page.creating !== null || kind === 'stream' ? 'reconcile' : 'transient';
    }
    if (code === 'stopped_by_user' && page.ts !== null) {
      // Someone pressed Slack's Stop: Slack ended the stream itself. The answer's end (or the rest,
      // if the stop was refused) is written by editing the message, which still works.
      if (page.mode === 'stream' && error.method !== 'chat.stopStream') this.#dropReservation(page);
      page.finalReserved = null;
      page.mode = 'post';
      return 'retry_now';
    }
    if (page.ts !== null && page.mode === 'stream' && code === 'message_not_in_streaming_state') {
      // Slack ended the stream (about five minutes after it started, however busy, or when idle):
      // the message keeps what it shows, and chat.update on its ts, which replaces rather than
      // appends, writes the rest into it (Slack's way to finish such a message).
      this.#options.logger.info(
        { method: error.method },
        'stream ended by Slack; finishing it with chat.update',
      );
      if (error.method !== 'chat.stopStream') this.#dropReservation(page);
      page.finalReserved = null;
      page.mode = 'post';
      return 'retry_now';
    }
    if (
      page.ts !== null &&
      ['message_not_in_streaming_state', 'message_not_found', 'msg_too_long'].includes(code)
    ) {
      // The message can take no more: keep what it shows and continue in a new one.
      this.#continueInNewMessage(page);
      return 'retry_now';
    }
    return 'fatal';
  }

  #continueInNewMessage(page: Page): void {
    this.#dropReservation(page);
    const rest = page.target.slice(page.sent.length);
    page.target = page.sent;
    page.done = true;
    if (page.closed && rest.length === 0) return;
    const next = this.#newPage('post');
    next.target = reopenFence(page.sent) + rest;
    next.closed = page.closed;
    this.#pages.splice(this.#pages.indexOf(page) + 1, 0, next);
  }

  async #create(page: Page): Promise<void> {
    const { slack, target } = this.#options;
    const text = page.target;
    const status = page.statusShown ? null : this.#status;
    page.creating = { method: page.mode === 'stream' ? 'chat.startStream' : 'chat.postMessage', text };
    if (page.mode === 'stream') {
      const chunks: unknown[] = [];
      if (status && !text) chunks.push(statusChunk(status, 'in_progress'));
      const steps = this.#stepChunks(page);
      chunks.push(...steps.chunks);
      if (text) chunks.push({ type: 'markdown_text', text });
      // chat.startStream takes no metadata (nor unfurl options): a lost start is found by position.
      const result = await slack.call<{ ts?: string }>('chat.startStream', {
        channel: target.channelId,
        thread_ts: target.threadTs,
        ...(target.isDm
          ? {}
          : { recipient_user_id: target.recipientUserId, recipient_team_id: target.recipientTeamId }),
        ...(chunks.length ? { chunks } : {}),
        ...(this.#steps.size > 1 ? { task_display_mode: 'plan' } : {}),
      });
      page.ts = result.ts ?? null;
      this.#stepsSent(steps.sent);
    } else {
      // A deferred message is posted once, complete.
      const whole = page.mode === 'deferred';
      const shown = this.#withSteps(page, text);
      const body = whole
        ? messageBody(shown)
        : this.#inProgressBody(shown || placeholder(status ?? 'thinking'));
      if (whole && this.#isLastPage(page)) body.blocks.push(...this.#finalBlocks());
      const result = await slack.call<{ ts?: string }>(
        'chat.postMessage',
        postArgs(target, body, answerMetadata(this.#answerId, page.serial)),
      );
      page.ts = result.ts ?? null;
      if (whole && page.ts) {
        page.mode = 'post';
        page.done = true;
      }
    }
    page.creating = null;
    if (!page.ts) throw new SlackCallError('chat.postMessage', 'missing_ts', null);
    page.sent = text;
    page.statusShown = true;
    this.#statusChanged = false;
  }

  /** After a lost create: adopts the message Slack made, or leaves the page to be created again. */
  async #adoptLost(page: Page): Promise<void> {
    const lost = page.unconfirmed;
    if (!lost) return;
    const { slack, target, self = { botId: null, userId: null }, logger } = this.#options;
    const index = this.#pages.indexOf(page);
    const knownTs = new Set(this.#pages.flatMap((p) => (p.ts === null ? [] : [p.ts])));
    const afterTs = this.#pages
      .slice(0, index)
      .flatMap((p) => (p.ts === null ? [] : [p.ts]))
      .reduce((latest, ts) => (compareTs(ts, latest) > 0 ? ts : latest), target.questionTs);
    let ts: string | null = null;
    try {
      ts = await findLostMessage(slack, {
        channelId: target.channelId,
        threadTs: target.threadTs,
        afterTs,
        self,
        kind: lost.method === 'chat.startStream' ? 'stream' : 'post',
        answerId: this.#answerId,
        page: page.serial,
        knownTs,
      });
    } catch (error) {
      // A 429 is waited out and the thread read again; otherwise showing the text twice is
      // better than not at all.
      if (error instanceof SlackCallError && error.code === 'rate_limited') throw error;
      logger.warn({ err: error }, 'could not read the thread back; creating the message again');
    }
    page.unconfirmed = null;
    logger.info({ method: lost.method, adopted: ts !== null }, 'reconciled a write whose response was lost');
    if (ts === null) return; // Slack shows no such message: the next step creates it
    page.ts = ts;
    page.sent = lost.text;
    page.statusShown = true;
    this.#statusChanged = false;
  }

  /**
   * After a lost append or stop: stops the stream as it stands (already stopped is fine: the lost
   * write may have been the stop) and turns the page into a posted one, whose next `chat.update`
   * replaces whatever the stream showed with the page's whole text.
   */
  async #settle(page: Page): Promise<void> {
    const { slack, target } = this.#options;
    try {
      await slack.call('chat.stopStream', {
        channel: target.channelId,
        ts: page.ts,
        metadata: answerMetadata(this.#answerId, page.serial),
      });
    } catch (error) {
      if (!(error instanceof SlackCallError) || error.code !== 'message_not_in_streaming_state') throw error;
    }
    page.unsettled = false;
    page.mode = 'post';
    // What the stream shows is unknown (the lost text once, or not at all): nothing counts as sent.
    page.sent = '';
  }

  async #update(page: Page): Promise<void> {
    const { slack, target } = this.#options;
    const text = page.target;
    if (page.mode === 'stream') {
      const steps = this.#stepChunks(page);
      const chunks = [...steps.chunks, ...this.#pendingChunks(page, false)];
      if (chunks.length === 0) return;
      await slack.call('chat.appendStream', { channel: target.channelId, ts: page.ts, chunks });
      this.#stepsSent(steps.sent);
    } else {
      const steps = this.#stepChunks(page);
      await slack.call('chat.update', {
        channel: target.channelId,
        ts: page.ts,
        ...this.#inProgressBody(this.#withSteps(page, text) || placeholder(this.#status ?? 'thinking')),
      });
      this.#stepsSent(steps.sent);
    }
    this.#statusChanged = false;
    page.sent = text;
  }

  /**
   * A posted message that is still being written says so under its text (a paused partial answer
   * would otherwise look finished), with the Stop button when this answer has one; its final write
   * leaves both out.
   */
  #inProgressBody(markdown: string): { text: string; blocks: object[] } {
    const body = messageBody(markdown);
    if (!isPlaceholder(markdown)) body.blocks.push(IN_PROGRESS_BLOCK);
    if (this.#withStopButton && !this.#finishing) body.blocks.push(STOP_BLOCK);
    return body;
  }

  /** Under the answer's last message once it is complete: feedback, and Regenerate for a finished one. */
  #finalBlocks(): object[] {
    return this.#regenerate ? [FEEDBACK_BLOCK, regenerateBlock(this.#regenerate)] : [FEEDBACK_BLOCK];
  }

  async #finalize(page: Page): Promise<void> {
    const { slack, target } = this.#options;
    const text = page.target;
    if (page.mode === 'stream') {
      const steps = this.#stepChunks(page);
      const chunks = [...steps.chunks, ...this.#pendingChunks(page, true)];
      await slack.call('chat.stopStream', {
        channel: target.channelId,
        ts: page.ts,
        // Marked once finished, so that a later answer's lost stream start is never taken for it.
        metadata: answerMetadata(this.#answerId, page.serial),
        ...(chunks.length ? { chunks } : {}),
        ...(this.#isLastPage(page) ? { blocks: this.#finalBlocks() } : {}),
      });
      this.#stepsSent(steps.sent);
    } else if (this.#postNeedsFinalEdit(page)) {
      const body = messageBody(this.#withSteps(page, text));
      if (this.#isLastPage(page)) body.blocks.push(...this.#finalBlocks());
      await slack.call('chat.update', { channel: target.channelId, ts: page.ts, ...body });
    }
    page.sent = text;
    page.done = true;
  }

  /**
   * Chunks that bring a stream message up to its target: the status task's new state (shown until
   * the first text, complete once text arrives or the message closes), then the new text.
   */
  #pendingChunks(page: Page, closing: boolean): object[] {
    const delta = page.target.slice(page.sent.length);
    const chunks: object[] = [];
    if (this.#status && page.sent.length === 0 && (closing || delta || this.#statusChanged)) {
      chunks.push(statusChunk(this.#status, closing || delta ? 'complete' : 'in_progress'));
    }
    if (delta) chunks.push({ type: 'markdown_text', text: delta });
    return chunks;
  }

  /** The steps belong to the answer's first message; true when it has step changes to send. */
  #stepsDue(page: Page): boolean {
    return page.serial === 0 && this.#stepsUnsent.size > 0;
  }

  /** task_update chunks for the steps that changed since the stream last heard of them. */
  #stepChunks(page: Page): { chunks: object[]; sent: ToolStep[] } {
    if (page.serial !== 0) return { chunks: [], sent: [] };
    const sent = [...this.#stepsUnsent.values()];
    const chunks = sent.map((step) => stepChunk(step, this.#options.untrusted));
    if (sent.length > 0 && this.#steps.size > 1 && !this.#planSent) {
      // Several steps read as a plan: Slack groups them under a title.
      chunks.unshift({ type: 'plan_update', title: 'Working on your question' });
      this.#planSent = true;
    }
    return { chunks, sent };
  }

  /** Forgets the steps a write carried, unless they changed again while it was in flight. */
  #stepsSent(sent: ToolStep[]): void {
    for (const step of sent) if (this.#stepsUnsent.get(step.id) === step) this.#stepsUnsent.delete(step.id);
  }

  /** On the post-and-edit path the steps are lines above the first message's text. */
  #withSteps(page: Page, markdown: string): string {
    if (page.serial !== 0 || this.#steps.size === 0) return markdown;
    const lines = [...this.#steps.values()].map((step) => stepLine(step, this.#options.untrusted)).join('\n');
    return markdown ? `${lines}\n\n${markdown}` : lines;
  }

  #postNeedsFinalEdit(page: Page): boolean {
    return page.target !== page.sent || page.sent.length === 0 || this.#isLastPage(page);
  }

  /** The answer's last message carries the feedback buttons, once the answer is complete. */
  #isLastPage(page: Page): boolean {
    return this.#finishing && this.#pages.at(-1) === page && this.#options.feedback !== false;
  }

  /** `writing`: a deferred answer, posted whole once complete, is on its way. */
  #setAssistantStatus(status: Status | 'writing'): void {
    const { slack, target } = this.#options;
    // Only the Messages tab / assistant threads show it; elsewhere Slack refuses and that is fine.
    // `loading_messages` (at most 10) rotate under the status while nothing is written yet.
    slack
      .call('assistant.threads.setStatus', {
        channel_id: target.channelId,
        thread_ts: target.threadTs,
        status: status === 'writing' ? 'is writing an answer…' : ASSISTANT_STATUSES[status],
        ...(status === 'writing' ? {} : { loading_messages: [STATUS_TITLES[status]] }),
      })
      .catch(() => undefined);
  }
}

/** Slack's feedback buttons; clicks arrive as block_actions with action_id `answer_feedback`. */
export const FEEDBACK_ACTION_ID = 'answer_feedback';
const FEEDBACK_BLOCK = {
  type: 'context_actions',
  elements: [
    {
      type: 'feedback_buttons',
      action_id: FEEDBACK_ACTION_ID,
      positive_button: { text: { type: 'plain_text', text: 'Good answer' }, value: 'positive' },
      negative_button: { text: { type: 'plain_text', text: 'Bad answer' }, value: 'negative' },
    },
  ],
};

const STEP_MARKS: Record<ToolStep['status'], string> = {
  pending: '◻️',
  in_progress: '⏳',
  complete: '✅',
  error: '⚠️',
};

/** A step as a native stream's task card. Titles, details and sources come from tools: untrusted text. */
function stepChunk(step: ToolStep, untrusted: UntrustedTextOptions = {}): object {
  return {
    type: 'task_update',
    id: step.id,
    title: untrustedLine(step.title, STEP_TITLE_CHARS, untrusted),
    status: step.status,
    ...(step.details ? { details: untrustedLine(step.details, STEP_DETAILS_CHARS, untrusted) } : {}),
    ...(step.sources?.length
      ? {
          sources: step.sources.map((source) => ({
            type: 'url',
            url: source.url,
            text: untrustedLinkLabel(source.title, source.url, untrusted),
          })),
        }
      : {}),
  };
}

/** A step as a line of text, for messages that are posted and edited (the same untrusted-text path). */
function stepLine(step: ToolStep, untrusted: UntrustedTextOptions = {}): string {
  const details = step.details ? ` — ${untrustedLine(step.details, STEP_DETAILS_CHARS, untrusted)}` : '';
  return `${STEP_MARKS[step.status]} ${untrustedLine(step.title, STEP_TITLE_CHARS, untrusted)}${details}`;
}

const STEP_TITLE_CHARS = 150;
const STEP_DETAILS_CHARS = 300;

function statusChunk(status: Status, state: 'in_progress' | 'complete') {
  return { type: 'task_update', id: 'status', title: STATUS_TITLES[status], status: state };
}

function placeholder(status: Status): string {
  return `_${STATUS_TITLES[status]}_`;
}

function isPlaceholder(markdown: string): boolean {
  return Object.values(STATUS_TITLES).some((title) => markdown === `_${title}_`);
}

/** A message body for the post-and-edit path: the same Markdown, in a markdown block. */
function messageBody(markdown: string): { text: string; blocks: object[] } {
  const preview = markdown.length > 150 ? `${markdown.slice(0, 150)}…` : markdown;
  return { text: preview, blocks: [{ type: 'markdown', text: markdown }] };
}

/** The mark under a posted message that is still being written; its block id names it for tests and tools. */
export const IN_PROGRESS_BLOCK_ID = 'answer_in_progress';
const IN_PROGRESS_BLOCK = {
  type: 'context',
  block_id: IN_PROGRESS_BLOCK_ID,
  elements: [{ type: 'mrkdwn', text: '_Still writing…_' }],
};

/**
 * A posted answer message: marked with its answer and page (to find it again after a lost
 * response), with unfurling off so that no link in model text pulls a preview into the thread.
 */
function postArgs(
  target: AnswerTarget,
  body: { text: string; blocks: object[] },
  metadata: MessageMetadata,
): Record<string, unknown> {
  return {
    channel: target.channelId,
    thread_ts: target.threadTs,
    ...body,
    metadata,
    unfurl_links: false,
    unfurl_media: false,
  };
}

/** When a message ends inside a fenced code block, the next one must reopen it. */
function reopenFence(text: string): string {
  let open: string | null = null;
  for (const line of text.split('\n')) {
    const match = /^\s*(`{3,}|~{3,})(.*)$/.exec(line);
    if (!match) continue;
    if (open === null) open = line.trim();
    else if (match[1] && open.startsWith(match[1]) && match[2]?.trim() === '') open = null;
  }
  return open === null ? '' : `${open}\n`;
}

/**
 * Notes and the Sources list under an answer, as Markdown. Source titles (Knowledge Base metadata,
 * MCP resource names) and notes (they name shared files) are untrusted text.
 */
export function renderAppendix(
  notes: string[],
  sources: CitedSource[],
  untrusted: UntrustedTextOptions = {},
): string {
  const parts: string[] = [];
  if (sources.length > 0) {
    const lines = sources.map(
      (source, index) => `${index + 1}. ${untrustedSourceLink(source.title, source.url, untrusted)}`,
    );
    parts.push(`**Sources**\n${lines.join('\n')}`);
  }
  parts.push(...notes.map((note) => untrustedMarkdown(note, untrusted)));
  return parts.join('\n\n');
}
