/**
 * The workspace an event belongs to, for the whole of its handling: Bolt's authorize found the
 * installation, a global middleware runs the listeners inside `inWorkspace`, and the adapters read
 * it back (the Web API token, the store's key prefix) without every call passing it along.
 * AsyncLocalStorage carries it through awaits, timers and streams started while handling the event.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context } from '@slack/bolt';

export interface Workspace {
  /** Enterprise Grid org (`E…`), or null outside one. */
  enterpriseId: string | null;
  /** The workspace (`T…`); null only for an org-wide event that names no workspace. */
  teamId: string | null;
  /** The installation's bot token. */
  botToken?: string;
  botUserId?: string | null;
  botId?: string | null;
}

const current = new AsyncLocalStorage<Workspace>();

export function inWorkspace<T>(workspace: Workspace, run: () => T): T {
  return current.run(workspace, run);
}

export function currentWorkspace(): Workspace | undefined {
  return current.getStore();
}

/** The workspace Bolt's authorize found for an incoming payload. */
export function workspaceOf(context: Context): Workspace {
  return {
    enterpriseId: context.enterpriseId ?? null,
    teamId: context.teamId ?? null,
    ...(context.botToken ? { botToken: context.botToken } : {}),
    botUserId: context.botUserId ?? null,
    botId: context.botId ?? null,
  };
}
