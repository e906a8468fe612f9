/**
 * Slack → bot over HTTP: request signing and the payload shapes Slack sends (Events API envelope,
 * message events, slash-command forms). FakeSlack uses these; a test may too, e.g. to sign a
 * request by hand.
 *
 * @example
 * const result = await postSigned('http://127.0.0.1:3000/slack/events', {
 *   rawBody: JSON.stringify({ type: 'url_verification', challenge: 'abc' }),
 *   contentType: 'application/json',
 *   signingSecret: 'test-signing-secret',
 * });
 * result.status; // 200
 */
import { createHmac, randomBytes } from 'node:crypto';
import { type Agent, request } from 'node:http';

export interface DeliveryResult {
  /** HTTP status of the bot's answer (200 for a Socket Mode ack). */
  status: number;
  /** The answer's body: parsed JSON when it is JSON, else the text ('' when empty). */
  body: unknown;
  /** When the request was on the wire (epoch ms, `performance.timeOrigin + performance.now()`). */
  sentAtMs: number;
  /** Time from `sentAtMs` to the bot's answer (or ack). */
  elapsedMs: number;
}

export interface PostSignedOptions {
  rawBody: string;
  contentType: 'application/json' | 'application/x-www-form-urlencoded';
  signingSecret: string;
  /** Signature timestamp; defaults to the real wall clock, which the bot verifies against. */
  timestampS?: number;
  headers?: Record<string, string>;
  timeoutMs?: number;
  /**
   * Connection pool to send through (FakeSlack keeps one with keep-alive, as Slack reuses its
   * connections); a new connection per request without it.
   */
  agent?: Agent;
}

/** `v0=<hex HMAC-SHA256(secret, "v0:<ts>:<rawBody>")>`, as Slack signs requests. */
export function slackSignature(signingSecret: string, timestampS: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampS}:${rawBody}`).digest('hex')}`;
}

export function parseBody(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Posts a signed request with `node:http` (light enough that a burst of deliveries stays cheap). */
export function postSigned(url: string, options: PostSignedOptions): Promise<DeliveryResult> {
  const timestampS = options.timestampS ?? Math.floor(Date.now() / 1000);
  const body = Buffer.from(options.rawBody);
  // Until the request is flushed to the socket; a burst queues behind its own construction.
  let sentMs = performance.now();
  return new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: 'POST',
        agent: options.agent ?? false,
        headers: {
          'content-type': options.contentType,
          'content-length': String(body.length),
          'x-slack-request-timestamp': String(timestampS),
          'x-slack-signature': slackSignature(options.signingSecret, timestampS, options.rawBody),
          ...options.headers,
        },
        timeout: options.timeoutMs ?? 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: parseBody(Buffer.concat(chunks).toString('utf8')),
            sentAtMs: performance.timeOrigin + sentMs,
            elapsedMs: performance.now() - sentMs,
          }),
        );
      },
    );
    outgoing.on('timeout', () =>
      outgoing.destroy(new Error(`delivery timed out after ${options.timeoutMs ?? 10_000} ms`)),
    );
    outgoing.on('error', reject);
    outgoing.once('finish', () => {
      sentMs = performance.now();
    });
    outgoing.end(body);
  });
}

const idAlphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A random upper-case id such as Slack uses ('Ev08ABCDEF12'). */
export function slackId(prefix: string, length = 10): string {
  const bytes = randomBytes(length);
  return prefix + Array.from(bytes, (byte) => idAlphabet[byte % idAlphabet.length]).join('');
}

export interface EnvelopeInput {
  event: unknown;
  eventId: string;
  eventTimeS: number;
  teamId: string;
  appId: string;
  botUserId: string;
  verificationToken: string;
  /** Enterprise Grid: the org the event comes from. */
  enterpriseId?: string | null;
  /** The app is installed org-wide: the authorization names the org, not the workspace. */
  isEnterpriseInstall?: boolean;
  /** The channel is shared with another organization (Slack Connect). */
  isExtSharedChannel?: boolean;
}

/** The Events API `event_callback` envelope around an inner event. */
export function eventEnvelope(input: EnvelopeInput): Record<string, unknown> {
  return {
    token: input.verificationToken,
    team_id: input.teamId,
    ...(input.enterpriseId
      ? { enterprise_id: input.enterpriseId, context_enterprise_id: input.enterpriseId }
      : {}),
    context_team_id: input.teamId,
    api_app_id: input.appId,
    event: input.event,
    type: 'event_callback',
    event_id: input.eventId,
    event_time: input.eventTimeS,
    authorizations: [
      {
        enterprise_id: input.enterpriseId ?? null,
        team_id: input.isEnterpriseInstall ? null : input.teamId,
        user_id: input.botUserId,
        is_bot: true,
        is_enterprise_install: input.isEnterpriseInstall ?? false,
      },
    ],
    is_ext_shared_channel: input.isExtSharedChannel ?? false,
    event_context: `4-${Buffer.from(JSON.stringify({ id: input.eventId })).toString('base64url')}`,
  };
}

/** The rich_text block Slack attaches to a person's message, with `<@U…>` as user elements. */
export function richTextBlocks(text: string): object[] {
  const elements: object[] = [];
  for (const part of text.split(/(<@[A-Z0-9]+>)/)) {
    const mention = /^<@([A-Z0-9]+)>$/.exec(part);
    if (mention) elements.push({ type: 'user', user_id: mention[1] });
    else if (part !== '') elements.push({ type: 'text', text: part });
  }
  return [
    {
      type: 'rich_text',
      block_id: slackId('', 5).toLowerCase(),
      elements: [{ type: 'rich_text_section', elements }],
    },
  ];
}
