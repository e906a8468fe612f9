/**
 * An MCP server that acts with each person's own OAuth token, for tests and the playground: the
 * SDK's server-side auth helpers (`mcpAuthRouter`: metadata, dynamic client registration,
 * authorization with PKCE, token and refresh; `requireBearerAuth` on `/mcp`) over an in-memory
 * provider, and an `McpServer` whose tools answer as the person the token belongs to.
 *
 * The consent page approves at once as the person `nextLogin` names (the "browser" is the test).
 *
 * @example
 * const tickets = await FakeMcpOAuthServer.start();
 * // MCP_CONFIG servers: [{ name: 'tickets', url: tickets.url, auth: 'user', tools: ['my_tickets'] }]
 * tickets.nextLogin = 'alice@tickets';             // who approves the next authorization
 * tickets.calls; // [{ tool: 'my_tickets', login: 'alice@tickets' }]
 * tickets.accessTokenLifetimeS = 1;                // short-lived tokens, to see refreshes
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OAuthRegisteredClientsStore } from '@modelcontextprotocol/sdk/server/auth/clients.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import type {
  AuthorizationParams,
  OAuthServerProvider,
} from '@modelcontextprotocol/sdk/server/auth/provider.js';
import { mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { OAuthClientInformationFull, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import express, { type Response } from 'express';

interface IssuedCode {
  clientId: string;
  login: string;
  challenge: string;
  redirectUri: string;
}

interface IssuedAccess {
  login: string;
  clientId: string;
  expiresAtS: number;
}

export interface RecordedOAuthToolCall {
  tool: string;
  /** The person whose token made the call. */
  login: string;
}

class InMemoryProvider implements OAuthServerProvider {
  readonly clients = new Map<string, OAuthClientInformationFull>();
  readonly codes = new Map<string, IssuedCode>();
  readonly access = new Map<string, IssuedAccess>();
  readonly refresh = new Map<string, { login: string; clientId: string }>();
  refreshes = 0;

  readonly fake: FakeMcpOAuthServer;

  constructor(fake: FakeMcpOAuthServer) {
    this.fake = fake;
  }

  get clientsStore(): OAuthRegisteredClientsStore {
    return {
      getClient: (clientId) => this.clients.get(clientId),
      registerClient: (client) => {
        const full = {
          ...client,
          client_id: `client-${randomUUID()}`,
          client_id_issued_at: Math.floor(Date.now() / 1000),
        };
        this.clients.set(full.client_id, full);
        return full;
      },
    };
  }

  async authorize(
    client: OAuthClientInformationFull,
    params: AuthorizationParams,
    res: Response,
  ): Promise<void> {
    const code = `code-${randomBytes(8).toString('hex')}`;
    this.codes.set(code, {
      clientId: client.client_id,
      login: this.fake.nextLogin,
      challenge: params.codeChallenge,
      redirectUri: params.redirectUri,
    });
    const target = new URL(params.redirectUri);
    target.searchParams.set('code', code);
    if (params.state !== undefined) target.searchParams.set('state', params.state);
    res.redirect(302, target.toString());
  }

  async challengeForAuthorizationCode(_client: OAuthClientInformationFull, code: string): Promise<string> {
    const issued = this.codes.get(code);
    if (!issued) throw new Error('invalid authorization code');
    return issued.challenge;
  }

  async exchangeAuthorizationCode(client: OAuthClientInformationFull, code: string): Promise<OAuthTokens> {
    const issued = this.codes.get(code);
    if (!issued || issued.clientId !== client.client_id) throw new Error('invalid authorization code');
    this.codes.delete(code);
    return this.#tokens(issued.login, client.client_id);
  }

  async exchangeRefreshToken(client: OAuthClientInformationFull, refreshToken: string): Promise<OAuthTokens> {
    const found = this.refresh.get(refreshToken);
    if (!found || found.clientId !== client.client_id) throw new Error('invalid refresh token');
    this.refresh.delete(refreshToken);
    this.refreshes += 1;
    return this.#tokens(found.login, client.client_id);
  }

  async verifyAccessToken(token: string): Promise<AuthInfo> {
    const found = this.access.get(token);
    if (!found) throw new Error('unknown token');
    return {
      token,
      clientId: found.clientId,
      scopes: [],
      expiresAt: found.expiresAtS,
      extra: { login: found.login },
    };
  }

  #tokens(login: string, clientId: string): OAuthTokens {
    const accessToken = `at-${randomBytes(12).toString('hex')}`;
    const refreshToken = `rt-${randomBytes(12).toString('hex')}`;
    const lifetime = this.fake.accessTokenLifetimeS;
    this.access.set(accessToken, { login, clientId, expiresAtS: Math.floor(Date.now() / 1000) + lifetime });
    this.refresh.set(refreshToken, { login, clientId });
    return {
      access_token: accessToken,
      token_type: 'bearer',
      expires_in: lifetime,
      refresh_token: refreshToken,
    };
  }
}

export class FakeMcpOAuthServer {
  /** The person the next authorization is approved as. */
  nextLogin = 'alice@tickets';
  /** Lifetime of access tokens issued from now on. */
  accessTokenLifetimeS = 3600;
  readonly calls: RecordedOAuthToolCall[] = [];
  url = '';
  baseUrl = '';
  readonly #provider = new InMemoryProvider(this);
  #http: Server | null = null;

  static async start(): Promise<FakeMcpOAuthServer> {
    const fake = new FakeMcpOAuthServer();
    await fake.#listen();
    return fake;
  }

  /** Clients registered dynamically (RFC 7591). */
  get registeredClients(): number {
    return this.#provider.clients.size;
  }

  /** Refresh-token grants served. */
  get refreshes(): number {
    return this.#provider.refreshes;
  }

  async stop(): Promise<void> {
    const http = this.#http;
    this.#http = null;
    if (!http) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  async #listen(): Promise<void> {
    const app = express();
    const http = await new Promise<Server>((resolve, reject) => {
      const server = app.listen(0, '127.0.0.1', () => resolve(server));
      server.once('error', reject);
    });
    this.#http = http;
    this.baseUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    this.url = `${this.baseUrl}/mcp`;
    const noRateLimit = { rateLimit: false as const };
    app.use(
      mcpAuthRouter({
        provider: this.#provider,
        issuerUrl: new URL(this.baseUrl),
        resourceServerUrl: new URL(this.url),
        authorizationOptions: noRateLimit,
        clientRegistrationOptions: noRateLimit,
        tokenOptions: noRateLimit,
        revocationOptions: noRateLimit,
      }),
    );
    const bearer = requireBearerAuth({
      verifier: this.#provider,
      resourceMetadataUrl: `${this.baseUrl}/.well-known/oauth-protected-resource/mcp`,
    });
    // Stateless: each request its own server and transport, as the person its token names.
    app.post('/mcp', express.json(), bearer, async (req, res) => {
      const login = String((req as { auth?: AuthInfo }).auth?.extra?.login ?? '');
      const server = this.#serverFor(login);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, req.body);
    });
    app.all('/mcp', bearer, (_req, res) => {
      res
        .status(405)
        .json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
    });
  }

  #serverFor(login: string): McpServer {
    const server = new McpServer({ name: 'fake-tickets', version: '1.0.0' });
    server.registerTool(
      'my_tickets',
      { description: 'Lists the open tickets of the person asking. Read-only.', inputSchema: {} },
      async () => {
        this.calls.push({ tool: 'my_tickets', login });
        return {
          content: [{ type: 'text', text: `Open tickets of ${login}: TCK-7 (laptop), TCK-9 (VPN).` }],
        };
      },
    );
    return server;
  }
}
