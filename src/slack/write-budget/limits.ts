/** Slack's write limits per method, and what Slack counts each one by. */
export interface MethodLimit {
  /** Calls Slack allows in one window: its tier's documented floor. */
  perWindow: number;
  windowMs: number;
  /** Counted per channel (chat.postMessage) instead of per workspace. */
  perChannel: boolean;
  /**
   * Share of the allowance that intermediate writes (appends, edits) leave for stream starts and
   * final writes of the same method.
   */
  reserveShare: number;
}

/** Slack's limits per method (PLATFORM-FACTS): Tier 2 20 a minute, Tier 3 50, Tier 4 100. */
export const SLACK_WRITE_LIMITS: Readonly<Record<string, MethodLimit>> = {
  'chat.startStream': { perWindow: 20, windowMs: 60_000, perChannel: false, reserveShare: 0 },
  'chat.stopStream': { perWindow: 20, windowMs: 60_000, perChannel: false, reserveShare: 0 },
  'chat.appendStream': { perWindow: 100, windowMs: 60_000, perChannel: false, reserveShare: 0 },
  'chat.update': { perWindow: 50, windowMs: 60_000, perChannel: false, reserveShare: 0.1 },
  'agents.sessions.setStatus': { perWindow: 50, windowMs: 60_000, perChannel: false, reserveShare: 0 },
  // About one a second per channel, with short bursts: at most 10 in any 10 seconds.
  'chat.postMessage': { perWindow: 10, windowMs: 10_000, perChannel: true, reserveShare: 0 },
};

/** What Slack counts a method's limit by: the workspace, or for some methods the channel. */
export function bucketKey(teamId: string, method: string, channelId: string): string {
  const limit = SLACK_WRITE_LIMITS[method];
  // One hash tag per workspace: a call touching several of its buckets stays on one Cluster slot.
  return limit?.perChannel ? `{budget:${teamId}}:${method}:${channelId}` : `{budget:${teamId}}:${method}`;
}
