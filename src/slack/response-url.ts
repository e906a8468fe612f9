/**
 * Posting to a slash command's `response_url`. The URL arrives in the request body, so the bot
 * fetches it only where Slack serves response URLs: `https` on hooks.slack.com or, for GovSlack,
 * hooks.slack-gov.com, or on the origin of the configured Slack API (`SLACK_API_URL`, which is how
 * a local stand-in serves them). Redirects are not followed. The path of a response URL is its
 * secret, so a refusal names only the host.
 */
import type { Logger } from '../logger.ts';

const SLACK_HOOK_HOSTS = new Set(['hooks.slack.com', 'hooks.slack-gov.com']);

/** Why `url` must not be fetched as a response_url; null when it may. */
export function responseUrlRefusal(url: string, slackApiUrl: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.username || parsed.password) return 'has credentials';
  if (parsed.origin === new URL(slackApiUrl).origin) return null;
  if (!SLACK_HOOK_HOSTS.has(parsed.hostname)) return 'not a Slack host';
  if (parsed.protocol !== 'https:') return 'not https';
  if (parsed.port !== '') return 'not the https port';
  return null;
}

/** The host of `url` for a log line, never its path. */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '(unparseable)';
  }
}

export interface ResponseUrlPosterOptions {
  slackApiUrl: string;
  logger: Logger;
  timeoutMs?: number;
}

/** Posts JSON to a response_url that passes the rule above; rejects otherwise, and on a non-2xx answer. */
export function responseUrlPoster(
  options: ResponseUrlPosterOptions,
): (url: string, body: Record<string, unknown>) => Promise<void> {
  const { slackApiUrl, logger, timeoutMs = 10_000 } = options;
  return async (url, body) => {
    const refusal = responseUrlRefusal(url, slackApiUrl);
    if (refusal) {
      logger.warn({ host: hostOf(url), reason: refusal }, 'refused to post to a response_url');
      throw new Error(`response_url refused (${refusal})`);
    }
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    if (response.status >= 300 && response.status < 400)
      throw new Error(`response_url answered a redirect (${response.status}), which is not followed`);
    if (!response.ok) throw new Error(`response_url answered ${response.status}`);
  };
}
