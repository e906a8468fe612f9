import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { APPROVE_ACTION_ID } from '../../answer-controls.ts';
import { approvalModal, parseApprovalValue } from '../../approval-message.ts';
import { clickOf } from '../../question-builder.ts';
import type { ListenerDeps } from '../listener-deps.ts';
import { onMessageClick } from './message-click.ts';

/** Approve or Deny on a tool call that waits for a person; any replica takes it. */
export function toolApproval(deps: ListenerDeps) {
  return onMessageClick(deps, async (click, actionId) => {
    if (!click.value) return;
    const { approvalId, inputHash } = parseApprovalValue(click.value);
    await deps.conversations.resolveApproval({
      thread: click.thread,
      approvalId,
      inputHash,
      messageTs: click.messageTs,
      userId: click.userId,
      approved: actionId === APPROVE_ACTION_ID,
      clickId: click.clickId,
    });
  });
}

/** "Show all" on an approval request: every call's whole input, in a modal. */
export function toolApprovalShowAll(deps: ListenerDeps) {
  return async ({
    ack,
    body,
    action,
    context,
  }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    const click = clickOf(body, action, deps.identity(context, body).teamId);
    if (!click?.value || !body.trigger_id) return;
    try {
      const request = await deps.conversations.approvalRequest(click.thread, click.value);
      await deps.slack.call('views.open', { trigger_id: body.trigger_id, view: approvalModal(request) });
    } catch (err) {
      deps.logger.warn({ err }, 'could not show the whole approval request');
    }
  };
}
