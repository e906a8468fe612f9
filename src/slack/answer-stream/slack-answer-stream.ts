/**
 * Shows one answer in a Slack thread while it is generated: the pages' state machine (see
 * README.md in this folder for the whole path, and which file holds what).
 */
import { randomUUID } from 'node:crypto';
import type { AnswerOutput, CitedSource, ToolStep } from '../../conversation/ports.ts';
import { MarkdownRenderer } from '../render/markdown-renderer.ts';
import { MessagePaginator, type PageOp, SLACK_MESSAGE_LIMIT_CHARS } from '../render/message-paginator.ts';
import { escapeSlackControl } from '../render/slack-safe-text.ts';
import { SlackCallError } from '../slack-api.ts';
import { UNLIMITED_BUDGET } from '../write-budget/index.ts';
import { AnswerWritePolicy } from '../write-policy.ts';
import { renderAppendix } from './appendix.ts';
import { type AnswerEnd, MessageWriter } from './message-writer.ts';
import type { SlackAnswerStreamOptions } from './options.ts';
import { newPage, type Page, reopenFence } from './page.ts';
import {
  adoptLostCreate,
  LOST_CREATE_READ_DELAY_MS,
  MAX_RECONCILIATIONS,
  type ReconcileContext,
  settleStream,
} from './reconciliation.ts';
import type { Status } from './stream-chunks.ts';
import {
  type FailureAction,
  TRANSIENT_RETRIES,
  type WriteKind,
  writeFailureAction,
} from './write-failures.ts';
import { WriteHolds } from './write-holds.ts';

/** A deferred message tries this often to open sooner (a post and its final edit in the budget). */
const DEFERRED_RETRY_MS = 5_000;
/** The thread's "working" status clears after 2 minutes without a message: renewed before then. */
const WORKING_STATUS_RENEW_MS = 90_000;

export class SlackAnswerStream implements AnswerOutput {
  readonly #options: SlackAnswerStreamOptions;
  readonly #renderer: MarkdownRenderer;
  readonly #paginator: MessagePaginator;
  readonly #pages: Page[] = [];
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  #finishing = false;
  #wake: (() => void) | null = null;
  /** Something changed since the loop last looked (text, status, the end). */
  #kicked = false;
  #loop: Promise<void> | null = null;
  #fatal: SlackCallError | null = null;
  readonly #openedAtMs: number;
  /** When this answer last wrote to Slack; null before its first write. */
  #lastWriteAtMs: number | null = null;
  readonly #answerId: string;
  readonly #policy: AnswerWritePolicy;
  readonly #holds: WriteHolds;
  /** Makes the Slack calls, and holds what the messages show besides text (status, steps, buttons). */
  readonly #writer: MessageWriter;
  /** What the reconciling calls need (reconciliation.ts). */
  readonly #reconcile: ReconcileContext;
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
    const {
      slack,
      target,
      self = { botId: null, userId: null },
      logger,
      budget = UNLIMITED_BUDGET,
    } = options;
    this.#writer = new MessageWriter({
      slack,
      target,
      answerId: this.#answerId,
      ...(options.untrusted ? { untrusted: options.untrusted } : {}),
    });
    this.#reconcile = { slack, target, self, logger, answerId: this.#answerId };
    this.#policy = new AnswerWritePolicy({
      budget: budget.answer(target.recipientTeamId, target.channelId),
      flushIntervalMs: options.flushIntervalMs,
    });
    this.#holds = new WriteHolds(this.#policy, this.#now);
    this.#pages.push(this.#newPage(options.mode === 'native' ? 'stream' : 'post'));
  }

  showStatus(status: Status): void {
    if (this.#writer.status === status) return;
    this.#writer.status = status;
    this.#writer.statusChanged = true;
    if (this.#options.target.isDm) this.#writer.setAssistantStatus(status);
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
    this.#writer.steps.show(step);
    this.#kick();
  }

  async finish(appendix: { notes: string[]; sources: CitedSource[]; regenerate?: string }): Promise<void> {
    if (appendix.regenerate) this.#writer.regenerate = appendix.regenerate;
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
    return newPage(mode, this.#nextSerial++, this.#now());
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

  // ---- the state machine: which write a page needs next, and when ----

  /** Makes one write for `page` if one is due. Returns null after a write, else how long to wait. */
  async #step(page: Page): Promise<number | null> {
    if (page.ts === null && page.unconfirmed) {
      const heldMs = this.#holds.heldMs('conversations.replies');
      if (heldMs > 0) return heldMs;
      return this.#attempt(page, () => this.#adoptLost(page), 'idempotent');
    }
    if (page.ts !== null && page.unsettled) {
      const waitMs = await this.#holds.finalToken(page, 'chat.stopStream');
      if (waitMs > 0) return this.#holds.holdFor('chat.stopStream', waitMs);
      return this.#attempt(page, () => settleStream(this.#reconcile, page), 'idempotent');
    }
    const pending = page.target.slice(page.sent.length);
    if (page.ts === null) return this.#stepUnopened(page, pending);
    if (page.closed) return this.#stepClosed(page);
    return this.#stepIntermediate(page, pending);
  }

  /** A message not yet in Slack: opened once it has something to show, and its turn has come. */
  async #stepUnopened(page: Page, pending: string): Promise<number | null> {
    const wantsPlaceholder =
      ((!page.statusShown && this.#writer.status !== null) || this.#writer.steps.due(page)) &&
      page.mode !== 'deferred';
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

  /** A message that takes no more text: its final write. */
  async #stepClosed(page: Page): Promise<number | null> {
    // A message closed mid-answer (the next one continues it) keeps the pace, and its last text
    // rides on the closing call; once the answer has ended, every final write goes at once.
    const dueInMs = page.lastWriteAtMs + this.#options.flushIntervalMs - this.#now();
    if (!this.#finishing && dueInMs > 0) return dueInMs;
    const needsWrite = page.mode === 'stream' || this.#postNeedsFinalEdit(page);
    const method = page.mode === 'stream' ? 'chat.stopStream' : 'chat.update';
    if (needsWrite) {
      const waitMs = await this.#holds.finalToken(page, method);
      if (waitMs > 0) return this.#holds.holdFor(method, waitMs);
    } else this.#holds.dropReservation(page);
    return this.#attempt(
      page,
      () => this.#writer.finalize(page, this.#endOf(page), this.#postNeedsFinalEdit(page)),
      page.mode === 'stream' ? 'stream' : 'idempotent',
    );
  }

  /** An open message with new text, status or steps: an append or an edit, when its share allows. */
  async #stepIntermediate(page: Page, pending: string): Promise<number | null> {
    const statusDue = this.#writer.statusChanged && page.sent.length === 0;
    if (!pending && !statusDue && !this.#writer.steps.due(page)) return Number.POSITIVE_INFINITY;
    // An intermediate write: at the answer's fair share of the method, never sooner than the flush
    // interval. When the budget is tight it waits and the next one carries more text: answers in
    // flight write less often instead of queueing behind each other.
    const method = page.mode === 'stream' ? 'chat.appendStream' : 'chat.update';
    this.#policy.wants(method);
    const dueInMs = page.lastWriteAtMs + this.#policy.paceMs(method) - this.#now();
    if (dueInMs > 0 && page.sent.length > 0) return dueInMs;
    const heldMs = this.#holds.heldMs(method);
    if (heldMs > 0) return heldMs;
    const budgetWaitMs = await this.#policy.intermediate(method);
    if (budgetWaitMs > 0) return Math.max(budgetWaitMs, this.#options.flushIntervalMs);
    return this.#attempt(
      page,
      () => this.#writer.update(page, this.#endOf(page)),
      page.mode === 'stream' ? 'stream' : 'idempotent',
    );
  }

  /** Opens a message: a stream when its start and stop are in the budget, else posted, else deferred. */
  async #open(page: Page): Promise<number | null> {
    if (
      page.serial === 0 &&
      !this.#writer.withStopButton &&
      this.#options.stopButton &&
      (await this.#options.stopButton)
    ) {
      // A Stop button lives in the message's blocks, which only the post-and-edit path can change:
      // decided before the budget is asked, so no stream start is spent (and its stop reserved).
      this.#writer.withStopButton = true;
      if (page.mode === 'stream') page.mode = 'post';
    }
    if (page.mode === 'stream') {
      // Stream starts are scarce (Tier 2): post and edit rather than wait for one.
      const opened = this.#holds.heldMs('chat.startStream') === 0 && (await this.#policy.openStream());
      if (opened) {
        page.finalReserved = 'chat.stopStream';
        return this.#attempt(page, () => this.#writer.create(page, this.#endOf(page)), 'create');
      }
      this.#options.logger.debug('no stream start in the budget; posting instead');
      this.#switchUnopened('stream', 'post');
      return null;
    }
    const heldMs = this.#holds.heldMs('chat.postMessage');
    if (heldMs > 0) return heldMs;
    const opened = await this.#policy.openPost();
    if (opened !== 'deferred' && 'reserved' in opened) {
      page.finalReserved = opened.reserved ? 'chat.update' : null;
      return this.#attempt(page, () => this.#writer.create(page, this.#endOf(page)), 'create');
    }
    if (opened === 'deferred') {
      // Not even its final edit is in the budget: one post of the whole message, once it is complete.
      this.#options.logger.debug('no final edit in the budget; posting the message once complete');
      this.#switchUnopened('post', 'deferred');
      return null;
    }
    return this.#holds.holdFor('chat.postMessage', opened.waitMs);
  }

  /** A deferred message: posted whole once closed; until then, tried again now and then to open sooner. */
  async #stepDeferred(page: Page): Promise<number | null> {
    const nowMs = this.#now();
    if (!page.closed) {
      this.#showWorking(nowMs);
      const dueInMs = page.deferredCheckedAtMs + DEFERRED_RETRY_MS - nowMs;
      if (dueInMs > 0 || this.#holds.heldMs('chat.postMessage') > 0) return Math.max(dueInMs, 1);
      page.deferredCheckedAtMs = nowMs;
      const opened = await this.#policy.openPost();
      if (opened === 'deferred' || !('reserved' in opened)) return DEFERRED_RETRY_MS;
      page.mode = 'post';
      page.finalReserved = opened.reserved ? 'chat.update' : null;
      return this.#attempt(page, () => this.#writer.create(page, this.#endOf(page)), 'create');
    }
    const waitMs = await this.#holds.finalToken(page, 'chat.postMessage');
    if (waitMs > 0) return this.#holds.holdFor('chat.postMessage', waitMs);
    return this.#attempt(page, () => this.#writer.create(page, this.#endOf(page)), 'create');
  }

  /** Unopened messages written as `from` are written as `to` instead. */
  #switchUnopened(from: Page['mode'], to: Page['mode']): void {
    for (const p of this.#pages) {
      if (p.ts !== null || p.mode !== from) continue;
      this.#holds.dropReservation(p);
      p.mode = to;
    }
  }

  /** The thread's "working" status, while a deferred message shows nothing yet. Best effort. */
  #showWorking(nowMs: number): void {
    if (this.#workingShownAtMs !== null && nowMs - this.#workingShownAtMs < WORKING_STATUS_RENEW_MS) return;
    this.#workingShownAtMs = nowMs;
    this.#writer.setAssistantStatus('writing');
  }

  // ---- failed writes: write-failures.ts decides, this carries it out ----

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
        const action = writeFailureAction({
          error,
          kind,
          opened: page.ts !== null,
          streaming: page.mode === 'stream',
          creating: page.creating !== null,
        });
        if (action === 'retry_after_pause' && attempt < TRANSIENT_RETRIES) {
          await this.#sleep(250 * 2 ** attempt);
          continue;
        }
        return this.#recover(page, error, kind, action);
      }
    }
  }

  /** Carries out what a failed write means; may restructure pages so that no text is lost. */
  #recover(page: Page, error: SlackCallError, kind: WriteKind, action: FailureAction): number | null {
    const { logger } = this.#options;
    switch (action) {
      case 'post_instead':
        // Starting a stream is Tier 2; rather than wait a minute, post and edit.
        if (error.code !== 'rate_limited') this.#options.onStreamingRefused?.(error.code);
        logger.info({ code: error.code }, 'native stream unavailable; posting and editing instead');
        this.#switchUnopened('stream', 'post');
        return null;
      case 'wait':
        return this.#holds.holdFor(error.method, error.retryAfterMs ?? 1000);
      case 'reconcile':
        if (this.#reconciliations < MAX_RECONCILIATIONS) return this.#reconcileLater(page, error, kind);
        break;
      case 'edit_after_stop':
        // Someone pressed Slack's Stop: Slack ended the stream itself. The answer's end (or the rest,
        // if the stop was refused) is written by editing the message, which still works.
        return this.#editFromNowOn(page, page.mode === 'stream' && error.method !== 'chat.stopStream');
      case 'finish_with_update':
        // Slack ended the stream (about five minutes after it started, however busy, or when idle):
        // the message keeps what it shows, and chat.update on its ts, which replaces rather than
        // appends, writes the rest into it (Slack's way to finish such a message).
        logger.info({ method: error.method }, 'stream ended by Slack; finishing it with chat.update');
        return this.#editFromNowOn(page, error.method !== 'chat.stopStream');
      case 'continue_in_new_message':
        this.#continueInNewMessage(page);
        return null;
    }
    return this.#giveUp(error);
  }

  /** The message is written with chat.update from now on; `release`: its reserved stop goes back. */
  #editFromNowOn(page: Page, release: boolean): null {
    if (release) this.#holds.dropReservation(page);
    page.finalReserved = null;
    page.mode = 'post';
    return null;
  }

  /** A write that may have been applied: a lost create is looked up soon, a lost stream write settled. */
  #reconcileLater(page: Page, error: SlackCallError, kind: WriteKind): number | null {
    this.#reconciliations += 1;
    this.#options.logger.warn(
      { method: error.method, code: error.code },
      'a Slack write may have been applied although it failed; reconciling instead of repeating it',
    );
    if (kind === 'create') {
      page.unconfirmed = page.creating;
      page.creating = null;
      return this.#holds.holdFor('conversations.replies', LOST_CREATE_READ_DELAY_MS);
    }
    page.unsettled = true;
    return null;
  }

  /** The answer cannot be shown: the loop ends, and the model call can stop. */
  #giveUp(error: SlackCallError): null {
    this.#options.logger.error({ err: error, code: error.code }, 'could not show the answer in Slack');
    this.#fatal = error;
    this.#policy.close();
    this.#options.onFatal?.(error);
    return null;
  }

  /** The message can take no more: it keeps what it shows, and the rest goes to a new one after it. */
  #continueInNewMessage(page: Page): void {
    this.#holds.dropReservation(page);
    const rest = page.target.slice(page.sent.length);
    page.target = page.sent;
    page.done = true;
    if (page.closed && rest.length === 0) return;
    const next = this.#newPage('post');
    next.target = reopenFence(page.sent) + rest;
    next.closed = page.closed;
    this.#pages.splice(this.#pages.indexOf(page) + 1, 0, next);
  }

  // ---- reconciliation (reconciliation.ts makes the calls) ----

  /** After a lost create: adopts the message Slack made, or leaves the page to be created again. */
  async #adoptLost(page: Page): Promise<void> {
    if (await adoptLostCreate(this.#reconcile, this.#pages, page)) this.#writer.statusChanged = false;
  }

  // ---- the writes (message-writer.ts makes them) ----

  /** Where the answer stands for a write of `page`. */
  #endOf(page: Page): AnswerEnd {
    return { finishing: this.#finishing, last: this.#isLastPage(page) };
  }

  #postNeedsFinalEdit(page: Page): boolean {
    return page.target !== page.sent || page.sent.length === 0 || this.#isLastPage(page);
  }

  /** The answer's last message carries the feedback buttons, once the answer is complete. */
  #isLastPage(page: Page): boolean {
    return this.#finishing && this.#pages.at(-1) === page && this.#options.feedback !== false;
  }
}
