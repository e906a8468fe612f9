/**
 * Bolt's InstallationStore on our InstallationRecords: every installation sealed at rest (AES-GCM,
 * see token-sealer.ts), cached in-process so that answering costs no store round trip in steady
 * state, and rotating bot tokens refreshed ahead of expiry by one replica at a time (a lock in the
 * store; the others wait for its result and read it back).
 *
 * Bolt refreshes tokens itself when `fetchInstallation` returns a refresh token that expires within
 * two hours, with no lock across replicas. This store refreshes earlier (`refreshBeforeS`) and hands
 * Bolt the installation without the refresh token, so rotation happens here only.
 */
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import { LRUCache } from 'lru-cache';
import type { InstallationRecords } from './installation-records.ts';
import type { TokenSealer } from './token-sealer.ts';

/** What `oauth.v2.access` with `grant_type=refresh_token` answers. */
export interface RefreshedToken {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

export interface InstallationStoreOptions {
  records: InstallationRecords;
  sealer: TokenSealer;
  /** Exchanges a refresh token for a new token (oauth.v2.access). */
  refresh: (refreshToken: string) => Promise<RefreshedToken>;
  /** How long a replica keeps an installation before reading it again (uninstalls elsewhere). */
  cacheTtlMs?: number;
  /** Refresh a rotating token this long before it expires (Bolt's own check is at two hours). */
  refreshBeforeS?: number;
  /** How long a replica waits for another's refresh before giving up (the old token still works). */
  refreshWaitMs?: number;
  now?: () => number;
  logger?: { info(details: object, message: string): void; warn(details: object, message: string): void };
}

const DEFAULT_CACHE_TTL_MS = 60_000;
const DEFAULT_REFRESH_BEFORE_S = 3 * 3600;
const REFRESH_LOCK_MS = 15_000;

/** The record key of an installation: `<enterprise or ->:<team or ->`; org-wide installs have no team. */
export function installationKey(query: {
  enterpriseId?: string | undefined;
  teamId?: string | undefined;
  isEnterpriseInstall?: boolean | undefined;
}): string {
  if (query.isEnterpriseInstall) return `${query.enterpriseId ?? '-'}:-`;
  return `${query.enterpriseId ?? '-'}:${query.teamId ?? '-'}`;
}

export class SealedInstallationStore implements InstallationStore {
  readonly #options: InstallationStoreOptions;
  readonly #cache: LRUCache<string, Installation>;
  readonly #now: () => number;

  constructor(options: InstallationStoreOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#cache = new LRUCache({ max: 10_000, ttl: options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS });
  }

  async storeInstallation(installation: Installation): Promise<void> {
    const key = installationKey({
      enterpriseId: installation.enterprise?.id,
      teamId: installation.team?.id,
      isEnterpriseInstall: installation.isEnterpriseInstall === true,
    });
    await this.#write(key, installation);
    this.#options.logger?.info(
      { enterpriseId: installation.enterprise?.id ?? null, teamId: installation.team?.id ?? null },
      'installation stored',
    );
  }

  async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation> {
    const found = await this.find(query);
    if (!found) throw new Error(`no installation for ${installationKey(query)}`);
    // Rotation is done here (see the file comment): Bolt gets the token without its refresh token.
    if (!found.bot) return found;
    const { refreshToken: _refresh, expiresAt: _expires, ...bot } = found.bot;
    return { ...found, bot };
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    const key = installationKey(query);
    this.#cache.delete(key);
    await this.#options.records.delete(key);
  }

  /**
   * The installation that serves `query` (the workspace's own, else its org's org-wide one),
   * its bot token refreshed when due; null when there is none.
   */
  async find(query: InstallationQuery<boolean>): Promise<Installation | null> {
    const keys = query.isEnterpriseInstall
      ? [installationKey(query)]
      : [
          installationKey(query),
          ...(query.enterpriseId ? [installationKey({ ...query, isEnterpriseInstall: true })] : []),
        ];
    for (const key of keys) {
      const installation = this.#cache.get(key) ?? (await this.#read(key));
      if (!installation) continue;
      return this.#due(installation) ? this.#refreshed(key, installation) : installation;
    }
    return null;
  }

  async #read(key: string): Promise<Installation | null> {
    const sealed = await this.#options.records.get(key);
    if (sealed === null) return null;
    const installation = JSON.parse(this.#options.sealer.open(sealed, key)) as Installation;
    this.#cache.set(key, installation);
    // A key put in front of the list: seal this one again under it (old keys can then be dropped).
    if (this.#options.sealer.isStale(sealed))
      await this.#write(key, installation).catch((err: unknown) =>
        this.#options.logger?.warn({ err, key }, 'could not re-seal an installation under the newest key'),
      );
    return installation;
  }

  async #write(key: string, installation: Installation): Promise<void> {
    await this.#options.records.set(key, this.#options.sealer.seal(JSON.stringify(installation), key));
    this.#cache.set(key, installation);
  }

  #due(installation: Installation): boolean {
    const expiresAt = installation.bot?.expiresAt;
    if (!installation.bot?.refreshToken || expiresAt === undefined) return false;
    return expiresAt - this.#now() / 1000 <= (this.#options.refreshBeforeS ?? DEFAULT_REFRESH_BEFORE_S);
  }

  /** Refreshes under the lock, or waits for the replica that holds it; the freshest token found. */
  async #refreshed(key: string, installation: Installation): Promise<Installation> {
    const { records, logger } = this.#options;
    const deadlineMs = this.#now() + (this.#options.refreshWaitMs ?? 5_000);
    for (;;) {
      const token = await records.lock(key, REFRESH_LOCK_MS);
      if (token !== null) {
        try {
          this.#cache.delete(key);
          // Another replica may have refreshed between our read and our lock.
          const current = (await this.#read(key)) ?? installation;
          if (!this.#due(current) || !current.bot?.refreshToken) return current;
          const fresh = await this.#options.refresh(current.bot.refreshToken).catch((err: unknown) => {
            // The current token works until it expires: answer with it, try again on the next event.
            logger?.warn({ err, key }, 'bot token refresh failed; using the current token');
            return null;
          });
          if (!fresh) return current;
          const updated: Installation = {
            ...current,
            bot: {
              ...current.bot,
              token: fresh.access_token,
              refreshToken: fresh.refresh_token,
              expiresAt: Math.floor(this.#now() / 1000) + fresh.expires_in,
            },
          };
          await this.#write(key, updated);
          logger?.info({ key }, 'bot token refreshed');
          return updated;
        } finally {
          await records.unlock(key, token).catch(() => undefined);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      this.#cache.delete(key);
      const current = await this.#read(key);
      if (current && !this.#due(current)) return current;
      if (this.#now() >= deadlineMs) {
        logger?.warn({ key }, 'another replica is still refreshing the bot token; using the current one');
        return current ?? installation;
      }
    }
  }
}
