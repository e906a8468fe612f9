/**
 * The Toolbox port on MCP servers, through the official SDK client: each configured server is
 * connected at start (Streamable HTTP, or stdio for a local one), its tools are listed then and
 * again whenever it says they changed, and calls go to it with the answer's AbortSignal and a
 * timeout. A server that is down is left out (the answer says so in one line) and reconnected in
 * the background with backoff, so it is used again once it is back.
 *
 * Tools reach the model as `<server>__<tool>`: unique across servers and within Converse's name rule.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Toolbox, ToolCallOptions, ToolOutcome, ToolSource, ToolSpec } from '../conversation/ports.ts';
import type { Logger } from '../logger.ts';
import type { McpUserAuth } from './mcp-user-auth.ts';
import type { McpServerConfig, ToolConfig } from './tool-config.ts';

/** For servers with `auth: user`: who the asker is to the store, and how they are offered to connect. */
export interface PersonalToolAccess {
  auth: McpUserAuth;
  /** The asker's key (workspace and user): tokens are kept per person. */
  personOf: (userId: string) => string;
  /** Shows the asker, privately, a button that opens `url` to connect `server`. */
  offerConnect: (offer: {
    userId: string;
    channelId?: string;
    threadTs?: string;
    server: string;
    url: string;
  }) => Promise<void>;
}

export interface McpToolboxOptions {
  config: ToolConfig;
  logger: Logger;
  /** Needed when a server has `auth: user`. */
  personal?: PersonalToolAccess;
  /** First reconnect delay after a server went down; doubles up to 30 s. */
  reconnectDelayMs?: number;
}

interface ListedTool {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  annotations?: { title?: string };
}

interface ServerState {
  config: McpServerConfig;
  client: Client | null;
  tools: ListedTool[];
  up: boolean;
  /** The outage has been logged (one line per outage). */
  reported: boolean;
  delayMs: number;
  timer: NodeJS.Timeout | null;
}

const MAX_RECONNECT_DELAY_MS = 30_000;
const SEPARATOR = '__';

export class McpToolbox implements Toolbox {
  readonly #options: McpToolboxOptions;
  readonly #servers: ServerState[];
  #closed = false;

  constructor(options: McpToolboxOptions) {
    this.#options = options;
    this.#servers = options.config.servers.map((config) => ({
      config,
      client: null,
      // A personal server is called per person: its named tools are offered before anyone connected.
      tools: config.auth === 'user' ? (config.tools ?? []).map(namedTool) : [],
      up: config.auth === 'user',
      reported: false,
      delayMs: options.reconnectDelayMs ?? 1_000,
      timer: null,
    }));
  }

  /** Connects every server once (a down one is retried in the background); never rejects. */
  async start(): Promise<void> {
    await Promise.all(
      this.#servers.filter((server) => server.config.auth !== 'user').map((server) => this.#connect(server)),
    );
  }

  toolsFor(channelId: string): ToolSpec[] {
    return this.#servers.flatMap((server) => {
      const { config } = server;
      if (!server.up || (config.channels && !config.channels.includes(channelId))) return [];
      return server.tools
        .filter((tool) => !config.tools || config.tools.includes(tool.name))
        .map((tool) => ({
          name: modelName(config.name, tool.name),
          title: tool.annotations?.title ?? tool.title ?? humanize(tool.name),
          description: tool.description ?? tool.name,
          inputSchema: tool.inputSchema,
          needsApproval: Object.hasOwn(config.approval, tool.name),
          ...(Object.hasOwn(config.approval, tool.name) ? { approvedBy: config.approval[tool.name] } : {}),
        }));
    });
  }

  owns(name: string): boolean {
    return this.#find(name) !== null;
  }

  unavailable(channelId: string): string[] {
    return this.#servers
      .filter(
        (server) => !server.up && (!server.config.channels || server.config.channels.includes(channelId)),
      )
      .map((server) => server.config.name);
  }

  async call(name: string, input: unknown, options: ToolCallOptions): Promise<ToolOutcome> {
    const found = this.#find(name);
    if (found?.server.config.auth === 'user')
      return this.#callAsPerson(found.server, found.tool, input, options);
    const client = found?.server.client;
    if (!found || !client)
      return { status: 'error', text: `The tool ${name} is not available now.`, sources: [] };
    return this.#invoke(client, found.tool, input, options, { failed: 'tool call failed', tool: name });
  }

  /**
   * One call on a connected server, within the answer's signal and the tool timeout; a failure
   * becomes an error outcome the model reads (`onFailure` first, e.g. to drop a cached client).
   */
  async #invoke(
    client: Client,
    tool: string,
    input: unknown,
    options: ToolCallOptions,
    log: { failed: string } & Record<string, string>,
    onFailure?: () => void,
  ): Promise<ToolOutcome> {
    const signal = AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);
    try {
      const result = await client.callTool(
        { name: tool, arguments: (input ?? {}) as Record<string, unknown> },
        undefined,
        { signal, timeout: options.timeoutMs },
      );
      return this.#outcome(result as { content?: unknown[]; isError?: boolean });
    } catch (error) {
      onFailure?.();
      if (options.signal.aborted) return { status: 'error', text: 'The call was cancelled.', sources: [] };
      if (signal.aborted)
        return { status: 'error', text: `The tool took longer than ${options.timeoutMs} ms.`, sources: [] };
      const { failed, ...where } = log;
      this.#options.logger.warn({ err: error, ...where }, failed);
      return {
        status: 'error',
        text: `The tool failed: ${(error as Error).message}`.slice(0, 500),
        sources: [],
      };
    }
  }

  /**
   * A personal server's tool, called with the asker's own token; an asker who has not connected is
   * sent a private Connect button instead, and the model is told so (the answer goes on).
   */
  async #callAsPerson(
    server: ServerState,
    tool: string,
    input: unknown,
    options: ToolCallOptions,
  ): Promise<ToolOutcome> {
    const personal = this.#options.personal;
    const asker = options.asker;
    const name = server.config.name;
    if (!personal || !asker)
      return { status: 'error', text: `The tool ${tool} needs to know who asks.`, sources: [] };
    const person = personal.personOf(asker.userId);
    let client: Client | null;
    try {
      client = await personal.auth.clientFor(person, server.config);
    } catch (error) {
      this.#options.logger.warn({ err: error, server: name }, 'could not reach a personal tool server');
      return { status: 'error', text: `The tool server ${name} cannot be reached now.`, sources: [] };
    }
    if (!client) {
      const url = await personal.auth.connectUrl(person, server.config);
      await personal.offerConnect({
        userId: asker.userId,
        ...(asker.channelId ? { channelId: asker.channelId } : {}),
        ...(asker.threadTs ? { threadTs: asker.threadTs } : {}),
        server: name,
        url,
      });
      return {
        status: 'success',
        text: `Not connected: the person asking has not connected their ${name} account yet, so ${tool} was not called. They have been sent a private button to connect. Answer with what you have and tell them they can ask again once connected.`,
        sources: [],
      };
    }
    if (server.tools.every((listed) => listed.inputSchema === ANY_INPUT))
      await this.#list(server, client).catch(() => undefined);
    const log = { failed: 'personal tool call failed', tool, server: name };
    // A failed call may be an authorization gone stale: the next call reconnects.
    return this.#invoke(client, tool, input, options, log, () => personal.auth.forget(person, name));
  }

  async close(): Promise<void> {
    await this.#options.personal?.auth.close();
    this.#closed = true;
    for (const server of this.#servers) {
      if (server.timer) clearTimeout(server.timer);
      const client = server.client;
      server.client = null;
      server.up = false;
      await client?.close().catch(() => undefined);
    }
  }

  #find(name: string): { server: ServerState; tool: string } | null {
    const at = name.indexOf(SEPARATOR);
    if (at < 0) return null;
    const server = this.#servers.find((s) => s.config.name === name.slice(0, at));
    const tool = server?.tools.find((t) => modelName(server.config.name, t.name) === name)?.name;
    if (!server || !tool) return null;
    if (server.config.tools && !server.config.tools.includes(tool)) return null;
    return { server, tool };
  }

  /** Text for the model (bounded), links as sources; an `isError` result is an error step. */
  #outcome(result: { content?: unknown[]; isError?: boolean }): ToolOutcome {
    const texts: string[] = [];
    const sources: ToolSource[] = [];
    for (const block of (result.content ?? []) as Array<Record<string, unknown>>) {
      if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
      else if (block.type === 'resource_link' && typeof block.uri === 'string') {
        if (/^https?:\/\//i.test(block.uri))
          sources.push({ url: block.uri, title: String(block.name ?? block.uri) });
        texts.push(`(link: ${String(block.name ?? '')} ${block.uri})`);
      } else if (block.type === 'resource') {
        const resource = block.resource as { text?: unknown; uri?: unknown } | undefined;
        if (typeof resource?.text === 'string') texts.push(resource.text);
      } else texts.push(`(a ${String(block.type)} result the bot does not pass on)`);
    }
    const max = this.#options.config.maxResultChars;
    const joined = texts.join('\n');
    const text = joined.length > max ? `${joined.slice(0, max)}\n…(cut at ${max} characters)` : joined;
    return { status: result.isError ? 'error' : 'success', text: text || '(no output)', sources };
  }

  async #connect(server: ServerState): Promise<void> {
    if (this.#closed) return;
    const { config } = server;
    const client = new Client({ name: 'bedrock-slack-assistant', version: '1.0.0' });
    try {
      const transport = config.url
        ? new StreamableHTTPClientTransport(new URL(config.url), { requestInit: { headers: config.headers } })
        : new StdioClientTransport({
            command: config.command?.[0] ?? '',
            args: config.command?.slice(1) ?? [],
            // Never the bot's own environment (its tokens, AWS keys, other servers' secrets): the
            // SDK's safe defaults (PATH, HOME, …) and exactly the variables the config names.
            env: { ...getDefaultEnvironment(), ...config.env },
            stderr: 'ignore',
          });
      client.setNotificationHandler(ToolListChangedNotificationSchema, async () => {
        await this.#list(server, client).catch((err: unknown) =>
          this.#options.logger.warn({ err, server: config.name }, 'could not list the changed tools'),
        );
      });
      client.onclose = () => this.#down(server, client, 'connection closed');
      await client.connect(transport);
      await this.#list(server, client);
      server.client = client;
      server.up = true;
      server.reported = false;
      server.delayMs = this.#options.reconnectDelayMs ?? 1_000;
      this.#options.logger.info({ server: config.name, tools: server.tools.length }, 'tool server connected');
    } catch (error) {
      await client.close().catch(() => undefined);
      this.#down(server, client, (error as Error).message);
    }
  }

  async #list(server: ServerState, client: Client): Promise<void> {
    const tools: ListedTool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined);
      tools.push(...(page.tools as ListedTool[]));
      cursor = page.nextCursor;
    } while (cursor);
    // A personal server offers only its configured tools, now with their own descriptions.
    const named = server.config.auth === 'user' ? server.config.tools : undefined;
    server.tools = named ? tools.filter((listed) => named.includes(listed.name)) : tools;
  }

  /** Marks the server down (once per outage) and schedules the next connection attempt. */
  #down(server: ServerState, client: Client, reason: string): void {
    if (this.#closed || (server.client !== null && server.client !== client)) return;
    if (!server.reported)
      this.#options.logger.warn({ server: server.config.name, reason }, 'tool server unavailable; retrying');
    server.reported = true;
    server.up = false;
    server.client = null;
    if (server.timer) return;
    server.timer = setTimeout(() => {
      server.timer = null;
      void this.#connect(server);
    }, server.delayMs);
    server.timer.unref();
    server.delayMs = Math.min(server.delayMs * 2, MAX_RECONNECT_DELAY_MS);
  }
}

/** `<server>__<tool>`, within Converse's `[a-zA-Z0-9_-]{1,64}`. */
function modelName(server: string, tool: string): string {
  return `${server}${SEPARATOR}${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

/** Before a personal server's tools are listed: any object (the server checks the input itself). */
const ANY_INPUT: Record<string, unknown> = { type: 'object' };

function namedTool(name: string): ListedTool {
  return {
    name,
    description: `${humanize(name)} (acts with the asker's own account)`,
    inputSchema: ANY_INPUT,
  };
}

function humanize(name: string): string {
  const words = name.replace(/[_-]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
