/**
 * One vocabulary for everything that can stop an answer. Adapters turn their own failures into an
 * AnswerError once, at their edge (`asAnswerError`); the conversation service shows `userMessage`
 * in the thread with the reference id that is also in the log line.
 */
import { randomBytes } from 'node:crypto';

export type AnswerErrorCode =
  | 'model_access_denied'
  | 'model_not_found'
  | 'input_too_long'
  | 'throttled'
  | 'timeout'
  | 'stream_interrupted'
  | 'model_unavailable'
  | 'connection_lost'
  | 'kb_not_found'
  | 'kb_access_denied'
  | 'kb_session_invalid'
  | 'guardrail_intervened'
  | 'store_unavailable'
  | 'invalid_request'
  /** The model refused a kind of file it was sent; its inputs now say so, so the files can be planned again. */
  | 'model_inputs_changed'
  | 'unknown';

export class AnswerError extends Error {
  override readonly name = 'AnswerError';
  readonly code: AnswerErrorCode;
  /** Worth another attempt after a pause (throttling, a transient service fault). */
  readonly retryable: boolean;
  /** A short message for the person in Slack; never contains a secret. */
  readonly userMessage: string;
  constructor(
    code: AnswerErrorCode,
    userMessage: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(`${code}: ${userMessage}`, { cause: options.cause });
    this.code = code;
    this.userMessage = userMessage;
    this.retryable = options.retryable ?? false;
  }
}

/** Anything thrown that is not already an AnswerError becomes an `unknown` one. */
export function asAnswerError(error: unknown): AnswerError {
  if (error instanceof AnswerError) return error;
  return new AnswerError('unknown', 'Something went wrong while answering.', { cause: error });
}

/** A short reference id people can quote to an operator; it appears in the log line too. */
export function newReferenceId(): string {
  return randomBytes(4).toString('hex').toUpperCase();
}
