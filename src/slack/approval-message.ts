/**
 * An approval request as Slack shows it. Every argument of every call is shown, each key on its
 * own line, so that a long harmless field cannot hide a harmful one; a value is shortened only with
 * a visible marker, and the whole input is one click away ("Show all" opens it in a modal, as
 * plain text). The arguments are the model's, so they go through the untrusted-text path. The
 * buttons carry the hash of the exact calls shown: a click runs those calls or nothing.
 */
import type { ApprovalOutcome, ApprovalRequest } from '../conversation/ports.ts';
import { approvalButtons } from './answer-controls.ts';
import { escapeMrkdwn } from './render/slack-safe-text.ts';
import { type UntrustedTextOptions, untrustedLine, untrustedMarkdown } from './render/untrusted-text.ts';

/** A value longer than this is shortened on the message (all of it is in "Show all"). */
const SHOWN_VALUE_CHARS = 300;
const SHOWN_KEY_CHARS = 80;
/** Arguments shown per call on the message; more are counted, and shown in "Show all". */
const SHOWN_ARGUMENTS = 40;
/** A markdown block holds 12,000 characters; the lines under the calls need some of them. */
const MAX_CALLS_CHARS = 10_000;
/** A modal's section text (plain) holds 3,000 characters; a modal at most 100 blocks. */
const MODAL_CHUNK_CHARS = 2_900;
const MODAL_MAX_BLOCKS = 95;

export interface ApprovalMessage {
  text: string;
  blocks: object[];
}

/** The request with Approve, Deny and Show all. */
export function approvalMessage(
  request: ApprovalRequest,
  options: UntrustedTextOptions = {},
): ApprovalMessage {
  const minutes = Math.max(1, Math.round((request.expiresAtMs - Date.now()) / 60_000));
  const who =
    request.mode === 'approvers'
      ? `Only an approver (${request.approvers.map(mention).join(', ')}) can approve or deny this, not the person who asked.`
      : `Only ${mention(request.askerId)} (or an approver) can approve or deny this.`;
  const markdown = [...body(request, options), `${who} It expires in ${minutes} minutes.`].join('\n');
  return {
    text: escapeMrkdwn(`Approval needed: ${titles(request)}`),
    blocks: [{ type: 'markdown', text: markdown }, approvalButtons(request.approvalId, request.inputHash)],
  };
}

/** The request as it ended: what it asked, and who decided (no buttons are left). */
export function settledApprovalMessage(
  request: ApprovalRequest,
  outcome: ApprovalOutcome,
  options: UntrustedTextOptions = {},
): ApprovalMessage {
  const said =
    outcome.kind === 'expired'
      ? 'Expired.'
      : `${outcome.kind === 'approved' ? 'Approved' : 'Denied'} by ${mention(outcome.by)}.`;
  return {
    // The notification's text reads as a name: the mention is Slack's own syntax, left unescaped.
    text: `${said} ${escapeMrkdwn(titles(request))}`,
    blocks: [
      { type: 'markdown', text: body(request, options).join('\n') },
      { type: 'context', elements: [{ type: 'mrkdwn', text: said }] },
    ],
  };
}

/** "Show all": every call's whole input, as plain text (Slack renders neither links nor mentions in it). */
export function approvalModal(request: ApprovalRequest | null): object {
  const blocks: object[] = [];
  if (!request) blocks.push(plainSection('This request was already answered, or it expired.'));
  for (const [index, call] of (request?.calls ?? []).entries()) {
    blocks.push({
      type: 'header',
      text: { type: 'plain_text', text: `${index + 1}. ${call.title}`.slice(0, 150) },
    });
    const whole = JSON.stringify(call.input ?? {}, null, 2);
    for (let at = 0; at < whole.length; at += MODAL_CHUNK_CHARS) {
      if (blocks.length >= MODAL_MAX_BLOCKS) {
        blocks.push(plainSection(`(The rest, ${whole.length - at} characters, does not fit here.)`));
        break;
      }
      blocks.push(plainSection(whole.slice(at, at + MODAL_CHUNK_CHARS)));
    }
  }
  return {
    type: 'modal',
    title: { type: 'plain_text', text: 'Approval request' },
    close: { type: 'plain_text', text: 'Close' },
    blocks: blocks.slice(0, MODAL_MAX_BLOCKS + 1),
  };
}

/** What an Approve or Deny button carries: the approval's id and the hash of the calls it showed. */
export function parseApprovalValue(value: string): { approvalId: string; inputHash: string | null } {
  const [approvalId = '', inputHash] = value.split('|');
  return { approvalId, inputHash: inputHash ?? null };
}

/** The calls, every argument on its own line, and a word when the thread's context came from others. */
function body(request: ApprovalRequest, options: UntrustedTextOptions): string[] {
  const calls: string[] = [];
  let used = 0;
  for (const [index, call] of request.calls.entries()) {
    const lines = [
      `**${index + 1}. ${untrustedLine(call.title, 150, options)}**`,
      ...argumentLines(call.input, options),
    ];
    const size = lines.join('\n').length;
    if (used + size > MAX_CALLS_CHARS) {
      calls.push(`_… and ${request.calls.length - index} more call(s): see **Show all**._`);
      break;
    }
    used += size;
    calls.push(...lines);
  }
  return [
    '**Approval needed.** To answer, I would like to:',
    ...calls,
    ...(request.quotedContext
      ? ["_Note: this thread's earlier messages, written by other people, were given to me as context._"]
      : []),
  ];
}

function argumentLines(input: unknown, options: UntrustedTextOptions): string[] {
  const entries =
    typeof input === 'object' && input !== null && !Array.isArray(input)
      ? Object.entries(input as Record<string, unknown>)
      : [['input', input] as [string, unknown]];
  if (entries.length === 0) return ['• _(no arguments)_'];
  const lines = entries
    .slice(0, SHOWN_ARGUMENTS)
    .map(
      ([key, value]) =>
        `• ${code(shorten(key, SHOWN_KEY_CHARS), options)}: ${code(shorten(JSON.stringify(value) ?? 'null', SHOWN_VALUE_CHARS), options)}`,
    );
  if (entries.length > SHOWN_ARGUMENTS)
    lines.push(`• _… and ${entries.length - SHOWN_ARGUMENTS} more arguments: see **Show all**._`);
  return lines;
}

/** A value cut to `max` characters, with a marker that says so and how much is left out. */
function shorten(text: string, max: number): { text: string; cut: number } {
  return text.length > max ? { text: text.slice(0, max), cut: text.length - max } : { text, cut: 0 };
}

/** An untrusted value as inline code (its backticks shown as ’), and the visible shortening marker. */
function code(value: { text: string; cut: number }, options: UntrustedTextOptions): string {
  const inline = untrustedMarkdown(`\`${value.text.replace(/`/g, '’').replace(/\s+/g, ' ')}\``, options);
  return value.cut > 0 ? `${inline} _[… ${value.cut} more characters: see **Show all**]_` : inline;
}

function titles(request: ApprovalRequest): string {
  return request.calls.map((call) => call.title).join(', ');
}

/** A user mention, only for something shaped like a Slack user id (never untrusted text). */
function mention(userId: string): string {
  return /^[UW][A-Z0-9]{2,}$/.test(userId) ? `<@${userId}>` : 'someone';
}

function plainSection(text: string): object {
  return { type: 'section', text: { type: 'plain_text', text, emoji: false } };
}
