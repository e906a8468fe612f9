/** One message of an answer, as the answer's state machine tracks it. */

export type CreateMethod = 'chat.startStream' | 'chat.postMessage';

export interface Page {
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

/** A message not yet written; the first one (serial 0) shows the status until its first text. */
export function newPage(mode: Page['mode'], serial: number, nowMs: number): Page {
  return {
    mode,
    ts: null,
    sent: '',
    target: '',
    closed: false,
    done: false,
    lastWriteAtMs: 0,
    statusShown: serial !== 0,
    serial,
    creating: null,
    unconfirmed: null,
    unsettled: false,
    finalReserved: null,
    deferredCheckedAtMs: nowMs,
  };
}

/** When a message ends inside a fenced code block, the next one must reopen it. */
export function reopenFence(text: string): string {
  let open: string | null = null;
  for (const line of text.split('\n')) {
    const match = /^\s*(`{3,}|~{3,})(.*)$/.exec(line);
    if (!match) continue;
    if (open === null) open = line.trim();
    else if (match[1] && open.startsWith(match[1]) && match[2]?.trim() === '') open = null;
  }
  return open === null ? '' : `${open}\n`;
}
