import { afterEach, describe, expect, it } from 'vitest';
import { botMessages, waitForAnswers } from '../support/answers.ts';
import { type Harness, startHarness } from '../support/bot-harness.ts';

let h: Harness;
afterEach(async () => {
  await h?.stop();
});

describe('feedback buttons', () => {
  it('puts feedback buttons under a finished answer and counts a click', async () => {
    h = await startHarness();
    const sent = await h.slack.postUserMessage({ channel: 'C0001', user: 'U0001', text: '<@UBOT> hi' });
    await waitForAnswers(h, 1);
    const [answer] = botMessages(h, 'C0001', sent.ts);
    expect(JSON.stringify(answer?.blocks)).toContain('feedback_buttons');

    const click = await h.slack.sendAction({
      type: 'block_actions',
      token: 'x',
      api_app_id: 'A0001',
      trigger_id: '1.2.3',
      user: { id: 'U0001', username: 'alice', team_id: 'T0001' },
      team: { id: 'T0001', domain: 'fake' },
      channel: { id: 'C0001', name: 'general' },
      container: { type: 'message', message_ts: answer?.ts, channel_id: 'C0001' },
      message: { ts: answer?.ts, text: '' },
      actions: [
        {
          type: 'feedback_buttons',
          action_id: 'answer_feedback',
          block_id: 'b1',
          value: 'positive',
          action_ts: '1',
        },
      ],
    });
    expect(click.status).toBe(200);
    const metrics = await (await fetch(`${h.botUrl}/metrics`)).text();
    expect(metrics).toContain('slackbot_answer_feedback_total{value="positive"} 1');
  });
});

describe('the Messages tab', () => {
  it('offers suggested prompts when a person opens it', async () => {
    h = await startHarness();
    await h.slack.sendEvent({
      type: 'app_home_opened',
      user: 'U0001',
      channel: 'D0001',
      tab: 'messages',
      event_ts: '1',
    });
    const call = await h.slack.waitFor(() => h.slack.callsTo('assistant.threads.setSuggestedPrompts')[0]);
    expect(call.args.channel_id).toBe('D0001');
    expect(call.args.thread_ts).toBeUndefined();
  });
});
