import { APPROVE_ACTION_ID } from '../../answer-controls.ts';
import { approvalModal, parseApprovalValue } from '../../approval-message.ts';
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
  return onMessageClick(deps, async (click, _actionId, triggerId) => {
    if (!click.value || !triggerId) return;
    try {
      const request = await deps.conversations.approvalRequest(click.thread, click.value);
      await deps.slack.call('views.open', { trigger_id: triggerId, view: approvalModal(request) });
    } catch (err) {
      deps.logger.warn({ err }, 'could not show the whole approval request');
    }
  });
}
