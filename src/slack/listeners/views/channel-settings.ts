import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import type { ViewPayload } from '../../home-tab.ts';
import type { ListenerDeps } from '../listener-deps.ts';

/** The channel settings modal was submitted. */
export function channelSettingsSubmitted(deps: ListenerDeps) {
  return async ({ ack, body }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
    await ack(await deps.homeTab.onSubmission(body as unknown as ViewPayload));
  };
}
