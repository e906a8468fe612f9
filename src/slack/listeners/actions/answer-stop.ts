import type { ListenerDeps } from '../listener-deps.ts';
import { onMessageClick } from './message-click.ts';

/** The Stop button in a streaming answer (where Slack's native Stop is not available). */
export function answerStop(deps: ListenerDeps) {
  return onMessageClick(deps, (click) => deps.conversations.requestStop(click.thread, click.userId));
}
