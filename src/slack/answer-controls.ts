/**
 * The buttons on an answer besides feedback: Stop, shown while an answer streams where Slack's
 * native Stop (agent sessions) is not available, and Regenerate under a finished answer; clicks
 * arrive as block_actions.
 */

export const STOP_ACTION_ID = 'answer_stop';
export const REGENERATE_ACTION_ID = 'answer_regenerate';
/** The block id the controls share, so that a replaced answer can drop them. */
export const CONTROLS_BLOCK_ID = 'answer_controls';

/** An actions block with one Stop button, at the bottom of a message that is still being written. */
export const STOP_BLOCK = {
  type: 'actions',
  block_id: CONTROLS_BLOCK_ID,
  elements: [
    {
      type: 'button',
      action_id: STOP_ACTION_ID,
      text: { type: 'plain_text', text: 'Stop' },
      style: 'danger',
      value: 'stop',
    },
  ],
};

/** A Regenerate button under a finished answer; `answerHash` names the answer (thread-history.ts). */
export function regenerateBlock(answerHash: string): object {
  return {
    type: 'actions',
    block_id: CONTROLS_BLOCK_ID,
    elements: [
      {
        type: 'button',
        action_id: REGENERATE_ACTION_ID,
        text: { type: 'plain_text', text: 'Regenerate' },
        value: answerHash,
      },
    ],
  };
}

/** Shown under an answer that a regenerated one replaced. */
export const REPLACED_BLOCK = {
  type: 'context',
  elements: [{ type: 'mrkdwn', text: '_Replaced by a newer answer below._' }],
};

export const APPROVE_ACTION_ID = 'tool_approve';
export const DENY_ACTION_ID = 'tool_deny';
export const SHOW_ALL_ACTION_ID = 'tool_show_all';

/**
 * Approve, Deny and Show all under an approval request; the decisions' value names the paused turn
 * and the hash of the calls the request shows (see approval-message.ts `parseApprovalValue`).
 */
export function approvalButtons(approvalId: string, inputHash: string): object {
  const value = `${approvalId}|${inputHash}`;
  return {
    type: 'actions',
    block_id: CONTROLS_BLOCK_ID,
    elements: [
      {
        type: 'button',
        action_id: APPROVE_ACTION_ID,
        style: 'primary',
        text: { type: 'plain_text', text: 'Approve' },
        value,
      },
      {
        type: 'button',
        action_id: DENY_ACTION_ID,
        text: { type: 'plain_text', text: 'Deny' },
        value,
      },
      {
        type: 'button',
        action_id: SHOW_ALL_ACTION_ID,
        text: { type: 'plain_text', text: 'Show all' },
        value: approvalId,
      },
    ],
  };
}
