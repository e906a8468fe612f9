import { APPROVE_ACTION_ID } from '../../answer-controls.ts';
import type { ListenerDeps } from '../listener-deps.ts';
import { onMessageClick } from './message-click.ts';

/** Approve or Deny on a tool call that waits for a person; any replica takes it. */
export function toolApproval(deps: ListenerDeps) {
  return onMessageClick(deps, async (click, actionId) => {
    if (!click.value) return;
    await deps.conversations.resolveApproval({
      thread: click.thread,
      approvalId: click.value,
      userId: click.userId,
      approved: actionId === APPROVE_ACTION_ID,
    });
  });
}
