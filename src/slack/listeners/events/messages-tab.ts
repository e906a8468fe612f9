import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../index.ts';

const PROMPTS = [
  { title: 'Summarize a topic', message: 'Give me a short summary of how our refund process works.' },
  { title: 'Explain something', message: 'Explain the difference between a process and a thread, briefly.' },
  { title: 'Draft a message', message: 'Draft a friendly reminder that the team meeting moved to 3pm.' },
];

/** The app's Messages tab (agent view): suggested prompts when a person opens it. */
export function messagesTabOpened(deps: ListenerDeps) {
  return async ({ event }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'messages' || !event.channel) return;
    await deps.slack
      .call('assistant.threads.setSuggestedPrompts', {
        channel_id: event.channel,
        prompts: PROMPTS,
        title: 'Try asking',
      })
      .catch((err: unknown) => deps.logger.debug({ err }, 'could not set suggested prompts'));
  };
}

/** The legacy assistant pane: a new assistant thread gets the same suggested prompts. */
export function assistantThreadStarted(deps: ListenerDeps) {
  return async ({ event }: SlackEventMiddlewareArgs<'assistant_thread_started'> & AllMiddlewareArgs) => {
    const { channel_id: channelId, thread_ts: threadTs } = event.assistant_thread;
    await deps.slack
      .call('assistant.threads.setSuggestedPrompts', {
        channel_id: channelId,
        thread_ts: threadTs,
        prompts: PROMPTS,
      })
      .catch((err: unknown) => deps.logger.debug({ err }, 'could not set suggested prompts'));
  };
}
