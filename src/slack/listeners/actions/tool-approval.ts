import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { APPROVE_ACTION_ID } from '../../answer-controls.ts';
import { clickOf } from '../../question-builder.ts';
import type { ListenerDeps } from '../listener-deps.ts';

/** Approve or Deny on a tool call that waits for a person; any replica takes it. */
export function toolApproval(deps: ListenerDeps) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const click = clickOf(body, action, deps.identity(context, body).teamId);
    if (!click?.value) return;
    await deps.conversations.resolveApproval({
      thread: click.thread,
      approvalId: click.value,
      userId: click.userId,
      approved: (action as { action_id?: string }).action_id === APPROVE_ACTION_ID,
    });
  };
}
