import type { ListenerDeps } from '../listener-deps.ts';
import { onMessageClick } from './message-click.ts';

/** Regenerate under the last answer of a thread: the question is asked again, its answer replaced. */
export function answerRegenerate(deps: ListenerDeps) {
  return onMessageClick(deps, async (click) => {
    if (click.value) await deps.conversations.regenerate({ ...click, answerHash: click.value });
  });
}
