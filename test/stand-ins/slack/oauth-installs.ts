/**
 * The stand-in's OAuth v2 installs: Slack's consent page (`/oauth/v2/authorize`, approved at once
 * as the next grant says), `oauth.v2.access` for the `authorization_code` and `refresh_token`
 * grants, and the tokens it issued (per workspace or org-wide, optionally rotating and expiring),
 * which FakeSlack accepts beside its own bot token. Uninstalls revoke them.
 *
 * @example
 * fake.oauth.redirectUri = `${botUrl}/slack/oauth_redirect`;   // the app's configured redirect URL
 * fake.oauth.nextInstall({ teamId: 'T0002' });                  // what the next person approves
 * fake.oauth.nextInstall({ enterpriseId: 'E0001', orgWide: true, tokenRotation: true, tokenLifetimeS: 600 });
 */
import { randomBytes } from 'node:crypto';
import { slackId } from './signed-delivery.ts';

export interface InstallGrant {
  /** The workspace installed into (ignored for an org-wide install). */
  teamId?: string;
  enterpriseId?: string;
  /** Installed on the whole Enterprise Grid org (`is_enterprise_install`). */
  orgWide?: boolean;
  /** The app has token rotation on: tokens expire and come with a refresh token. */
  tokenRotation?: boolean;
  /** Lifetime of the first token with rotation (Slack's: 12 hours). */
  tokenLifetimeS?: number;
  /** The person who installs. */
  userId?: string;
}

export interface IssuedToken {
  token: string;
  teamId: string | null;
  enterpriseId: string | null;
  isEnterpriseInstall: boolean;
  botUserId: string;
  botId: string;
  expiresAtMs: number | null;
  refreshToken: string | null;
  revoked: boolean;
}

type Body = { ok: boolean; error?: string; [key: string]: unknown };

export class OAuthInstalls {
  readonly clientId: string;
  readonly clientSecret: string;
  /** The app's configured redirect URL (used when the install request names none). */
  redirectUri: string | undefined;
  /** Lifetime of tokens issued by a refresh (Slack's: 12 hours). */
  refreshedLifetimeS = 12 * 3600;
  readonly tokens = new Map<string, IssuedToken>();
  /** Every scope requested on the consent page, by install. */
  readonly requestedScopes: string[][] = [];

  readonly #now: () => number;
  readonly #botUserId: string;
  readonly #botId: string;
  #next: InstallGrant = {};
  readonly #codes = new Map<string, InstallGrant>();
  readonly #refreshTokens = new Map<string, string>();

  constructor(options: {
    now: () => number;
    botUserId: string;
    botId: string;
    clientId?: string;
    clientSecret?: string;
  }) {
    this.#now = options.now;
    this.#botUserId = options.botUserId;
    this.#botId = options.botId;
    this.clientId = options.clientId ?? '1111.2222';
    this.clientSecret = options.clientSecret ?? 'fake-client-secret';
  }

  /** What the next approval on the consent page grants. */
  nextInstall(grant: InstallGrant): void {
    this.#next = grant;
  }

  /** GET /oauth/v2/authorize: the person approves; where their browser goes next. */
  authorize(url: URL): { status: number; location?: string; error?: string } {
    if (url.searchParams.get('client_id') !== this.clientId)
      return { status: 400, error: 'invalid_client_id' };
    const redirect = url.searchParams.get('redirect_uri') || this.redirectUri;
    if (!redirect) return { status: 400, error: 'bad_redirect_uri' };
    this.requestedScopes.push((url.searchParams.get('scope') ?? '').split(',').filter(Boolean));
    const code = `code-${randomBytes(8).toString('hex')}`;
    this.#codes.set(code, this.#next);
    const location = new URL(redirect);
    location.searchParams.set('code', code);
    const state = url.searchParams.get('state');
    if (state !== null) location.searchParams.set('state', state);
    return { status: 302, location: location.toString() };
  }

  /** `oauth.v2.access`: a code exchanged once, or a refresh token for a new token. */
  access(args: Record<string, unknown>): Body {
    if (args.client_id !== this.clientId || args.client_secret !== this.clientSecret)
      return { ok: false, error: 'invalid_client_id' };
    if (args.grant_type === 'refresh_token') return this.#refresh(String(args.refresh_token ?? ''));
    const grant = this.#codes.get(String(args.code ?? ''));
    if (!grant) return { ok: false, error: 'invalid_code' };
    this.#codes.delete(String(args.code));
    const orgWide = grant.orgWide === true;
    const issued = this.#issue({
      teamId: orgWide ? null : (grant.teamId ?? 'T0001'),
      enterpriseId: grant.enterpriseId ?? null,
      isEnterpriseInstall: orgWide,
      lifetimeS: grant.tokenRotation ? (grant.tokenLifetimeS ?? 12 * 3600) : null,
    });
    return {
      ok: true,
      app_id: 'A0001',
      authed_user: { id: grant.userId ?? 'U0001' },
      scope: (this.requestedScopes.at(-1) ?? []).join(','),
      token_type: 'bot',
      access_token: issued.token,
      bot_user_id: issued.botUserId,
      ...(issued.refreshToken
        ? { refresh_token: issued.refreshToken, expires_in: this.#expiresInS(issued) }
        : {}),
      team: orgWide ? null : { id: issued.teamId, name: `Workspace ${issued.teamId}` },
      enterprise: issued.enterpriseId
        ? { id: issued.enterpriseId, name: `Org ${issued.enterpriseId}` }
        : null,
      is_enterprise_install: orgWide,
    };
  }

  /** The install a token belongs to; undefined for a token this stand-in never issued. */
  tokenInfo(token: string): IssuedToken | undefined {
    return this.tokens.get(token);
  }

  /** Why a call with this issued token is refused, or null when it is good. */
  refusal(issued: IssuedToken): string | null {
    if (issued.revoked) return 'token_revoked';
    if (issued.expiresAtMs !== null && this.#now() >= issued.expiresAtMs) return 'token_expired';
    return null;
  }

  /** Revokes every token of a workspace, or of every install in an org (`orgWide`). */
  revoke(target: { teamId?: string; enterpriseId?: string; orgWide?: boolean }): void {
    for (const issued of this.tokens.values()) {
      const matches = target.orgWide
        ? issued.enterpriseId === (target.enterpriseId ?? null)
        : issued.teamId === (target.teamId ?? null);
      if (matches) issued.revoked = true;
    }
  }

  #refresh(refreshToken: string): Body {
    const token = this.#refreshTokens.get(refreshToken);
    const previous = token ? this.tokens.get(token) : undefined;
    if (!previous || previous.revoked) return { ok: false, error: 'invalid_refresh_token' };
    // A refresh token is spent by its use: a second refresh with it fails, as a race would.
    this.#refreshTokens.delete(refreshToken);
    const issued = this.#issue({ ...previous, lifetimeS: this.refreshedLifetimeS });
    return {
      ok: true,
      token_type: 'bot',
      access_token: issued.token,
      refresh_token: issued.refreshToken,
      expires_in: this.#expiresInS(issued),
    };
  }

  #issue(input: {
    teamId: string | null;
    enterpriseId: string | null;
    isEnterpriseInstall: boolean;
    lifetimeS: number | null;
  }): IssuedToken {
    const rotating = input.lifetimeS !== null;
    const issued: IssuedToken = {
      token: `${rotating ? 'xoxe.xoxb' : 'xoxb'}-${input.teamId ?? input.enterpriseId}-${randomBytes(8).toString('hex')}`,
      teamId: input.teamId,
      enterpriseId: input.enterpriseId,
      isEnterpriseInstall: input.isEnterpriseInstall,
      botUserId: this.#botUserId,
      botId: this.#botId,
      expiresAtMs: rotating ? this.#now() + (input.lifetimeS as number) * 1000 : null,
      refreshToken: rotating ? `xoxe-1-${slackId('', 16)}` : null,
      revoked: false,
    };
    this.tokens.set(issued.token, issued);
    if (issued.refreshToken) this.#refreshTokens.set(issued.refreshToken, issued.token);
    return issued;
  }

  #expiresInS(issued: IssuedToken): number {
    return Math.round(((issued.expiresAtMs ?? this.#now()) - this.#now()) / 1000);
  }
}
