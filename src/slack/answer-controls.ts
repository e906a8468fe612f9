/**
 * The buttons on an answer besides feedback: Stop, shown while an answer streams where Slack's
 * native Stop (agent sessions) is not available; clicks arrive as block_actions.
 */

export const STOP_ACTION_ID = 'answer_stop';

/** An actions block with one Stop button, at the bottom of a message that is still being written. */
export const STOP_BLOCK = {
  type: 'actions',
  block_id: 'answer_controls',
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
