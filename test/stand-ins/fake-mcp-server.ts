/**
 * An MCP server for tests, the benchmark and the playground: the official SDK's own server
 * (`McpServer`) over Streamable HTTP on 127.0.0.1, with a few demo tools, a record of every call
 * (arguments, start, end, whether the caller aborted it), and switches to take it down, bring it
 * back on the same port, and change its tool list (clients are told: `notifications/tools/list_changed`).
 *
 * @example
 * const mcp = await FakeMcpServer.start();
 * // MCP_CONFIG servers: [{ name: 'shop', url: mcp.url }]
 * mcp.calls; // [{ tool: 'order_status', arguments: { order_id: '1234' }, outcome: 'completed', ... }]
 * await mcp.stop(); await mcp.restart();
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export interface RecordedToolCall {
  tool: string;
  arguments: Record<string, unknown>;
  startedAtMs: number;
  endedAtMs?: number;
  outcome?: 'completed' | 'aborted' | 'failed';
}

export interface FakeMcpServerOptions {
  port?: number;
  /** How long `order_status` takes (to see parallel calls overlap). */
  lookupDelayMs?: number;
}

interface DemoTool {
  description: string;
  input: Record<string, z.ZodType>;
  run: (args: Record<string, unknown>, signal: AbortSignal) => Promise<CallToolResult>;
}

const wait = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    });
  });

export class FakeMcpServer {
  readonly calls: RecordedToolCall[] = [];
  url = '';
  readonly #tools = new Map<string, DemoTool>();
  readonly #sessions = new Map<string, { transport: StreamableHTTPServerTransport; server: McpServer }>();
  #http: Server | null = null;
  #port = 0;

  private constructor(options: FakeMcpServerOptions) {
    const delay = () => options.lookupDelayMs ?? 50;
    this.#tools.set('order_status', {
      description: 'Looks up the status of a shop order by its number. Read-only.',
      input: { order_id: z.string().describe('The order number, e.g. 1234') },
      run: async (args, signal) => {
        await wait(delay(), signal);
        const id = String(args.order_id);
        return {
          content: [
            { type: 'text', text: `Order ${id}: shipped on 2026-11-28 by ParcelCo, arriving on 2026-12-02.` },
            { type: 'resource_link', uri: `https://shop.example/orders/${id}`, name: `Order ${id}` },
          ],
        };
      },
    });
    this.#tools.set('customer_of_order', {
      description: 'Finds the customer of a shop order. Read-only.',
      input: { order_id: z.string() },
      run: async (args, signal) => {
        await wait(delay(), signal);
        return {
          content: [{ type: 'text', text: `Order ${String(args.order_id)} belongs to Dana Example.` }],
        };
      },
    });
    this.#tools.set('open_ticket', {
      description: 'Opens a support ticket about an order. Has side effects.',
      input: { order_id: z.string(), summary: z.string() },
      run: async (args) => ({
        content: [
          {
            type: 'text',
            text: `Ticket T-${100 + this.calls.length} opened for order ${String(args.order_id)}.`,
          },
        ],
      }),
    });
    this.#tools.set('slow_report', {
      description: 'Builds a report; takes a long time.',
      input: { topic: z.string() },
      run: async (_args, signal) => {
        await wait(60_000, signal);
        return { content: [{ type: 'text', text: 'report' }] };
      },
    });
  }

  static async start(options: FakeMcpServerOptions = {}): Promise<FakeMcpServer> {
    const fake = new FakeMcpServer(options);
    await fake.#listen(options.port ?? 0);
    return fake;
  }

  /** Connected client sessions. */
  get sessionCount(): number {
    return this.#sessions.size;
  }

  get toolNames(): string[] {
    return [...this.#tools.keys()];
  }

  /** Takes the server down: open sessions end and new connections are refused. */
  async stop(): Promise<void> {
    for (const { transport } of this.#sessions.values()) await transport.close().catch(() => undefined);
    this.#sessions.clear();
    const http = this.#http;
    this.#http = null;
    if (!http) return;
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  }

  /** Brings it back on the same port (and URL). */
  async restart(): Promise<void> {
    if (this.#http) return;
    await this.#listen(this.#port);
  }

  /**
   * Adds a tool that answers `text` (or these content blocks: links, resources) and tells every
   * connected client that the list changed.
   */
  addTool(name: string, description: string, text: string | CallToolResult['content']): void {
    const content: CallToolResult['content'] = typeof text === 'string' ? [{ type: 'text', text }] : text;
    const tool: DemoTool = {
      description,
      input: {},
      run: async () => ({ content }),
    };
    this.#tools.set(name, tool);
    // Registering on a connected server sends `notifications/tools/list_changed` (the SDK does).
    for (const { server } of this.#sessions.values()) this.#register(server, name, tool);
  }

  async #listen(port: number): Promise<void> {
    const http = createServer((request, response) => {
      this.#handle(request, response).catch(() => {
        if (!response.headersSent) response.writeHead(500).end();
      });
    });
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, '127.0.0.1', () => resolve());
    });
    this.#http = http;
    this.#port = (http.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.#port}/mcp`;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (new URL(request.url ?? '/', 'http://127.0.0.1').pathname !== '/mcp') {
      response.writeHead(404).end();
      return;
    }
    const sessionId = request.headers['mcp-session-id'];
    const existing = typeof sessionId === 'string' ? this.#sessions.get(sessionId) : undefined;
    if (existing) return existing.transport.handleRequest(request, response);
    // A new session: its own server, with the tools as they are now.
    const server = this.#newServer();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        this.#sessions.set(id, { transport, server });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.#sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(request, response);
  }

  #newServer(): McpServer {
    const server = new McpServer(
      { name: 'fake-shop', version: '1.0.0' },
      { capabilities: { tools: { listChanged: true } } },
    );
    for (const [name, tool] of this.#tools) this.#register(server, name, tool);
    return server;
  }

  #register(server: McpServer, name: string, tool: DemoTool): void {
    server.registerTool(
      name,
      { description: tool.description, inputSchema: tool.input },
      async (args, extra) => {
        const call: RecordedToolCall = {
          tool: name,
          arguments: (args ?? {}) as Record<string, unknown>,
          startedAtMs: Date.now(),
        };
        this.calls.push(call);
        try {
          const result = await tool.run(call.arguments, extra.signal);
          call.outcome = 'completed';
          return result;
        } catch (error) {
          call.outcome = extra.signal.aborted ? 'aborted' : 'failed';
          throw error;
        } finally {
          call.endedAtMs = Date.now();
        }
      },
    );
  }
}
