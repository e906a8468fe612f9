import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import type { ListenerDeps } from '../listener-deps.ts';

/** The app's Home tab: the control panel (settings for admins, everyone's own use). */
export function homeTabOpened(deps: ListenerDeps) {
  return async ({
    event,
    context,
    body,
  }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs) => {
    if (event.tab !== 'home') return;
    await deps.homeTab
      .opened(deps.identity(context, body).teamId, event.user, event.view)
      .catch((err: unknown) => deps.logger.warn({ err }, 'could not show the Home tab'));
  };
}
