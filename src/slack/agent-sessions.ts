/**
 * Slack's agent sessions (agents.sessions.setStatus): while an answer runs, its thread's session is
 * `processing`, so people see Slack's native Stop button; when it ends, `active` again. The session
 * is created by the first call, titled after the thread's first question.
 *
 * Where sessions are not available to this app (not declared an agent, an older install, a missing
 * scope) or the app does not subscribe to `agent_session_stopped` (Slack then shows a spinner nobody
 * can click, and warns on every call), the bot stops calling and answers carry their own Stop
 * button instead. Calls are Tier 3 and share the write budget; without a token an answer gets the
 * button too.
 */
import type { Logger } from '../logger.ts';
import { type SlackApi, SlackCallError } from './slack-api.ts';
import type { WriteBudget } from './write-budget/index.ts';

export interface SessionTarget {
  teamId: string;
  channelId: string;
  threadTs: string;
  /** The person the session is for (used when Slack creates it). */
  initiatorUserId: string;
  /** Title for a new session (Slack ignores it for an existing one). */
  title: string;
}

/** Errors that say this app cannot use agent sessions at all. */
const UNAVAILABLE = new Set([
  'unknown_method',
  'not_agent_app',
  'missing_scope',
  'not_allowed_token_type',
  'feature_not_enabled',
  'method_deprecated',
  'not_supported',
]);
const MISSING_SUBSCRIPTION = 'missing_agent_session_stopped_event_subscription';
const TITLE_MAX_CHARS = 200;

export class AgentSessions {
  readonly #slack: SlackApi;
  readonly #logger: Logger;
  readonly #budget: WriteBudget;
  /** False once Slack said sessions (or their Stop) cannot work for this app. */
  #available = true;

  constructor(options: { slack: SlackApi; logger: Logger; budget: WriteBudget }) {
    this.#slack = options.slack;
    this.#logger = options.logger;
    this.#budget = options.budget;
  }

  /** Sets the session `processing`; true when Slack's native Stop is shown for this answer. */
  async begin(target: SessionTarget): Promise<boolean> {
    if (!this.#available) return false;
    if ((await this.#budget.take(target.teamId, 'agents.sessions.setStatus', target.channelId)) > 0)
      return false;
    try {
      const result = await this.#slack.call<{
        warning?: string;
        response_metadata?: { warnings?: string[] };
      }>('agents.sessions.setStatus', {
        channel_id: target.channelId,
        thread_ts: target.threadTs,
        status: 'processing',
        title: titleOf(target.title),
        initiator_user_id: target.initiatorUserId,
      });
      const warnings = [result.warning, ...(result.response_metadata?.warnings ?? [])];
      if (warnings.some((w) => w?.split(',').includes(MISSING_SUBSCRIPTION))) {
        this.#giveUp(MISSING_SUBSCRIPTION);
        // This session shows a spinner nobody can click: put it back at once.
        await this.end(target);
        return false;
      }
      return true;
    } catch (error) {
      const code = error instanceof SlackCallError ? error.code : 'request_failed';
      if (UNAVAILABLE.has(code)) this.#giveUp(code);
      else this.#logger.debug({ code }, 'could not mark the agent session processing');
      return false;
    }
  }

  /** Sets the session `active` again (the answer ended, however it ended). Best effort. */
  async end(target: SessionTarget): Promise<void> {
    try {
      await this.#slack.call('agents.sessions.setStatus', {
        channel_id: target.channelId,
        thread_ts: target.threadTs,
        status: 'active',
      });
    } catch (error) {
      this.#logger.debug({ err: error }, 'could not mark the agent session active');
    }
  }

  #giveUp(reason: string): void {
    if (!this.#available) return;
    this.#available = false;
    this.#logger.warn(
      { reason },
      "Slack's agent sessions are not available to this app (declare it an agent and subscribe to agent_session_stopped): answers show their own Stop button",
    );
  }
}

function titleOf(question: string): string {
  const oneLine = question.replace(/\s+/g, ' ').trim() || 'Question';
  return oneLine.length > TITLE_MAX_CHARS ? `${oneLine.slice(0, TITLE_MAX_CHARS - 1)}…` : oneLine;
}
