/**
 * Every Slack Web API call the bot makes goes through here: one place that counts calls and 429s,
 * turns the web client's errors into a SlackCallError with a plain code, and never lets a 429
 * pause other threads (the client is built with `rejectRateLimitedCalls`, so each caller decides
 * how to wait).
 */
import { type WebAPICallResult, WebClient, type WebClientOptions } from '@slack/web-api';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../metrics.ts';

export class SlackCallError extends Error {
  override readonly name = 'SlackCallError';
  /** Slack's error (`not_in_channel`, …), `rate_limited`, or `request_failed` for transport faults. */
  readonly code: string;
  /** For `rate_limited`: how long Slack asked us to wait. */
  readonly retryAfterMs: number | null;
  readonly method: string;
  /**
   * Slack may have carried the call out although it failed: the connection dropped or timed out
   * after the request left, Slack answered 5xx, or `internal_error`/`fatal_error` (which Slack says
   * can follow a partly done operation). A write that failed so must be reconciled, not repeated.
   */
  readonly mayHaveApplied: boolean;
  constructor(
    method: string,
    code: string,
    retryAfterMs: number | null,
    cause?: unknown,
    mayHaveApplied = false,
  ) {
    super(`${method} failed: ${code}`, { cause });
    this.method = method;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
    this.mayHaveApplied = mayHaveApplied;
  }
}

/** Transport errors raised before the request reached Slack: repeating such a call is safe. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Web client options shared by Bolt's client and ours: bounded time, no queue-wide 429 pauses. */
export function slackClientOptions(apiUrl: string, timeoutMs = 10_000): WebClientOptions {
  return {
    slackApiUrl: apiUrl,
    timeout: timeoutMs,
    rejectRateLimitedCalls: true,
    // Resending a write after a timeout can post it twice; callers retry what is safe to retry.
    retryConfig: { retries: 0 },
  };
}

export class SlackApi {
  readonly client: WebClient;
  readonly #metrics: Metrics;
  readonly #logger: Logger;
  readonly #tokenOf: (() => string | undefined) | undefined;

  constructor(options: {
    /** The single workspace's token; null with installation by OAuth (see `tokenOf`). */
    token: string | null;
    /** The token of the workspace being served, read on each call; falls back to `token`. */
    tokenOf?: () => string | undefined;
    apiUrl: string;
    metrics: Metrics;
    logger: Logger;
    timeoutMs?: number;
  }) {
    this.client = new WebClient(
      options.token ?? undefined,
      slackClientOptions(options.apiUrl, options.timeoutMs),
    );
    this.#tokenOf = options.tokenOf;
    this.#metrics = options.metrics;
    this.#logger = options.logger;
  }

  /** The token calls are made with now (the file downloads' Authorization too). */
  token(): string | undefined {
    return this.#tokenOf?.() ?? this.client.token;
  }

  async call<T extends object = WebAPICallResult>(
    method: string,
    args: Record<string, unknown>,
  ): Promise<T & WebAPICallResult> {
    try {
      const token = this.#tokenOf?.();
      const result = (await this.client.apiCall(method, token ? { ...args, token } : args)) as T &
        WebAPICallResult;
      this.#metrics.slackCalls.inc({ method, result: 'ok' });
      return result;
    } catch (error) {
      const failure = toCallError(method, error);
      this.#metrics.slackCalls.inc({ method, result: failure.code });
      if (failure.code === 'rate_limited') this.#metrics.slackRateLimited.inc({ method });
      this.#logger.debug(
        { method, code: failure.code, retryAfterMs: failure.retryAfterMs },
        'slack call failed',
      );
      throw failure;
    }
  }
}

function toCallError(method: string, error: unknown): SlackCallError {
  const coded = error as { code?: string; retryAfter?: number; data?: { error?: string } };
  if (coded.code === 'slack_webapi_rate_limited_error')
    return new SlackCallError(method, 'rate_limited', Math.max(1, coded.retryAfter ?? 1) * 1000, error);
  if (coded.code === 'slack_webapi_platform_error' && coded.data?.error) {
    const partlyDone = coded.data.error === 'internal_error' || coded.data.error === 'fatal_error';
    return new SlackCallError(method, coded.data.error, null, error, partlyDone);
  }
  return new SlackCallError(
    method,
    'request_failed',
    null,
    error,
    !NOT_SENT_CODES.has(causeCode(error) ?? ''),
  );
}

/** The system error code under the web client's wrapper (fetch puts it on the cause). */
function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth += 1) {
    const { code } = current as { code?: unknown };
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    current =
      (current as { original?: unknown; cause?: unknown }).original ?? (current as { cause?: unknown }).cause;
  }
  return undefined;
}
