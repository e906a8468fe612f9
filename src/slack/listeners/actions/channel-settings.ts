import type { AllMiddlewareArgs, BlockAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import type { ViewPayload } from '../../home-tab.ts';
import type { ListenerDeps } from '../listener-deps.ts';

/** Clicks and picks in the Home tab's channel settings. */
export function channelSettingsAction(deps: ListenerDeps) {
  return async ({ ack, body }: SlackActionMiddlewareArgs<BlockAction> & AllMiddlewareArgs) => {
    await ack();
    await deps.homeTab
      .onAction(body as unknown as ViewPayload)
      .catch((err: unknown) => deps.logger.warn({ err }, 'could not handle a settings action'));
  };
}
