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
  constructor(method: string, code: string, retryAfterMs: number | null, cause?: unknown) {
    super(`${method} failed: ${code}`, { cause });
    this.method = method;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }
}

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

  constructor(options: {
    token: string;
    apiUrl: string;
    metrics: Metrics;
    logger: Logger;
    timeoutMs?: number;
  }) {
    this.client = new WebClient(options.token, slackClientOptions(options.apiUrl, options.timeoutMs));
    this.#metrics = options.metrics;
    this.#logger = options.logger;
  }

  async call<T extends object = WebAPICallResult>(
    method: string,
    args: Record<string, unknown>,
  ): Promise<T & WebAPICallResult> {
    try {
      const result = (await this.client.apiCall(method, args)) as T & WebAPICallResult;
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
  if (coded.code === 'slack_webapi_platform_error' && coded.data?.error)
    return new SlackCallError(method, coded.data.error, null, error);
  return new SlackCallError(method, 'request_failed', null, error);
}
