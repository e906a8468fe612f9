import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { APPROVE_ACTION_ID } from '../../answer-controls.ts';
import type { ListenerDeps } from '../index.ts';

/** Approve or Deny on a tool call that waits for a person; any replica takes it. */
export function toolApproval(deps: ListenerDeps) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const message = body.message as { ts?: string; thread_ts?: string } | undefined;
    const approvalId = (action as { value?: string }).value;
    const channelId = body.channel?.id;
    if (!channelId || !message?.ts || !approvalId) return;
    const { teamId } = deps.identity(context, body);
    await deps.conversations.resolveApproval({
      thread: { teamId, channelId, threadTs: message.thread_ts ?? message.ts },
      approvalId,
      userId: body.user.id,
      approved: (action as { action_id?: string }).action_id === APPROVE_ACTION_ID,
    });
  };
}
