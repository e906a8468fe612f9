/**
 * Who may change channel settings: the user ids in `SETTINGS_ADMIN_USER_IDS`, and the members of
 * the user group in `SETTINGS_ADMIN_USERGROUP_ID` (`usergroups.users.list`, kept a minute, so a
 * removed member loses access within a minute). When Slack cannot say, the answer is no.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.ts';
import type { SlackApi } from './slack-api.ts';

const GROUP_TTL_MS = 60_000;

export class SlackAdmins {
  readonly #userIds: ReadonlySet<string>;
  readonly #usergroupId: string | null;
  readonly #slack: SlackApi;
  readonly #logger: Logger;
  /** Members by workspace (one user group id, but an org-wide app sees several workspaces). */
  readonly #members = new LRUCache<string, Promise<ReadonlySet<string>>>({ max: 100, ttl: GROUP_TTL_MS });

  constructor(options: { userIds: string[]; usergroupId: string | null; slack: SlackApi; logger: Logger }) {
    this.#userIds = new Set(options.userIds);
    this.#usergroupId = options.usergroupId;
    this.#slack = options.slack;
    this.#logger = options.logger;
  }

  /** Whether anyone can change settings at all (else the Home tab says how to name admins). */
  get configured(): boolean {
    return this.#userIds.size > 0 || this.#usergroupId !== null;
  }

  async isAdmin(teamId: string, userId: string): Promise<boolean> {
    if (this.#userIds.has(userId)) return true;
    if (!this.#usergroupId) return false;
    return (await this.#groupMembers(teamId)).has(userId);
  }

  #groupMembers(teamId: string): Promise<ReadonlySet<string>> {
    const cached = this.#members.get(teamId);
    if (cached) return cached;
    const members = this.#slack
      .call<{ users?: string[] }>('usergroups.users.list', { usergroup: this.#usergroupId, team_id: teamId })
      .then((result) => new Set(result.users ?? []) as ReadonlySet<string>)
      .catch((err: unknown) => {
        // Not cached: the next check asks Slack again.
        this.#members.delete(teamId);
        this.#logger.warn({ err }, 'could not read the admins user group; nobody from it counts as an admin');
        return new Set<string>() as ReadonlySet<string>;
      });
    this.#members.set(teamId, members);
    return members;
  }
}
