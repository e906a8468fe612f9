/**
 * MCP servers marked `auth: user`: each person connects their own account (MCP's authorization
 * spec: OAuth 2.1 with PKCE, and dynamic client registration unless a client is configured), all
 * through the SDK's client auth (`auth()` and an `OAuthClientProvider` kept in the store), and the
 * server is then called with that person's token, refreshed by the SDK when it expires.
 *
 * The `state` of each authorization names the Slack person and server, signed (HMAC) and short
 * lived, and must match the pending flow kept for it: a callback for someone else is refused.
 * Tokens and registrations are sealed at rest (AES-GCM, see store/token-sealer.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { auth, type OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../logger.ts';
import type { McpServerConfig } from './tool-config.ts';

/** Sealed text by key (the installation records' shape: Redis or in process). */
export interface SecretRecords {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface Sealer {
  seal(plain: string, aad: string): string;
  open(text: string, aad: string): string;
}

export interface McpUserAuthOptions {
  records: SecretRecords;
  sealer: Sealer;
  /** The public URL of `/mcp/oauth/callback`. */
  callbackUrl: string;
  /** Signs each authorization's `state`. */
  stateSecret: string;
  logger: Logger;
  now?: () => number;
}

export const MCP_CALLBACK_PATH = '/mcp/oauth/callback';
const FLOW_TTL_MS = 10 * 60_000;

/** A connection attempt whose callback did not verify: the person is told, nothing is stored. */
export class ConnectionRefusedError extends Error {
  override readonly name = 'ConnectionRefusedError';
}

interface Flow {
  person: string;
  server: string;
  verifier: string;
}

export class McpUserAuth {
  readonly #options: McpUserAuthOptions;
  readonly #now: () => number;
  /** Connected clients by person and server (closed when dropped). */
  readonly #clients = new LRUCache<string, Client>({
    max: 500,
    ttl: 10 * 60_000,
    dispose: (client) => void client.close().catch(() => undefined),
  });

  constructor(options: McpUserAuthOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The authorization URL a person opens to connect `server` (registers the client first if needed). */
  async connectUrl(person: string, server: McpServerConfig): Promise<string> {
    const nonce = randomBytes(16).toString('base64url');
    const state = this.#signState({ p: person, s: server.name, n: nonce, e: this.#now() + FLOW_TTL_MS });
    const provider = this.#provider(person, server, { state });
    const result = await auth(provider, { serverUrl: serverUrlOf(server) });
    if (result !== 'REDIRECT' || !provider.authorizationUrl || !provider.verifier)
      throw new Error(`${server.name} did not ask for an authorization`);
    const flow: Flow = { person, server: server.name, verifier: provider.verifier };
    await this.#put(`flow:${nonce}`, JSON.stringify(flow));
    return provider.authorizationUrl.toString();
  }

  /** The callback: checks the state against the pending flow, exchanges the code, keeps the tokens. */
  async complete(
    code: string,
    state: string,
    servers: McpServerConfig[],
  ): Promise<{ person: string; server: string }> {
    const claims = this.#verifyState(state);
    const flowKey = `flow:${claims.n}`;
    const raw = await this.#take(flowKey);
    if (!raw) throw new ConnectionRefusedError('this connection link was used already or has expired');
    const flow = JSON.parse(raw) as Flow;
    if (flow.person !== claims.p || flow.server !== claims.s)
      throw new ConnectionRefusedError('this connection link belongs to someone else');
    const server = servers.find((candidate) => candidate.name === flow.server);
    if (!server) throw new ConnectionRefusedError('this tool server is no longer configured');
    const provider = this.#provider(flow.person, server, { verifier: flow.verifier });
    const result = await auth(provider, { serverUrl: serverUrlOf(server), authorizationCode: code });
    if (result !== 'AUTHORIZED') throw new ConnectionRefusedError('the tool server did not issue a token');
    this.#clients.delete(clientKey(flow.person, server.name));
    this.#options.logger.info({ server: server.name }, 'a person connected a tool server');
    return { person: flow.person, server: server.name };
  }

  /** Whether the person has tokens for the server. */
  async connected(person: string, server: string): Promise<boolean> {
    return (await this.#options.records.get(tokensKey(person, server))) !== null;
  }

  async disconnect(person: string, server: string): Promise<void> {
    this.#clients.delete(clientKey(person, server));
    await this.#options.records.delete(tokensKey(person, server));
  }

  /** A client connected as the person, or null when they have not connected (or their grant is gone). */
  async clientFor(person: string, server: McpServerConfig): Promise<Client | null> {
    const key = clientKey(person, server.name);
    const cached = this.#clients.get(key);
    if (cached) return cached;
    if (!(await this.connected(person, server.name))) return null;
    const client = new Client({ name: 'bedrock-slack-assistant', version: '1.0.0' });
    const transport = new StreamableHTTPClientTransport(serverUrlOf(server), {
      authProvider: this.#provider(person, server, {}),
      requestInit: { headers: server.headers },
    });
    try {
      await client.connect(transport);
    } catch (error) {
      await client.close().catch(() => undefined);
      // Refused although refreshed: the grant was revoked. The person connects again.
      if ((error as Error).name === 'UnauthorizedError') {
        await this.disconnect(person, server.name);
        return null;
      }
      throw error;
    }
    this.#clients.set(key, client);
    return client;
  }

  /** Drops the cached client after a call failed for want of authorization (the next call reconnects). */
  forget(person: string, server: string): void {
    this.#clients.delete(clientKey(person, server));
  }

  async close(): Promise<void> {
    this.#clients.clear();
  }

  #provider(
    person: string,
    server: McpServerConfig,
    flow: { state?: string; verifier?: string },
  ): OAuthClientProvider & { authorizationUrl?: URL; verifier?: string } {
    const self = this;
    const { callbackUrl } = this.#options;
    const configured = server.oauth?.clientId
      ? {
          client_id: server.oauth.clientId,
          ...(server.oauth.clientSecret ? { client_secret: server.oauth.clientSecret } : {}),
        }
      : undefined;
    const provider: OAuthClientProvider & { authorizationUrl?: URL; verifier?: string } = {
      get redirectUrl() {
        return callbackUrl;
      },
      get clientMetadata() {
        return clientMetadataFor(server, callbackUrl);
      },
      state: () => flow.state ?? '',
      async clientInformation() {
        if (configured) return configured;
        const raw = await self.#get(`client:${server.name}`);
        return raw ? (JSON.parse(raw) as OAuthClientInformationMixed) : undefined;
      },
      async saveClientInformation(information) {
        await self.#put(`client:${server.name}`, JSON.stringify(information));
      },
      async tokens() {
        const raw = await self.#get(tokensKey(person, server.name));
        return raw ? (JSON.parse(raw) as OAuthTokens) : undefined;
      },
      async saveTokens(tokens) {
        await self.#put(tokensKey(person, server.name), JSON.stringify(tokens));
      },
      redirectToAuthorization(url) {
        provider.authorizationUrl = url;
      },
      saveCodeVerifier(verifier) {
        provider.verifier = verifier;
      },
      codeVerifier() {
        if (!flow.verifier) throw new Error('no authorization in progress');
        return flow.verifier;
      },
      async invalidateCredentials(scope) {
        if (scope === 'all' || scope === 'tokens')
          await self.#options.records.delete(tokensKey(person, server.name));
        if ((scope === 'all' || scope === 'client') && !configured)
          await self.#options.records.delete(`client:${server.name}`);
      },
    };
    return provider;
  }

  async #get(key: string): Promise<string | null> {
    const sealed = await this.#options.records.get(key);
    return sealed === null ? null : this.#options.sealer.open(sealed, `mcp:${key}`);
  }

  async #put(key: string, plain: string): Promise<void> {
    await this.#options.records.set(key, this.#options.sealer.seal(plain, `mcp:${key}`));
  }

  async #take(key: string): Promise<string | null> {
    const value = await this.#get(key);
    if (value !== null) await this.#options.records.delete(key);
    return value;
  }

  #signState(claims: { p: string; s: string; n: string; e: number }): string {
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.#mac(body)}`;
  }

  #verifyState(state: string): { p: string; s: string; n: string; e: number } {
    const [body, mac] = state.split('.');
    if (!body || !mac) throw new ConnectionRefusedError('the connection link is not valid');
    const expected = Buffer.from(this.#mac(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given))
      throw new ConnectionRefusedError('the connection link is not valid');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as {
      p: string;
      s: string;
      n: string;
      e: number;
    };
    if (claims.e < this.#now()) throw new ConnectionRefusedError('the connection link has expired');
    return claims;
  }

  #mac(body: string): string {
    return createHmac('sha256', this.#options.stateSecret).update(body).digest('base64url');
  }
}

/** What the bot registers as (dynamic client registration): a public client with PKCE. */
function clientMetadataFor(server: McpServerConfig, callbackUrl: string): OAuthClientMetadata {
  return {
    client_name: 'Bedrock Slack assistant',
    redirect_uris: [callbackUrl],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    ...(server.oauth?.scopes ? { scope: server.oauth.scopes.join(' ') } : {}),
  };
}

function serverUrlOf(server: McpServerConfig): URL {
  return new URL(server.url ?? '');
}

function tokensKey(person: string, server: string): string {
  return `tokens:${server}:${person}`;
}

function clientKey(person: string, server: string): string {
  return `${person}\u0000${server}`;
}
