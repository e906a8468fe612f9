/**
 * What a failed Slack write means for the answer, as a table from Slack's error code (and where the
 * message stands) to an action; the answer's writer (slack-answer-stream.ts) carries the action out.
 * The first row that matches decides; no row: the answer cannot be shown (`give_up`).
 */
import type { SlackCallError } from '../slack-api.ts';

/**
 * How a write may be repeated after a transport failure: an `idempotent` one as it is; a `create`
 * or a `stream` write (append, stop) only after reconciling, since Slack may have applied it.
 */
export type WriteKind = 'create' | 'stream' | 'idempotent';

export type FailureAction =
  /** Starting a stream is refused or Tier 2-limited: post and edit instead, at once. */
  | 'post_instead'
  /** A 429: wait out Retry-After (text keeps accumulating meanwhile). */
  | 'wait'
  /** The write may have been applied although it failed: reconcile rather than repeat it. */
  | 'reconcile'
  /** A passing fault: try again after a short pause, a few times. */
  | 'retry_after_pause'
  /** Someone pressed Slack's Stop: finish the message by editing it. */
  | 'edit_after_stop'
  /** Slack ended the stream (after about five minutes, or idle): finish it with chat.update. */
  | 'finish_with_update'
  /** The message can take no more: keep what it shows and continue in a new one. */
  | 'continue_in_new_message'
  | 'give_up';

/** A failed write and where its message stands. */
export interface FailedWrite {
  error: SlackCallError;
  kind: WriteKind;
  /** The message exists in Slack (it has a ts). */
  opened: boolean;
  /** The message is written as a native stream. */
  streaming: boolean;
  /** A creating call was in flight. */
  creating: boolean;
}

/** Errors that say native streaming cannot be used here at all: post and edit instead. */
const STREAM_REFUSALS = [
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
];
const TRANSIENT_CODES = ['request_failed', 'internal_error', 'fatal_error'];
/** How many times one write is tried when it meets a passing fault. */
export const TRANSIENT_RETRIES = 3;

const WRITE_FAILURES: ReadonlyArray<{
  codes: readonly string[];
  when?: (failure: FailedWrite) => boolean;
  action: FailureAction;
}> = [
  {
    codes: ['rate_limited', ...STREAM_REFUSALS],
    when: (f) => f.error.method === 'chat.startStream' && !f.opened,
    action: 'post_instead',
  },
  { codes: ['rate_limited'], action: 'wait' },
  {
    codes: TRANSIENT_CODES,
    when: (f) => f.error.mayHaveApplied && f.kind !== 'idempotent' && (f.creating || f.kind === 'stream'),
    action: 'reconcile',
  },
  { codes: TRANSIENT_CODES, action: 'retry_after_pause' },
  { codes: ['stopped_by_user'], when: (f) => f.opened, action: 'edit_after_stop' },
  {
    codes: ['message_not_in_streaming_state'],
    when: (f) => f.opened && f.streaming,
    action: 'finish_with_update',
  },
  {
    codes: ['message_not_in_streaming_state', 'message_not_found', 'msg_too_long'],
    when: (f) => f.opened,
    action: 'continue_in_new_message',
  },
];

export function writeFailureAction(failure: FailedWrite): FailureAction {
  const row = WRITE_FAILURES.find(
    (rule) => rule.codes.includes(failure.error.code) && (rule.when?.(failure) ?? true),
  );
  return row?.action ?? 'give_up';
}
