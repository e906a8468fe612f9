import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../listener-deps.ts';

/** The shape Slack sends; Bolt 5 has no type of its own for it yet. */
interface AgentSessionStoppedEvent {
  type: 'agent_session_stopped';
  channel?: string;
  thread_ts?: string;
  user?: string;
}

/** Slack's native Stop on an agent session: the answer running in that thread stops. */
export function agentSessionStopped(deps: ListenerDeps) {
  return async ({ event, context, body }: SlackEventMiddlewareArgs & AllMiddlewareArgs) => {
    const stopped = event as unknown as AgentSessionStoppedEvent;
    if (!stopped.channel || !stopped.thread_ts || !stopped.user) return;
    const { teamId } = deps.identity(context, body);
    await deps.conversations.requestStop(
      { teamId, channelId: stopped.channel, threadTs: stopped.thread_ts },
      stopped.user,
    );
  };
}
