/** Registers the listeners. Each one only turns a Slack payload into a call on the conversation service. */
import type { App } from '@slack/bolt';
import {
  APPROVE_ACTION_ID,
  DENY_ACTION_ID,
  REGENERATE_ACTION_ID,
  SHOW_ALL_ACTION_ID,
  STOP_ACTION_ID,
} from '../answer-controls.ts';
import { FEEDBACK_ACTION_ID } from '../answer-stream/message-blocks.ts';
import { SETTINGS_ACTIONS, SETTINGS_MODAL_CALLBACK } from '../settings-views.ts';
import { answerFeedback } from './actions/answer-feedback.ts';
import { answerRegenerate } from './actions/answer-regenerate.ts';
import { answerStop } from './actions/answer-stop.ts';
import { channelSettingsAction } from './actions/channel-settings.ts';
import { toolApproval, toolApprovalShowAll } from './actions/tool-approval.ts';
import { ask } from './commands/ask.ts';
import { agentSessionStopped } from './events/agent-session-stopped.ts';
import { appMention } from './events/app-mention.ts';
import { answerDeleted, fileGone, fileShared } from './events/file-events.ts';
import { homeTabOpened } from './events/home-tab.ts';
import { message } from './events/message.ts';
import { appContextChanged, assistantThreadStarted, messagesTabOpened } from './events/messages-tab.ts';
import type { ListenerDeps } from './listener-deps.ts';
import { channelSettingsSubmitted } from './views/channel-settings.ts';

/** The Events API events the bot listens to: manifest.yml subscribes to exactly these (a test checks). */
export const SUBSCRIBED_EVENTS = [
  'agent_session_stopped',
  'app_context_changed',
  'app_home_opened',
  'app_mention',
  // Installation by OAuth: the installation and its data go (see installations/oauth-install.ts).
  'app_uninstalled',
  'assistant_thread_started',
  'file_deleted',
  'file_shared',
  'file_unshared',
  'message.channels',
  'message.groups',
  'message.im',
  'message.mpim',
  'tokens_revoked',
] as const;

export function registerListeners(app: App, deps: ListenerDeps): void {
  app.use(async ({ body, next }) => {
    deps.metrics.events.inc({ type: eventType(body) });
    await next();
  });
  app.event('app_mention', appMention(deps));
  app.event('message', message(deps));
  app.event('app_home_opened', messagesTabOpened(deps));
  app.event('app_home_opened', homeTabOpened(deps));
  app.event('assistant_thread_started', assistantThreadStarted(deps));
  app.command('/ask', ask(deps));
  app.event('agent_session_stopped', agentSessionStopped(deps));
  app.event('app_context_changed', appContextChanged(deps));
  // Channel knowledge (issue 22).
  app.event('file_shared', fileShared(deps));
  app.event('file_deleted', fileGone(deps));
  app.event('file_unshared', fileGone(deps));
  app.event('message', answerDeleted(deps));
  app.action(FEEDBACK_ACTION_ID, answerFeedback(deps));
  app.action(new RegExp(`^(${Object.values(SETTINGS_ACTIONS).join('|')})$`), channelSettingsAction(deps));
  app.view(SETTINGS_MODAL_CALLBACK, channelSettingsSubmitted(deps));
  app.action(STOP_ACTION_ID, answerStop(deps));
  app.action(REGENERATE_ACTION_ID, answerRegenerate(deps));
  app.action(APPROVE_ACTION_ID, toolApproval(deps));
  app.action(DENY_ACTION_ID, toolApproval(deps));
  app.action(SHOW_ALL_ACTION_ID, toolApprovalShowAll(deps));
}

function eventType(body: unknown): string {
  const b = body as { type?: string; event?: { type?: string }; command?: string };
  if (b.event?.type) return b.event.type;
  if (b.command) return 'slash_command';
  return b.type ?? 'unknown';
}
