import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { viewingFrom } from '../../question-builder.ts';
import type { ListenerDeps } from '../listener-deps.ts';

const PROMPTS = [
  { title: 'Summarize a topic', message: 'Give me a short summary of how our refund process works.' },
  { title: 'Explain something', message: 'Explain the difference between a process and a thread, briefly.' },
  { title: 'Draft a message', message: 'Draft a friendly reminder that the team meeting moved to 3pm.' },
];

const VIEWING_PROMPTS = [
  { title: 'Summarize this', message: 'Summarize what I am looking at in a few bullet points.' },
  { title: 'Decisions and open questions', message: 'What was decided here, and what is still open?' },
  { title: 'Draft a reply', message: 'Draft a short reply to the latest message here.' },
];

/** The app's Messages tab (agent view): suggested prompts when a person opens it. */
export function messagesTabOpened(deps: ListenerDeps) {
  return async ({
    event,
    context,
    body,
  }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'messages' || !event.channel) return;
    const viewing = viewingFrom((event as { context?: unknown }).context);
    if (viewing)
      await deps.conversations.noteViewing(deps.identity(context, body).teamId, event.user, viewing);
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

/** What the person looks at changed (Messages tab open beside a channel): remembered for their next question. */
export function appContextChanged(deps: ListenerDeps) {
  return async ({ event, context, body }: SlackEventMiddlewareArgs & AllMiddlewareArgs) => {
    const changed = event as unknown as { user?: string; channel?: string; context?: unknown };
    if (!changed.user) return;
    const viewing = viewingFrom(changed.context);
    const { teamId } = deps.identity(context, body);
    await deps.conversations.noteViewing(teamId, changed.user, viewing);
    if (!changed.channel) return;
    // The prompts follow what is on screen: a channel gets prompts about that channel.
    await deps.slack
      .call('assistant.threads.setSuggestedPrompts', {
        channel_id: changed.channel,
        prompts: viewing ? VIEWING_PROMPTS : PROMPTS,
        title: viewing ? 'About what you are looking at' : 'Try asking',
      })
      .catch((err: unknown) => deps.logger.debug({ err }, 'could not set suggested prompts'));
  };
}
